"""The model's own BM25 weight: chosen by training on validation questions, saved in hybrid.json, used by search,
evaluation and the index, kept or dropped with the model, refused by name when damaged."""

import json
import shutil

import numpy as np
import pytest

from sitges_retriever import Index, evaluate, load, save_model, search, train
from sitges_retriever.corpus import load_procedures
from sitges_retriever.data import IRTask, read_pairs
from sitges_retriever.errors import ModelFolderError
from sitges_retriever.evaluation import WEIGHT_GRID, clear_winner, encode, per_query_ndcg
from sitges_retriever.fusion_weights import HYBRID_FILE, bm25_weight_for, bm25_weights_of
from sitges_retriever.retrieval import BM25_WEIGHT
from sitges_retriever.training import get_preset
from sitges_retriever.training.run import _split

PROCEDURES = load_procedures()[:30]
QUESTIONS = [p.questions[0] for p in PROCEDURES[:6]]


def with_weights(tiny_model_dir, tmp_path, weights: dict) -> str:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / HYBRID_FILE).write_text(json.dumps({"bm25_weight": weights}), encoding="utf-8")
    return str(folder)


@pytest.fixture(scope="module")
def trained(tiny_base, demo_slice, tmp_path_factory):
    return train(demo_slice, base=tiny_base, output=tmp_path_factory.mktemp("run") / "m", max_steps=1)


def test_training_chooses_a_weight_per_size_on_questions_it_neither_trains_on_nor_reports(trained, demo_slice):
    stored = json.loads((trained.output / HYBRID_FILE).read_text(encoding="utf-8"))
    assert set(stored["bm25_weight"]) == {"384", "256", "128", "64"}
    assert all(weight in WEIGHT_GRID for weight in stored["bm25_weight"].values())
    assert "validation questions" in stored["chosen_on"]
    train_pairs, validation, reported = _split(read_pairs(demo_slice), None, get_preset("default"))
    assert validation is not None
    trained_on = set(train_pairs.anchor)
    assert not trained_on & set(validation.queries.values())
    assert not trained_on & set(reported.queries.values())
    assert not set(validation.queries.values()) & set(reported.queries.values())
    assert trained.report.fusion.startswith("weighted, BM25 weight")


def test_a_weight_replaces_the_default_only_when_it_wins_clearly():
    rng = np.random.default_rng(0)
    default = rng.uniform(0.4, 0.9, 30)  # nDCG@10 of 30 validation questions at the default weight
    scores = {w: default.copy() for w in WEIGHT_GRID}
    scores[0.8] = default + np.where(np.arange(30) % 2, 0.30, -0.28)  # best mean (+0.01), by luck: half win, half lose
    assert max(scores, key=lambda w: scores[w].mean()) == 0.8
    assert clear_winner(scores) == BM25_WEIGHT
    scores[0.3] = default + 0.02 + rng.uniform(-0.01, 0.01, 30)  # better for every question
    assert clear_winner(scores) == 0.3
    tied = {w: default + (0.05 if w in (0.2, 0.7) else 0.0) for w in WEIGHT_GRID}
    assert clear_winner(tied) == 0.7  # equally good: the one nearer the default


def test_per_question_ndcg_averages_to_the_evaluators(tiny_model):
    task = IRTask(
        queries={f"q{i}": p.questions[0] for i, p in enumerate(PROCEDURES[:8])},
        corpus={p.id: f"{p.title}. {p.text}" for p in PROCEDURES},
        relevant_docs={f"q{i}": {p.id} for i, p in enumerate(PROCEDURES[:8])},
    )
    queries = encode(tiny_model, list(task.queries.values()), "query")
    documents = encode(tiny_model, list(task.corpus.values()), "document")
    per_question = per_query_ndcg(queries @ documents.T, task)
    assert len(per_question) == 8
    assert per_question.mean() == pytest.approx(evaluate(tiny_model, task, dims=[384]).metrics[384]["cosine_ndcg@10"])


def test_without_a_validation_split_no_weight_is_saved(tiny_base, demo_slice, tmp_path):
    result = train(demo_slice, base=tiny_base, output=tmp_path / "m", max_steps=1, overrides={"validation": 0})
    assert not (result.output / HYBRID_FILE).exists()
    assert bm25_weight_for(load(result.output)) == BM25_WEIGHT


