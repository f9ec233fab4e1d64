"""The CLI's conventions: --version, --json, -q, --device/--revision/--offline, exit codes 0 / 1 / 2, quiet pipes."""

import io
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from sitges_retriever.cli import main
from sitges_retriever.console import configure_output, output_restored
from sitges_retriever.corpus import load_procedures

SRC = Path(__file__).resolve().parents[1] / "src"


def test_version_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"sitges-retriever {version('sitges-retriever')}"


def test_push_without_a_repo_id_asks_for_one_as_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["push", str(tmp_path)])
    assert caught.value.code == 2
    assert "REPO_ID" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["search", "{model}", "   "], "The question is empty"),
        (["search", "{model}", "Com m'empadrono?", "--top-k", "0"], "top_k must be a positive whole number"),
        (["search", "{model}", "Què?", "--revision", "v1"], "revision='v1' applies to Hub ids"),
        (["search", "org/never-pushed", "Què?", "--offline"], "not in the local Hugging Face cache"),
        (["train", "--base", "{model}", "--revision", "v1", "--output", "{tmp}/m"], "revision='v1' applies to Hub ids"),
        (["train", "--base", "org/never-pushed", "--revision", "v1", "--output", "{tmp}/m"], "at revision v1"),
        (["train", "--base", "{model}", "--device", "cuda:1", "--output", "{tmp}/m"], "CUDA_VISIBLE_DEVICES"),
        (["search", "{model}", "Què?", "--corpus", "{tmp}"], "is a folder"),
        (["evaluate", "{model}", "--data", "{tmp}/missing.jsonl"], "no such file"),
        (
            ["evaluate", "{model}", "--data", "{pairs}", "--results", "{pairs}/r.json"],
            "no such folder to write the results in",
        ),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_code_1(tiny_model_dir, demo_slice, tmp_path, capsys, argv, expected):
    argv = [a.format(model=tiny_model_dir, tmp=tmp_path, pairs=demo_slice) for a in argv]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert expected in captured.err and "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.out == ""


def test_search_json_is_the_hits_and_nothing_else(tiny_model_dir, capsys):
    assert main(["-q", "search", str(tiny_model_dir), "Com m'empadrono?", "--top-k", "3", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    ids = {p.id for p in load_procedures()}
    assert [hit["rank"] for hit in hits] == [1, 2, 3] and all(hit["id"] in ids for hit in hits)
    assert [hit["score"] for hit in hits] == sorted((hit["score"] for hit in hits), reverse=True)


def test_evaluate_json_is_dense_bm25_and_hybrid_and_nothing_else(tiny_model_dir, demo_slice, tmp_path, capsys):
    results = tmp_path / "results.json"
    argv = ["evaluate", str(tiny_model_dir), "--data", str(demo_slice), "--dims", "384", "64", "--json"]
    assert main([*argv, "--device", "cpu", "--results", str(results)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["dense"]) == set(printed["hybrid"]) == {"384", "64"}
    assert {"ndcg@10", "mrr@10", "recall@10"} <= set(printed["bm25"]) & set(printed["hybrid"]["64"])
    written = json.loads(results.read_text())  # the evaluator-style results `card update` reads: the model's
    assert written["dim_64_cosine_ndcg@10"] == printed["dense"]["64"]["ndcg@10"]


def test_without_a_terminal_or_with_quiet_the_progress_bars_are_off(monkeypatch):
    import huggingface_hub.utils
    from tqdm import tqdm

    for name in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS"):
        monkeypatch.setenv(name, "")  # so that monkeypatch puts each back as it was
        monkeypatch.delenv(name)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    with output_restored():
        assert configure_output(quiet=False, stream=Terminal()) is True
        assert configure_output(quiet=False, stream=io.StringIO()) is False
        assert huggingface_hub.utils.are_progress_bars_disabled()
        assert tqdm(range(3), file=io.StringIO()).disable  # a bar of a library imported before: off too
        assert configure_output(quiet=True, stream=Terminal()) is False
    assert not tqdm(range(3), file=io.StringIO()).disable  # and back on afterwards


def run_piped(*argv: str) -> subprocess.CompletedProcess[str]:
    """The command line with stdout and stderr piped; its output as written (text mode would turn \r into \n)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    for name in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "sitges_retriever.cli", *argv], env=env, capture_output=True)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def test_piped_output_has_no_cursor_codes(tiny_model_dir):
    done = run_piped("search", str(tiny_model_dir), "Com m'empadrono?")
    assert done.returncode == 0 and len(done.stdout.strip().splitlines()) == 5
    assert "\r" not in done.stderr and "\x1b[" not in done.stderr


def test_piped_training_shows_its_stages_as_lines_and_no_bar(tiny_base, demo_slice, tmp_path):
    argv = ["--data", str(demo_slice), "--base", str(tiny_base), "--output", str(tmp_path / "m"), "--max-steps", "2"]
    argv += ["--device", "cpu"]
    done = run_piped("train", *argv)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    for stage in ("Base:", "Training:", "Evaluating on held-out", "Writing the model folder"):
        assert any(line.startswith(stage) for line in lines), stage
    assert any(line.startswith("epoch ") and "validation nDCG@10" in line for line in lines)  # the trainer's log
    assert "\r" not in done.stderr and "\x1b[" not in done.stderr


def test_train_refuses_an_output_folder_of_the_users_own_files_before_training(tiny_base, demo_slice, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"mine": true}')
    (mine / "weights.safetensors").write_bytes(b"my weights")
    argv = ["train", "--data", str(demo_slice), "--base", str(tiny_base), "--output", str(mine), "--max-steps", "1"]
    assert main(argv) == 1
    assert "not part of a model folder save_model wrote" in capsys.readouterr().err
    assert (mine / "config.json").read_text() == '{"mine": true}'
    assert (mine / "weights.safetensors").read_bytes() == b"my weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
