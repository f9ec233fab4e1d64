"""The Qdrant index: build, rebuild following the corpus, model records, each search mode (hybrid equal to the
package's hybrid evaluation), reliability (damaged, interrupted, concurrent) and the `index` commands."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sitges_retriever.cli import main
from sitges_retriever.corpus import load_procedures
from sitges_retriever.errors import SearchIndexError
from sitges_retriever.index import Index
from sitges_retriever.matryoshka import truncate
from sitges_retriever.retrieval import BM25, hybrid_scores

QUESTIONS = [
    "Com em dono d'alta al padró municipal de Sitges?",
    "Quins documents cal presentar per a una llicència d'obres a l'Ajuntament?",
    "Puc demanar el certificat per la seu electrònica?",
]


@pytest.fixture(scope="module")
def procedures():
    return load_procedures()[:24]


@pytest.fixture(scope="module")
def corpus_file(procedures, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "procedures.jsonl"
    rows = [{"id": p.id, "title": p.title, "text": p.text, **p.extra} for p in procedures]
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    from sitges_retriever.hub import load

    return load(tiny_model_dir)


@pytest.fixture(scope="module")
def built(tiny_model_dir, corpus_file, tmp_path_factory) -> Path:
    """A local index of the corpus with every Matryoshka cut, closed after the build."""
    folder = tmp_path_factory.mktemp("index") / "idx"
    with Index(folder) as index:
        index.build(tiny_model_dir, corpus_file, dims=(64, 128, 256, 384))
    return folder


def reference_scores(model, procedures, dim):
    """The dense (cosine at `dim`) and BM25 score arrays the package's evaluation computes."""
    prompts = model.prompts or {}
    queries = model.encode(QUESTIONS, prompt_name="query" if prompts.get("query") else None)
    documents = model.encode(
        [p.document for p in procedures], prompt_name="document" if prompts.get("document") else None
    )
    dense = truncate(queries, dim) @ truncate(documents, dim).T
    return dense, BM25([p.document for p in procedures]).scores(QUESTIONS)


def ranking(hits):
    return [hit.id for hit in hits], np.array([hit.score for hit in hits])


@pytest.mark.parametrize("dim", [64, 128, 384])
@pytest.mark.parametrize(("depth", "prefetch"), [(4, 200), (4, 0), (100, 200)])
def test_hybrid_equals_the_packages_hybrid_ranking_and_scores(built, model, procedures, dim, depth, prefetch):
    dense, keyword = reference_scores(model, procedures, dim)
    assert ((keyword > 0).sum(axis=1) >= depth).all() or depth >= len(procedures)  # candidates are well defined
    expected = hybrid_scores(dense, keyword, depth=depth)
    with Index(built) as index:
        results = index.search_many(QUESTIONS, dim=dim, depth=depth, prefetch=prefetch, top_k=len(procedures))
    for row, hits in zip(expected, results, strict=True):
        ids, scores = ranking(hits)
        candidates = np.flatnonzero(np.isfinite(row))
        expected_by_id = {procedures[i].id: float(row[i]) for i in candidates}
        assert sorted(ids) == sorted(expected_by_id)  # the same candidates
        # each document gets the package's score, and the hits come best first: the same ranking, up to the
        # order of scores tied within float32 noise (Qdrant stores float32 vectors)
        np.testing.assert_allclose(scores, [expected_by_id[i] for i in ids], atol=1e-4)
        assert all(a >= b - 1e-6 for a, b in zip(scores, scores[1:], strict=False))


def test_hybrid_skips_no_candidate_when_the_keyword_side_returns_fewer_than_depth(built, model, procedures):
    questions = ["llicència", "Com em dono d'alta al padró?"]
    prompts = model.prompts or {}
    queries = model.encode(questions, prompt_name="query" if prompts.get("query") else None)
    documents = model.encode(
        [p.document for p in procedures], prompt_name="document" if prompts.get("document") else None
    )
    keyword = BM25([p.document for p in procedures]).scores(questions)
    depth = 12  # the model's side returns 12 of 24; the keyword side all it matches, fewer than 12 for one
    assert (keyword > 0).sum(axis=1).min() < depth < len(procedures)
    expected = hybrid_scores(queries @ documents.T, keyword, depth=depth)
    with Index(built) as index:
        results = index.search_many(questions, dim=384, depth=depth, prefetch=0, top_k=len(procedures))
    for row, hits in zip(expected, results, strict=True):
        ids, scores = ranking(hits)
        expected_by_id = {procedures[i].id: float(row[i]) for i in np.flatnonzero(np.isfinite(row))}
        assert sorted(ids) == sorted(expected_by_id)
        np.testing.assert_allclose(scores, [expected_by_id[i] for i in ids], atol=1e-4)


