"""load(): local folders, Matryoshka cutting through encode, refusals with reasons."""

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


def test_load_refuses_pickle_weights(tiny_model_dir, tmp_path):
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(ModelFolderError, match="pickle"):
        load(folder)


def test_a_path_that_is_neither_folder_nor_hub_id_is_explained(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="neither an existing folder nor a Hub id"):
        load(tmp_path / "missing" / "model" / "here")


def test_offline_and_not_cached_says_which_repo_and_revision(monkeypatch):
    with pytest.raises(ModelNotAvailableError, match=r"org/never-pushed at revision v1.*not in the local .*cache"):
        load("org/never-pushed", revision="v1", offline=True)