def ranking(hits) -> list[tuple[str, float]]:
    return [(getattr(hit, "procedure", hit).id, hit.score) for hit in hits]


def same(answers, others) -> bool:
    """The same procedures with the same scores, up to float noise (Qdrant's local mode may sum in another order,
    so two procedures within that noise may also swap places)."""
    for mine, theirs in zip(answers, others, strict=True):
        mine_scores, their_scores = dict(mine), dict(theirs)
        if mine_scores.keys() != their_scores.keys():
            return False
        if not np.allclose([mine_scores[i] for i in mine_scores], [their_scores[i] for i in mine_scores], atol=1e-5):
            return False
    return True


def test_search_fuses_with_the_models_own_weight_unless_given_one(tiny_model_dir, tmp_path):
    keyword_heavy = load(with_weights(tiny_model_dir, tmp_path, {"384": 0.9, "64": 0.9}))
    options = {"procedures": PROCEDURES, "top_k": 10}
    own = [ranking(hits) for hits in search(keyword_heavy, QUESTIONS, **options)]
    assert same(own, [ranking(hits) for hits in search(keyword_heavy, QUESTIONS, bm25_weight=0.9, **options)])
    default = [ranking(hits) for hits in search(keyword_heavy, QUESTIONS, bm25_weight=BM25_WEIGHT, **options)]
    assert not same(own, default)  # the weight changes the answers, so the two checks above can tell
    assert same(default, [ranking(hits) for hits in search(load(tiny_model_dir), QUESTIONS, **options)])


def test_each_size_takes_its_own_weight_and_evaluate_reports_them(tiny_model_dir, tmp_path):
    model = load(with_weights(tiny_model_dir, tmp_path, {"384": 0.2, "64": 0.9}))
    assert (bm25_weight_for(model), bm25_weight_for(model, 64), bm25_weight_for(model, 128)) == (0.2, 0.9, 0.9)
    assert bm25_weight_for(load(tmp_path / "model", dim=64)) == 0.9
    task = IRTask(
        queries={p.id: p.questions[0] for p in PROCEDURES},
        corpus={p.id: p.text for p in PROCEDURES},
        relevant_docs={p.id: {p.id} for p in PROCEDURES},
    )
    own = evaluate(model, task, dims=[384, 64])
    assert own.fusion == "weighted, BM25 weight 0.2 at 384, 0.9 at 64"
    for dim, weight in ((384, 0.2), (64, 0.9)):
        assert own.hybrid[dim] == evaluate(model, task, dims=[dim], bm25_weight=weight).hybrid[dim]


def test_the_index_fuses_with_the_weight_of_the_model_it_was_built_with(tiny_model_dir, tmp_path):
    folder = with_weights(tiny_model_dir, tmp_path, {"384": 0.9, "64": 0.9})
    with Index(path=tmp_path / "index") as index:
        index.build(folder, PROCEDURES)
        own = [ranking(index.search(question, top_k=10)) for question in QUESTIONS]
        assert same(own, [ranking(index.search(question, top_k=10, weight=0.9)) for question in QUESTIONS])
        assert not same(own, [ranking(index.search(question, top_k=10, weight=BM25_WEIGHT)) for question in QUESTIONS])


def test_save_model_keeps_a_loaded_models_weights_and_drops_a_replaced_models(tiny_model_dir, tiny_model, tmp_path):
    model = load(with_weights(tiny_model_dir, tmp_path, {"384": 0.3}))
    resaved = save_model(model, tmp_path / "resaved")
    assert bm25_weights_of(load(resaved)) == {384: 0.3}
    replaced = save_model(tiny_model, resaved)  # another model without weights over the same folder
    assert not (replaced / HYBRID_FILE).exists()
    assert bm25_weights_of(load(replaced)) is None


@pytest.mark.parametrize(
    "content", ["{not json", json.dumps({"weights": {}}), json.dumps({"bm25_weight": {"384": 1.5}})]
)
def test_a_damaged_hybrid_file_is_refused_by_name(tiny_model_dir, tmp_path, content):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / HYBRID_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(ModelFolderError, match="hybrid.json") as error:
        load(folder)
    assert "\n" not in str(error.value)
    assert (folder / HYBRID_FILE).read_text(encoding="utf-8") == content
