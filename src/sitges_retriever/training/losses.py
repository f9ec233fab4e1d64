"""The ranking losses a preset can use, checked before any work, wrapped in MatryoshkaLoss."""

from __future__ import annotations

import inspect
import types
from typing import TYPE_CHECKING, Any

from ..errors import PresetError
from .presets import Preset

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from ..bases import Base

#: The ranking losses a preset can use inside MatryoshkaLoss (GIST: the base model guides which negatives count).
LOSSES = {
    "mnrl": "MultipleNegativesRankingLoss",
    "cached_mnrl": "CachedMultipleNegativesRankingLoss",
    "gist": "GISTEmbedLoss",
    "cached_gist": "CachedGISTEmbedLoss",
}


def st_losses() -> types.ModuleType:
    """sentence-transformers' losses module, wherever this release keeps it."""
    try:
        from sentence_transformers.sentence_transformer import losses  # 6.x
    except ImportError:
        from sentence_transformers import losses  # type: ignore[attr-defined, no-redef]  # 3.x - 5.x
    return losses


def loss_class(recipe: Preset) -> type[Any]:
    """The recipe's ranking-loss class, once its loss name, loss_options and Matryoshka weights are checked."""
    if recipe.loss not in LOSSES:
        raise PresetError(f"Unknown loss {recipe.loss!r}; use one of {', '.join(LOSSES)}.")
    kind: type[Any] = getattr(st_losses(), LOSSES[recipe.loss])
    accepted = set(inspect.signature(kind).parameters) - {"model", "guide", "scale", "mini_batch_size"}
    if unknown := sorted(set(recipe.loss_options) - accepted):
        raise PresetError(
            f"{kind.__name__} takes no option {', '.join(map(repr, unknown))} in loss_options; "
            f"it accepts {', '.join(sorted(accepted)) or 'none'} (this sentence-transformers version). A preset's "
            "loss_options fit its own loss: with another loss, set loss_options too (loss_options={} for none)."
        )
    weights = recipe.matryoshka_weights
    if weights is not None and len(weights) != len(recipe.matryoshka_dims):
        raise PresetError(
            f"matryoshka_weights needs one weight per dim {list(recipe.matryoshka_dims)}, got {list(weights)}."
        )
    return kind


def matryoshka_loss(model: SentenceTransformer, recipe: Preset, base: Base, kind: type[Any]) -> Any:
    """MatryoshkaLoss over the checked ranking-loss class `kind` (see `loss_class`)."""
    from ..architecture import build_model

    options: dict[str, Any] = {"mini_batch_size": recipe.mini_batch_size} if recipe.loss.startswith("cached") else {}
    if "gist" in recipe.loss:
        options["guide"] = build_model(base.path, prompts={k: v for k, v in model.prompts.items() if v is not None})
    else:
        options["scale"] = recipe.scale
    options.update(recipe.loss_options)
    weights = list(recipe.matryoshka_weights) if recipe.matryoshka_weights else None
    return st_losses().MatryoshkaLoss(
        model, kind(model, **options), matryoshka_dims=list(recipe.matryoshka_dims), matryoshka_weights=weights
    )