def test_bm25_mode_scores_as_bm25s(built, procedures):
    keyword = BM25([p.document for p in procedures]).scores(QUESTIONS)
    with Index(built) as index:
        results = index.search_many(QUESTIONS, mode="bm25", top_k=len(procedures))
    for row, hits in zip(keyword, results, strict=True):
        ids, scores = ranking(hits)
        assert set(ids) == {procedures[i].id for i in np.flatnonzero(row > 0)}
        np.testing.assert_allclose(scores, [row[[p.id for p in procedures].index(i)] for i in ids], atol=1e-4)
        assert list(scores) == sorted(scores, reverse=True)


@pytest.mark.parametrize("dim", [64, 256, 384])
def test_dense_mode_is_cosine_at_the_chosen_size(built, model, procedures, dim):
    dense, _ = reference_scores(model, procedures, dim)
    with Index(built) as index:
        results = index.search_many(QUESTIONS, mode="dense", dim=dim, top_k=5)
    for row, hits in zip(dense, results, strict=True):
        ids, scores = ranking(hits)
        order = np.argsort(-row)[:5]
        assert ids == [procedures[i].id for i in order]
        np.testing.assert_allclose(scores, row[order], atol=1e-4)


def test_hits_carry_the_rows_fields_and_info_describes_the_index(built, tiny_model_dir, procedures):
    with Index(built) as index:
        hit = index.search(QUESTIONS[0], top_k=1)[0]
        info = index.info()
    source = next(p for p in procedures if p.id == hit.id)
    assert hit.to_dict()["title"] == source.title and hit.payload["text"] == source.text
    assert hit.payload["category"] == source.extra["category"]
    assert info["documents"] == len(procedures)
    assert info["model"] == str(Path(tiny_model_dir).resolve())
    assert info["dims"] == [64, 128, 256, 384]
    assert info["prompts"] == {"query": "query: ", "document": "passage: "}
    assert info["size_on_disk"] > 0


def test_a_size_that_was_not_stored_is_refused(tiny_model_dir, procedures):
    with Index(":memory:") as index:
        index.build(tiny_model_dir, procedures[:5])
        with pytest.raises(SearchIndexError, match="--dims 64 128 384"):
            index.search("padró", dim=128)
        assert index.info()["size_on_disk"] is None
        assert len(index.search("padró", dim=64, top_k=3)) == 3


def test_rebuild_embeds_only_new_and_changed_texts(tiny_model_dir, procedures, tmp_path, monkeypatch):
    import sitges_retriever.index_store as store

    embedded: list[str] = []
    original = store.encode
    monkeypatch.setattr(store, "encode", lambda e, texts, b: embedded.extend(texts) or original(e, texts, b))
    first = procedures[:10]
    with Index(tmp_path / "idx") as index:
        report = index.build(tiny_model_dir, first)
        assert (report.new, report.changed, report.unchanged, report.removed) == (10, 0, 0, 0)
        embedded.clear()
        changed = dataclasses.replace(first[1], text=first[1].text + " Cal pagar una taxa.")
        retitled = dataclasses.replace(first[2], title="Un títol nou")  # the title is searched: embedded again
        moved = dataclasses.replace(first[3], extra={"url": "https://www.sitges.cat/nou"})  # payload only
        second = [first[0], changed, retitled, moved, *first[4:9], procedures[12]]  # first[9] out, [12] in
        report = index.build(tiny_model_dir, second)
        assert (report.documents, report.new, report.changed, report.unchanged, report.removed) == (10, 1, 2, 7, 1)
        assert sorted(embedded) == sorted([changed.document, retitled.document, procedures[12].document])
        assert index.info()["documents"] == 10
        everything = index.search("Sitges", mode="bm25", top_k=50) + index.search(changed.text, top_k=50)
        assert first[9].id not in {hit.id for hit in everything}
        assert {hit.id: hit.title for hit in everything}[retitled.id] == "Un títol nou"
        assert {hit.id: hit.payload.get("url") for hit in everything}[moved.id] == "https://www.sitges.cat/nou"
        assert index.search(changed.text, mode="dense", top_k=1)[0].id == changed.id
        embedded.clear()
        report = index.build(tiny_model_dir, second)
        assert (report.new, report.changed, report.unchanged, report.removed, embedded) == (0, 0, 10, 0, [])


