"""The model's own BM25 weight for hybrid search, per Matryoshka size, kept in its folder as `hybrid.json`.

How much keyword search should count depends on the domain: on Wikipedia questions BM25 is as strong as the
model, on procedure texts much weaker. So `train` chooses the weight on its validation split (never on the
pairs it reports) and saves it with the model; `load` reads it back, and search, the index and evaluation
use it unless given a weight. A model without the file (or any other sentence-transformers model) gets
`retrieval.BM25_WEIGHT`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ModelFolderError
from .retrieval import BM25_WEIGHT

HYBRID_FILE = "hybrid.json"
#: Where a loaded model carries its weights and what they were chosen on (a SentenceTransformer takes any attribute).
_ATTRIBUTE, _CHOSEN_ON = "sitges_bm25_weights", "sitges_bm25_weights_chosen_on"


def bm25_weights_of(model: Any) -> dict[int, float] | None:
    """The weights `model` carries ({dim: weight}), or None."""
    weights = getattr(model, _ATTRIBUTE, None)
    return dict(weights) if weights else None


def attach_bm25_weights(model: Any, weights: Mapping[int, float] | None, *, chosen_on: str = "") -> Any:
    """Give `model` its weights and what they were chosen on (None removes them); returns the model."""
    if weights:
        setattr(model, _ATTRIBUTE, {int(dim): float(weight) for dim, weight in weights.items()})
        setattr(model, _CHOSEN_ON, chosen_on)
    else:
        for name in (_ATTRIBUTE, _CHOSEN_ON):
            if hasattr(model, name):
                delattr(model, name)
    return model


def save_bm25_weights(model: Any, folder: str | Path) -> Path | None:
    """Write the weights `model` carries to `folder`/hybrid.json (nothing without weights)."""
    weights = bm25_weights_of(model)
    return write_bm25_weights(folder, weights, chosen_on=getattr(model, _CHOSEN_ON, "")) if weights else None


def bm25_weight_for(model: Any, dim: int | None = None) -> float:
    """The BM25 weight to fuse `model`'s scores at `dim` (default: the size it encodes to) with.

    The model's own weight for that size; for a size it has none for, the one of the nearest size; without
    weights, `BM25_WEIGHT`.
    """
    weights = bm25_weights_of(model)
    if not weights:
        return BM25_WEIGHT
    size = dim or getattr(model, "truncate_dim", None) or max(weights)
    return weights[min(weights, key=lambda known: (abs(known - size), -known))]


def load_bm25_weights(model: Any, folder: str | Path) -> Any:
    """Give `model` the weights of `folder`/hybrid.json, if it has one; returns the model."""
    weights, chosen_on = read_bm25_weights(folder)
    return attach_bm25_weights(model, weights, chosen_on=chosen_on)


def read_bm25_weights(folder: str | Path) -> tuple[dict[int, float] | None, str]:
    """The weights in `folder`/hybrid.json and what they were chosen on, or (None, "") without the file; a
    damaged file is refused by name."""
    path = Path(folder) / HYBRID_FILE
    remedy = "Delete it to use the default BM25 weight, or retrain."
    return read_weights_file(path, remedy) if path.is_file() else (None, "")


def read_weights_file(path: Path, remedy: str) -> tuple[dict[int, float] | None, str]:
    """The weights in a hybrid.json-shaped file at `path` and what they were chosen on; a damaged file is refused
    by name, with `remedy` (one sentence) said after what is wrong."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        weights = {int(dim): float(weight) for dim, weight in content["bm25_weight"].items()}
        chosen_on = str(content.get("chosen_on", ""))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ModelFolderError(
            f"{path} is damaged ({type(error).__name__}: {error}); it should hold "
            f'{{"bm25_weight": {{"384": 0.5, ...}}}}. {remedy}'
        ) from error
    bad = {dim: weight for dim, weight in weights.items() if not 0 <= weight <= 1 or dim < 1}
    if bad:
        raise ModelFolderError(f"{path} gives BM25 weights outside [0, 1] or sizes below 1 ({bad}). {remedy}")
    return weights or None, chosen_on


def write_bm25_weights(folder: str | Path, weights: Mapping[int, float], *, chosen_on: str = "") -> Path:
    """Write `folder`/hybrid.json: the weight per size, and what it was chosen on."""
    path = Path(folder) / HYBRID_FILE
    content = {
        "method": "weighted",
        "bm25_weight": {str(dim): round(float(weight), 4) for dim, weight in sorted(weights.items(), reverse=True)},
        "chosen_on": chosen_on,
    }
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
