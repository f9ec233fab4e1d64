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


def test_the_report_has_all_15_metrics_for_the_model_bm25_and_hybrid(tiny_model):
    report = evaluate(tiny_model, TASK)
    assert list(report.metrics) == list(MATRYOSHKA_DIMS) == list(report.hybrid)
    for values in [*report.metrics.values(), *report.hybrid.values(), report.baseline]:
        assert list(values) == list(CARD_METRICS)
        assert all(0.0 <= value <= 1.0 for value in values.values())
    lines = report.table().splitlines()
    labels = [line.rsplit(None, 5)[0].strip() for line in lines[2:-1]]
    assert labels == [f"model dim_{d}" for d in MATRYOSHKA_DIMS] + ["BM25 (Catalan)"] + [
        f"hybrid dim_{d}" for d in MATRYOSHKA_DIMS
    ]
    assert max(map(len, lines)) <= 100
    assert report.results()["dim_64_cosine_ndcg@10"] == report.metrics[64]["cosine_ndcg@10"]


def test_the_models_metrics_are_sentence_transformers_own(tiny_model):
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    report = evaluate(tiny_model, TASK, baseline=False)
    for dim in MATRYOSHKA_DIMS:
        theirs = InformationRetrievalEvaluator(
            TASK.queries, TASK.corpus, TASK.relevant_docs, truncate_dim=dim, write_csv=False
        )(tiny_model)
        assert report.metrics[dim] == pytest.approx(theirs)


def test_json_has_the_three_systems_side_by_side(tiny_model):
    as_json = evaluate(tiny_model, TASK, dims=(384, 64)).to_dict()
    assert set(as_json["dense"]) == set(as_json["hybrid"]) == {"384", "64"}
    assert as_json["dense"]["64"]["ndcg@10"] == evaluate(tiny_model, TASK, dims=(64,)).metrics[64]["cosine_ndcg@10"]
    assert "ndcg@10" in as_json["bm25"] and "ndcg@10" in as_json["hybrid"]["384"]


def test_hybrid_finds_what_either_side_alone_finds_on_this_task(tiny_model):
    """The toy questions share their words with their document, so BM25 is perfect and the random tiny model
    is not; with the keyword side fully weighted the hybrid ranks as BM25, with none as the model."""
    keyword_only = evaluate(tiny_model, TASK, dims=(384,), bm25_weight=1.0)
    dense_only = evaluate(tiny_model, TASK, dims=(384,), bm25_weight=0.0)
    assert keyword_only.hybrid[384]["cosine_ndcg@10"] == pytest.approx(keyword_only.baseline["cosine_ndcg@10"])
    assert dense_only.hybrid[384]["cosine_accuracy@1"] == pytest.approx(dense_only.metrics[384]["cosine_accuracy@1"])


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
