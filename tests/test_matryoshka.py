"""truncate: prefix kept, unit norm, refused sizes, numpy and torch alike."""

import numpy as np
import pytest
import torch

from sitges_retriever import MATRYOSHKA_DIMS, truncate
from sitges_retriever.errors import DimensionError, SitgesError

rng = np.random.default_rng(0)


@pytest.mark.parametrize("dim", MATRYOSHKA_DIMS)
def test_numpy_batch_is_cut_to_the_prefix_and_unit_length(dim):
    embeddings = rng.normal(size=(5, 384)).astype(np.float32)
    cut = truncate(embeddings, dim)
    assert cut.shape == (5, dim)
    np.testing.assert_allclose(np.linalg.norm(cut, axis=1), 1.0, rtol=1e-5)
    # same direction as the original prefix
    prefix = embeddings[:, :dim]
    np.testing.assert_allclose(cut * np.linalg.norm(prefix, axis=1, keepdims=True), prefix, rtol=1e-4, atol=1e-6)


def test_cosine_and_dot_product_agree_after_cutting():
    embeddings = rng.normal(size=(4, 384)).astype(np.float32)
    cut = truncate(embeddings, 64)
    cosine = (cut @ cut.T) / np.outer(np.linalg.norm(cut, axis=1), np.linalg.norm(cut, axis=1))
    np.testing.assert_allclose(cut @ cut.T, cosine, atol=1e-5)


def test_torch_single_vector_and_input_left_alone():
    vector = torch.randn(384)
    original = vector.clone()
    cut = truncate(vector, 128)
    assert isinstance(cut, torch.Tensor) and cut.shape == (128,)
    assert torch.isclose(cut.norm(), torch.tensor(1.0))
    assert torch.equal(vector, original)
    assert torch.allclose(cut * vector[:128].norm(), vector[:128], atol=1e-6)


def test_without_normalize_the_prefix_is_returned_unchanged():
    embeddings = rng.normal(size=(2, 384))
    np.testing.assert_array_equal(truncate(embeddings, 256, normalize=False), embeddings[:, :256])


@pytest.mark.parametrize("dim", [768, 512])
def test_a_dim_larger_than_the_embedding_is_always_refused(dim):
    with pytest.raises(DimensionError, match="larger than the model's 384-d"):
        truncate(np.ones((2, 384)), dim)


def test_a_dim_the_model_was_not_trained_at_is_refused():
    with pytest.raises(DimensionError, match="not a size the model was trained at.*384, 256, 128, 64"):
        truncate(np.ones((2, 384)), 100)


def test_cutting_an_already_cut_embedding_further_works_but_not_back_up():
    cut = truncate(rng.normal(size=(3, 384)), 128)
    assert truncate(cut, 64).shape == (3, 64)
    with pytest.raises(DimensionError, match="larger than"):
        truncate(cut, 256)


def test_lists_get_a_clear_type_error_of_the_package():
    with pytest.raises(TypeError, match="numpy array or a torch tensor") as raised:
        truncate([[0.1] * 384], 64)
    assert isinstance(raised.value, SitgesError)
