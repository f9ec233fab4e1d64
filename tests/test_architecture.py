"""The architecture spec, the checked-in layout files and build_model agree."""

import json
from pathlib import Path

import pytest

from sitges_retriever import build_model
from sitges_retriever.architecture import ARCHITECTURE, describe
from sitges_retriever.errors import BaseModelError

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("relative", sorted(ARCHITECTURE.layout_files()))
def test_checked_in_layout_files_match_the_spec(relative):
    checked_in = json.loads((REPO_ROOT / relative).read_text(encoding="utf-8"))
    assert checked_in == ARCHITECTURE.layout_files()[relative], (
        f"{relative} drifted from sitges_retriever.architecture; regenerate it with "
        "`python -c \"from sitges_retriever.architecture import ARCHITECTURE; ARCHITECTURE.write_layout('.')\"`"
    )


def test_layout_is_the_classic_format_every_release_reads():
    modules = json.loads((REPO_ROOT / "modules.json").read_text())
    assert [m["type"] for m in modules] == [
        "sentence_transformers.models.Transformer",
        "sentence_transformers.models.Pooling",
        "sentence_transformers.models.Normalize",
    ]
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Normalize"]


def test_build_model_is_bert_with_mean_pooling(tiny_model):
    assert describe(tiny_model) == {
        "transformer": "BertModel",
        "pooling": "mean",
        "max_seq_length": 512,
        "embedding_dim": 384,
        "similarity_fn_name": "cosine",
    }


def test_build_model_refuses_a_base_of_another_width(tmp_path):
    from conftest import build_tiny_base

    base = build_tiny_base(tmp_path / "wide", hidden_size=96)
    with pytest.raises(BaseModelError, match="hidden size 96.*384"):
        build_model(base)


def test_training_on_a_base_of_another_width_is_one_line_without_traceback(tmp_path, demo_slice, capsys):
    from conftest import build_tiny_base
    from sitges_retriever.cli import main

    base = build_tiny_base(tmp_path / "wide", hidden_size=96)
    capsys.readouterr()
    code = main(["train", "--data", str(demo_slice), "--base", str(base), "--output", str(tmp_path / "m"),
                 "--max-steps", "1"])  # fmt: skip
    err = capsys.readouterr().err
    messages = [line for line in err.split("\n") if line.strip() and "\r" not in line]  # not progress bars
    assert code != 0
    assert len(messages) == 1 and "hidden size 96" in messages[0]
    assert "Traceback" not in err
    assert not (tmp_path / "m").exists()
