"""load(): local folders, Matryoshka cutting through encode, refusals with reasons."""

import json
import shutil

import numpy as np
import pytest

from sitges_retriever import load, truncate
from sitges_retriever.architecture import describe
from sitges_retriever.errors import DimensionError, ModelFolderError, ModelNotAvailableError


def test_load_from_a_folder_gives_the_architecture(tiny_model_dir):
    model = load(tiny_model_dir, device="cpu")
    assert describe(model)["transformer"] == "BertModel"
    assert describe(model)["pooling"] == "mean"
    assert describe(model)["max_seq_length"] == 512


@pytest.mark.parametrize("dim", [256, 64])
def test_load_with_dim_returns_cut_unit_vectors_equal_to_truncate(tiny_model_dir, sentences, dim):
    full = load(tiny_model_dir).encode(sentences)
    cut = load(tiny_model_dir, dim=dim)
    embeddings = cut.encode(sentences)
    assert embeddings.shape == (len(sentences), dim)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(embeddings, truncate(full, dim), atol=1e-5)
    query = cut.encode_query(sentences[:2]) if hasattr(cut, "encode_query") else cut.encode(sentences[:2])
    np.testing.assert_allclose(np.linalg.norm(query, axis=1), 1.0, rtol=1e-5)


def test_load_refuses_an_untrained_dim_before_loading(tiny_model_dir):
    with pytest.raises(DimensionError, match="larger than"):
        load(tiny_model_dir, dim=768)


def test_an_explicit_normalize_false_gets_the_plain_cut_prefix(tiny_model_dir, sentences):
    full = load(tiny_model_dir).encode(sentences, normalize_embeddings=False)
    cut = load(tiny_model_dir, dim=64).encode(sentences, normalize_embeddings=False)
    np.testing.assert_allclose(cut, truncate(full, 64, normalize=False), atol=1e-5)
    assert not np.allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-3)
    if hasattr(full_model := load(tiny_model_dir), "encode_query"):
        query = load(tiny_model_dir, dim=64).encode_query(sentences, normalize_embeddings=False)
        full_query = full_model.encode_query(sentences, normalize_embeddings=False)
        np.testing.assert_allclose(query, truncate(full_query, 64, normalize=False), atol=1e-5)


def test_a_revision_for_a_local_folder_is_refused_with_the_fix(tiny_model_dir):
    with pytest.raises(ModelFolderError, match="applies to Hub ids.*drop the revision"):
        load(tiny_model_dir, revision="v1")


def test_a_path_that_is_neither_folder_nor_hub_id_is_explained(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="neither an existing folder nor a Hub id"):
        load(tmp_path / "missing" / "model" / "here")


def test_offline_and_not_cached_says_which_repo_and_revision(monkeypatch):
    with pytest.raises(ModelNotAvailableError, match=r"org/never-pushed at revision v1.*not in the local .*cache"):
        load("org/never-pushed", revision="v1", offline=True)


# --------------------------------------------------------------------------- broken folders: one line each


def _broken_copy(tiny_model_dir, tmp_path, relative, content):
    folder = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, folder)
    path = folder / relative
    path.write_bytes(content(path.read_bytes()) if callable(content) else content)
    return folder


@pytest.mark.parametrize(
    ("relative", "content", "expected"),
    [
        ("model.safetensors", lambda data: data[: len(data) // 2], r"model.safetensors is not a complete safetensors"),
        ("model.safetensors", b"", r"model.safetensors is not a complete safetensors"),
        ("model.safetensors", b"garbage" * 100, r"model.safetensors is not a complete safetensors"),
        ("modules.json", b"[{", r"modules.json cannot be read as JSON"),
        ("modules.json", b'{"a": 1}', r"modules.json is not a list of modules"),
        ("config.json", b"\xff\xfe", r"config.json cannot be read as JSON"),
        ("sentence_bert_config.json", b"", r"sentence_bert_config.json cannot be read as JSON"),
        ("1_Pooling/config.json", b"null", r"not a JSON object"),
    ],
    ids=["truncated", "empty", "garbage", "modules-json", "modules-shape", "config-bytes", "st-config", "pooling"],
)
def test_a_broken_folder_is_one_line_saying_which_file(tiny_model_dir, tmp_path, relative, content, expected):
    folder = _broken_copy(tiny_model_dir, tmp_path, relative, content)
    with pytest.raises(ModelFolderError, match=expected) as caught:
        load(folder)
    assert "\n" not in str(caught.value)


def test_a_pooling_size_other_than_the_hidden_size_is_refused(tiny_model_dir, tmp_path):
    def pool_256(data):
        return json.dumps({**json.loads(data), "word_embedding_dimension": 256}).encode()

    folder = _broken_copy(tiny_model_dir, tmp_path, "1_Pooling/config.json", pool_256)
    with pytest.raises(ModelFolderError, match="pools 256-d vectors but the transformer is 384-d"):
        load(folder)


def test_a_max_seq_length_above_the_position_embeddings_is_refused(tiny_model_dir, tmp_path):
    def too_long(data):
        return json.dumps({**json.loads(data), "max_seq_length": 4096}).encode()

    folder = _broken_copy(tiny_model_dir, tmp_path, "sentence_bert_config.json", too_long)
    with pytest.raises(ModelFolderError, match="max_seq_length 4096, above the model's 512 positions"):
        load(folder)


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_path_does_not_load_the_current_directory(tiny_model_dir, monkeypatch, empty):
    monkeypatch.chdir(tiny_model_dir)
    with pytest.raises(ModelNotAvailableError, match="path is empty"):
        load(empty)
