"""Cutting Matryoshka embeddings to a prefix and re-normalising them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

import numpy as np

from .architecture import EMBEDDING_DIM, MATRYOSHKA_DIMS
from .errors import DimensionError, EmbeddingTypeError

if TYPE_CHECKING:
    import torch


def check_dim(dim: int, *, embedding_dim: int = EMBEDDING_DIM, trained_dims: tuple[int, ...] = MATRYOSHKA_DIMS) -> int:
    """Return `dim` if the model was trained to produce it, else raise a `DimensionError` saying why."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise DimensionError(f"dim must be an integer, one of {list(trained_dims)}; got {dim!r}.")
    dim = int(dim)
    if dim > embedding_dim:
        raise DimensionError(
            f"dim {dim} is larger than the model's {embedding_dim}-d embeddings: cutting to {dim} would change "
            f"nothing and report the {embedding_dim}-d result under a false name. Use one of {list(trained_dims)}."
        )
    if dim not in trained_dims:
        raise DimensionError(
            f"dim {dim} is not a size the model was trained at with MatryoshkaLoss; use one of {list(trained_dims)}."
        )
    return dim


@overload
def truncate(embeddings: np.ndarray, dim: int, *, normalize: bool = True) -> np.ndarray: ...
@overload
def truncate(embeddings: torch.Tensor, dim: int, *, normalize: bool = True) -> torch.Tensor: ...
def truncate(embeddings: Any, dim: int, *, normalize: bool = True) -> Any:
    """Cut embeddings (numpy or torch; one vector or a batch) to their first `dim` values.

    With `normalize` (the default) the cut vectors are L2-normalised again, so cosine similarity and
    dot product agree at every size. The input is not modified; the output has the input's type.
    """
    if getattr(embeddings, "ndim", None) == 0:
        raise DimensionError(
            "truncate takes vectors (one or a batch), not a single number; pass model.encode(...) output."
        )
    if isinstance(embeddings, np.ndarray):
        check_dim(dim, embedding_dim=embeddings.shape[-1])
        cut = embeddings[..., :dim].astype(np.result_type(embeddings.dtype, np.float32), copy=True)
        if normalize:
            cut /= np.maximum(np.linalg.norm(cut, axis=-1, keepdims=True), np.finfo(cut.dtype).tiny)
        return cut
    import torch

    if isinstance(embeddings, torch.Tensor):
        check_dim(dim, embedding_dim=embeddings.shape[-1])
        prefix = embeddings[..., :dim].clone()
        return torch.nn.functional.normalize(prefix, p=2, dim=-1) if normalize else prefix
    raise EmbeddingTypeError(
        f"truncate takes a numpy array or a torch tensor, not {type(embeddings).__name__}; "
        "pass model.encode(...) output, or wrap lists with numpy.asarray."
    )