def test_an_index_built_with_other_bm25_parameters_takes_the_packages_on_rebuild(
    tiny_model_dir, procedures, tmp_path, monkeypatch
):
    from sitges_retriever.retrieval import BM25_PARAMETERS

    current = dict(BM25_PARAMETERS)
    with Index(tmp_path / "idx") as index:
        with monkeypatch.context() as before:  # an index of the release before, at k1 1.2, b 0.75
            before.setitem(BM25_PARAMETERS, "k1", 1.2)
            before.setitem(BM25_PARAMETERS, "b", 0.75)
            index.build(tiny_model_dir, procedures[:6])
        assert index.info()["bm25"] == {"k1": 1.2, "b": 0.75}
        report = index.build(tiny_model_dir, procedures[:6])  # the same texts: vectors kept, BM25 rewritten
        assert (report.new, report.changed, report.unchanged) == (0, 0, 6)
        assert index.info()["bm25"] == current


def test_another_model_is_refused_unless_recreate(tiny_model_dir, procedures, tmp_path):
    other = shutil.copytree(tiny_model_dir, tmp_path / "other-model")
    with Index(tmp_path / "idx") as index:
        index.build(tiny_model_dir, procedures[:4])
        with pytest.raises(SearchIndexError) as refused:
            index.build(other, procedures[:4])
        assert str(Path(tiny_model_dir).resolve()) in str(refused.value) and str(other) in str(refused.value)
        assert index.info()["model"] == str(Path(tiny_model_dir).resolve())  # untouched
        report = index.build(other, procedures[:4], recreate=True)
        assert report.changed == 4 and index.info()["model"] == str(other)


def test_an_interrupted_build_leaves_the_previous_index(tiny_model_dir, procedures, tmp_path, monkeypatch):
    import sitges_retriever.index_store as store

    folder = tmp_path / "idx"
    with Index(folder) as index:
        index.build(tiny_model_dir, procedures[:5])

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "swap_alias", crash)
    with pytest.raises(KeyboardInterrupt), Index(folder) as index:
        index.build(tiny_model_dir, procedures[5:9])
    monkeypatch.undo()
    with Index(folder) as index:
        assert index.info()["documents"] == 5
        assert {hit.id for hit in index.search("padró", mode="dense", top_k=10)} == {p.id for p in procedures[:5]}
        report = index.build(tiny_model_dir, procedures[5:9])
        assert (report.new, report.removed) == (4, 5)
        assert len(index._open().get_collections().collections) == 1  # the half-written collection is gone


def test_a_damaged_or_missing_index_is_one_clear_error(built, tmp_path):
    with pytest.raises(SearchIndexError, match="does not exist"):
        Index(tmp_path / "nowhere").info()
    damaged = shutil.copytree(built, tmp_path / "damaged")
    (damaged / "meta.json").write_text('{"collections": {"procedures--1": ', encoding="utf-8")
    with pytest.raises(SearchIndexError, match="damaged or half-written"):
        Index(damaged).info()
    damaged = shutil.copytree(built, tmp_path / "damaged-points")
    for storage in damaged.rglob("storage.sqlite"):
        storage.write_bytes(storage.read_bytes()[:1000])
    with pytest.raises(SearchIndexError, match="damaged or half-written"):
        Index(damaged).info()
    assert main(["index", "info", str(damaged)]) == 1


