"""`sitges-retriever train`, `evaluate` and `search`: what a user types and reads."""

import contextlib
import io
import json

import pytest

from sitges_retriever import MATRYOSHKA_DIMS
from sitges_retriever.cli import main
from sitges_retriever.corpus import load_procedures


@pytest.fixture(scope="module")
def trained(tiny_base, demo_slice, tmp_path_factory):
    """`sitges-retriever train` on a demo slice: (exit code, what it printed, the output folder)."""
    output = tmp_path_factory.mktemp("cli") / "model"
    argv = ["train", "--data", str(demo_slice), "--base", str(tiny_base), "--output", str(output)]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main([*argv, "--max-steps", "1", "--set", "batch_size=6", "--set", "held_out=0.2"])
    return code, printed.getvalue(), output


def test_train_prints_the_metrics_per_dimension_beside_bm25_and_the_hybrid_and_writes_the_folder(trained):
    code, printed, output = trained
    assert code == 0
    rows = [
        " ".join(line.split()[:2]) for line in printed.splitlines() if line.startswith(("model ", "BM25", "hybrid dim"))
    ]
    dims = [f"dim_{d}" for d in MATRYOSHKA_DIMS]
    assert rows == [f"model {d}" for d in dims] + ["BM25 (Catalan)"] + [f"hybrid {d}" for d in dims]
    table = printed.strip().split("\n\n")[0]
    assert table.startswith("Retrieval on") and max(map(len, table.splitlines())) <= 100
    assert f"written to {output}" in printed
    assert (output / "model.safetensors").is_file() and (output / "README.md").is_file()


def test_search_answers_with_demo_procedure_titles(trained, capsys):
    assert main(["search", str(trained[2]), "Com m'empadrono a Sitges?", "--dim", "128", "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    titles = {p.title for p in load_procedures()}
    assert len(lines) == 3
    for rank, line in enumerate(lines, start=1):
        number, score, title = line.split(maxsplit=2)
        assert number == f"{rank}." and -1.0 <= float(score) <= 1.0 and title in titles
    scores = [float(line.split()[1]) for line in lines]
    assert scores == sorted(scores, reverse=True)


def test_search_takes_another_corpus(trained, tmp_path, capsys):
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps({"a": "Horari de la biblioteca.", "b": "Taxa de residus."}), encoding="utf-8")
    assert main(["search", str(trained[2]), "Quan obre la biblioteca?", "--corpus", str(corpus)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


def test_evaluate_reads_an_evaluation_folder_and_writes_results_the_card_reads(trained, tmp_path, capsys):
    from sitges_retriever.card import read_results

    (tmp_path / "queries.json").write_text(json.dumps({"q1": "Com m'empadrono?"}), encoding="utf-8")
    corpus = {str(i): p.text for i, p in enumerate(load_procedures()[:5])}
    (tmp_path / "corpus.json").write_text(json.dumps(corpus), encoding="utf-8")
    (tmp_path / "relevant_docs.json").write_text(json.dumps({"q1": ["0"]}), encoding="utf-8")
    results = tmp_path / "results.json"
    argv = ["evaluate", str(trained[2]), "--data", str(tmp_path), "--dims", "256", "64", "--results", str(results)]
    assert main(argv) == 0
    assert "BM25" in capsys.readouterr().out
    assert sorted(read_results(results)) == [64, 256]


def test_bad_input_is_one_clear_line_and_exit_code_1(tiny_base, tmp_path, capsys):
    bad = tmp_path / "pairs.jsonl"
    bad.write_text('{"positive": "Text del tràmit.", "question": "Què?"}\n', encoding="utf-8")
    assert main(["train", "--data", str(bad), "--base", str(tiny_base), "--output", str(tmp_path / "m")]) == 1
    assert f"error: {bad}, line 1: missing column 'anchor'" in capsys.readouterr().err
    assert main(["train", "--set", "learning_rat=1e-5", "--output", str(tmp_path / "m")]) == 1
    assert "Unknown setting 'learning_rat'" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
