"""What a training run tells the card: base, data size, token counts, loss, hyperparameters, log, baseline.

Only a plain mapping is built here, from training's own objects (preset, loss, trainer log); the card package
checks and renders it (`update_card(training=...)`), so the card never imports training.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

from .losses import LOSSES
from .mining import MINER_NAMES
from .presets import Preset

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from ..data import Pairs
    from .run import TrainingResult

#: Trainer arguments `train` sets for its own bookkeeping, not part of the recipe (left out of the card).
PLUMBING_ARGUMENTS = frozenset({"save_only_model", "use_cpu", "dataloader_drop_last", "dataloader_pin_memory"})


def training_details(model: SentenceTransformer, result: TrainingResult, train_pairs: Pairs) -> dict[str, Any]:
    """The `training=` mapping `update_card` takes, for a finished run evaluated in `result.report`."""
    report = result.report
    return {
        "base_model": result.base.hub_id,
        "base_origin": result.base.origin,
        "dataset_size": len(train_pairs),
        "token_stats": token_stats(model, train_pairs),
        "loss": loss_description(result.preset),
        "hyperparameters": {
            key: value
            for key, value in model.model_card_data.non_default_hyperparameters.items()
            if key not in PLUMBING_ARGUMENTS
        },
        "log": result.log,
        "baseline": {"name": report.baseline_name, "metrics": report.baseline} if report and report.baseline else None,
    }


def loss_description(recipe: Preset) -> str:
    """One line on the loss: `MatryoshkaLoss over MultipleNegativesRankingLoss (scale 20, ...) at dims 384, ...`."""
    options = [f"scale {recipe.scale:g}"] if "mnrl" in recipe.loss else ["guided by the base model"]
    if recipe.loss.startswith("cached"):
        options.append(f"mini-batch {recipe.mini_batch_size}")
    options += [f"{key}={value!r}" for key, value in recipe.loss_options.items()]
    dims = ", ".join(map(str, recipe.matryoshka_dims))
    text = f"MatryoshkaLoss over {LOSSES[recipe.loss]} ({', '.join(options)}) at dims {dims}"
    if recipe.matryoshka_weights:
        text += f" weighted {', '.join(f'{w:g}' for w in recipe.matryoshka_weights)}"
    if recipe.hard_negatives:
        miner = MINER_NAMES.get(recipe.hard_negatives_miner, recipe.hard_negatives_miner)
        text += f"; {recipe.hard_negatives} hard negative(s) per pair mined with {miner}"
    return f"{text}; `{recipe.name}` preset"


def token_stats(model: SentenceTransformer, pairs: Pairs, *, limit: int = 1000) -> dict[str, dict[str, float]]:
    """Min / mean / max token counts of the first `limit` positives and anchors, as the model tokenizes them."""
    stats = {}
    for column, texts in (("positive", pairs.positive), ("anchor", pairs.anchor)):
        lengths = [len(ids) for ids in model.tokenizer(list(texts[:limit]))["input_ids"]]
        stats[column] = {"min": min(lengths), "mean": round(statistics.fmean(lengths), 2), "max": max(lengths)}
    return stats