def _hold(code: str, *args: str) -> subprocess.Popen:
    """A child process that takes a lock, says so on stdout, and holds it until killed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], stdout=subprocess.PIPE, env=env)
    assert child.stdout.readline().strip() == b"ready"
    return child


def test_a_second_build_is_refused_while_the_first_runs(built, tiny_model_dir, procedures):
    child = _hold(
        """
        import sys, time
        from sitges_retriever.index_store import build_lock
        with build_lock(sys.argv[1]):
            print("ready", flush=True)
            time.sleep(60)
        """,
        str(built),
    )
    try:
        with pytest.raises(SearchIndexError, match=f"Another build of .* is running \\(pid {child.pid}\\)"):
            Index(built).build(tiny_model_dir, procedures)
    finally:
        child.kill()
        child.wait()


def test_an_index_open_elsewhere_is_a_clear_error(built):
    child = _hold(
        """
        import sys, time
        from sitges_retriever.index import Index
        index = Index(sys.argv[1]); index.info()
        print("ready", flush=True)
        time.sleep(60)
        """,
        str(built),
    )
    try:
        with pytest.raises(SearchIndexError, match="in use by another process"):
            Index(built).info()
    finally:
        child.kill()
        child.wait()


def test_index_commands(tiny_model_dir, corpus_file, procedures, tmp_path, capsys, monkeypatch):
    folder = str(tmp_path / "idx")
    assert main(["index", "build", "--model", str(tiny_model_dir), "--corpus", str(corpus_file), "--path", folder]) == 0
    assert f"{len(procedures)} new" in capsys.readouterr().out
    assert main(["index", "search", folder, QUESTIONS[0], "--json", "--top-k", "3"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3 and all({"id", "score", "title", "text"} <= hit.keys() for hit in hits)
    questions = tmp_path / "questions.txt"
    questions.write_text("\n".join(QUESTIONS) + "\n\n", encoding="utf-8")
    assert main(["index", "search", folder, "--questions", str(questions), "--json", "--mode", "bm25"]) == 0
    many = json.loads(capsys.readouterr().out)
    assert len(many) == len(QUESTIONS) and all(len(hits) == 5 for hits in many)
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO(QUESTIONS[1] + "\n"))
    assert main(["index", "search", folder, "--mode", "dense", "--dim", "64"]) == 0
    assert capsys.readouterr().out.startswith("1. ")
    assert main(["index", "info", folder]) == 0
    assert f"documents: {len(procedures)}" in capsys.readouterr().out
    assert main(["index", "search", folder, "padró", "--dim", "128"]) == 1
    assert "--dims 64 128 384" in capsys.readouterr().err


def test_index_commands_take_the_model_options_and_quiet_after_the_subcommand(
    tiny_model_dir, corpus_file, tmp_path, capsys, monkeypatch
):
    import huggingface_hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # --offline sets both; monkeypatch puts them back
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    folder = str(tmp_path / "idx")
    build = ["index", "build", "--model", str(tiny_model_dir), "--corpus", str(corpus_file), "--path", folder]
    assert main([*build, "--device", "cpu", "--offline", "-q"]) == 0
    assert "new" in capsys.readouterr().out  # the build's report is its result, -q or not
    assert main(["index", "search", folder, "padró", "--device", "cpu", "--offline", "--json", "-q"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 5
    assert huggingface_hub.constants.HF_HUB_OFFLINE is True
    assert main(["index", "info", folder, "-q"]) == 0


@pytest.mark.skipif(not os.environ.get("QDRANT_URL"), reason="needs a Qdrant server: set QDRANT_URL")
def test_a_qdrant_server(tiny_model_dir, model, procedures):
    collection = f"sitges-test-{os.getpid()}"
    with Index(url=os.environ["QDRANT_URL"], collection=collection) as index:
        try:
            index.build(tiny_model_dir, procedures)
            dense, keyword = reference_scores(model, procedures, 384)
            expected = hybrid_scores(dense, keyword, depth=4)
            ids, _ = ranking(index.search_many(QUESTIONS, depth=4, top_k=3)[0])
            assert ids == [procedures[i].id for i in np.argsort(-expected[0], kind="stable")[:3]]
            assert index.build(tiny_model_dir, procedures).unchanged == len(procedures)
        finally:
            client = index._open()
            for name in [c.name for c in client.get_collections().collections if c.name.startswith(collection)]:
                client.delete_collection(name)
