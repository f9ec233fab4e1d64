"""Evaluation: the card's 15 metrics at every trained dimension, and BM25 scored by the same code."""

import pytest

from sitges_retriever import MATRYOSHKA_DIMS
from sitges_retriever.data import IRTask
from sitges_retriever.evaluation import CARD_METRICS, bm25_baseline, build_evaluator, evaluate

TASK = IRTask(
    queries={
        "q1": "Com puc donar-me d'alta al padró municipal?",
        "q2": "Quina llicència d'obres necessito per reformar la cuina?",
        "q3": "Puc fraccionar l'impost sobre béns immobles?",
    },
    corpus={
        "d1": "L'alta al padró municipal d'habitants es demana a l'oficina d'atenció ciutadana.",
        "d2": "Les obres menors, com reformar la cuina, necessiten una comunicació prèvia o llicència d'obres.",
        "d3": "L'impost sobre béns immobles es pot fraccionar en diversos terminis.",
        "d4": "La deixalleria accepta mobles vells i restes de poda.",
    },
    relevant_docs={"q1": {"d1"}, "q2": {"d2"}, "q3": {"d3"}},
    name="toy",
)


def test_one_evaluator_per_trained_dimension_named_like_the_card():
    evaluator = build_evaluator(TASK)
    assert [(e.name, e.truncate_dim) for e in evaluator.evaluators] == [(f"dim_{d}", d) for d in MATRYOSHKA_DIMS]


def test_encoding_once_for_all_dimensions_gives_sentence_transformers_own_results(tiny_model):
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    ours = build_evaluator(TASK)(tiny_model)
    for dim in MATRYOSHKA_DIMS:
        theirs = InformationRetrievalEvaluator(
            TASK.queries, TASK.corpus, TASK.relevant_docs, name=f"dim_{dim}", truncate_dim=dim, write_csv=False
        )(tiny_model)
        assert {key: ours[key] for key in theirs} == pytest.approx(theirs)
    assert ours["sequential_score"] == pytest.approx(
        sum(ours[f"dim_{d}_cosine_ndcg@10"] for d in MATRYOSHKA_DIMS) / len(MATRYOSHKA_DIMS)
    )


def test_a_dimension_the_model_was_not_trained_at_is_refused():
    from sitges_retriever.errors import DimensionError

    with pytest.raises(DimensionError):
        build_evaluator(TASK, dims=(512,))


def test_the_report_has_all_15_metrics_per_dimension_and_the_bm25_line(tiny_model):
    report = evaluate(tiny_model, TASK)
    assert list(report.metrics) == list(MATRYOSHKA_DIMS)
    for values in report.metrics.values():
        assert list(values) == list(CARD_METRICS)
        assert all(0.0 <= value <= 1.0 for value in values.values())
    assert list(report.baseline) == list(CARD_METRICS)
    lines = report.table().splitlines()
    assert [line.split()[0] for line in lines[2:]] == [f"dim_{d}" for d in MATRYOSHKA_DIMS] + ["BM25"]
    assert lines[1].split() == [name.removeprefix("cosine_") for name in CARD_METRICS]
    assert report.results()["dim_64_cosine_ndcg@10"] == report.metrics[64]["cosine_ndcg@10"]


def test_a_model_folder_is_evaluated_like_the_model(tiny_model, tiny_model_dir):
    from_folder = evaluate(tiny_model_dir, TASK, dims=(128,), baseline=False)
    assert from_folder.baseline is None
    assert from_folder.metrics[128] == pytest.approx(evaluate(tiny_model, TASK, dims=(128,)).metrics[128])


def test_bm25_ranks_the_document_sharing_the_question_words_first():
    metrics = bm25_baseline(TASK)
    assert metrics["cosine_accuracy@1"] == 1.0
    assert metrics["cosine_ndcg@10"] == pytest.approx(1.0)
    assert metrics["cosine_precision@3"] == pytest.approx(1 / 3)


def test_bm25_misses_count_against_it():
    swapped = IRTask(TASK.queries, TASK.corpus, {"q1": {"d4"}, "q2": {"d2"}, "q3": {"d3"}}, name="swapped")
    metrics = bm25_baseline(swapped)
    assert metrics["cosine_accuracy@1"] == pytest.approx(2 / 3)
    assert metrics["cosine_mrr@10"] < 1.0
