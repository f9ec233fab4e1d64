"""The card's training-details section, from the mapping a training run produces.

The mapping (every key optional; unknown keys are refused):
    base_model       str, a Hub id ("sentence-transformers/all-MiniLM-L6-v2"); also the front matter's base_model
    base_origin      str, where the base's weights came from (the Hub, a folder, an offline rebuild)
    dataset_size     int, training pairs; also the tag dataset_size:N
    token_stats      {column: {"min": n, "mean": x, "max": n}}, e.g. columns "positive" and "anchor"
    loss             str, e.g. "MatryoshkaLoss(CachedMultipleNegativesRankingLoss) at 384/256/128/64";
                     each *Loss name in it becomes a loss:Name tag (replacing the card's loss: tags)
    hyperparameters  {argument: value}, the non-default training arguments
    log              [{column: value}], one row per logging/evaluation step; columns may differ between rows
    baseline         {"name": "BM25", "metrics": {"ndcg@10": x, ...}}, metric names from the card's 15
                     (with or without the "cosine_" prefix); shown here, never in the model-index
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import CardError
from .metrics import METRIC_KEYS
from .sections import TRAINING, wrap

TRAINING_KEYS = (
    "base_model", "base_origin", "dataset_size", "token_stats", "loss", "hyperparameters", "log", "baseline"
)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
_LOSS_NAME = re.compile(r"\b([A-Z]\w*Loss)\b")


def check_training(training: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a training mapping against the schema above; return it as a plain dict."""
    if not isinstance(training, Mapping):
        raise CardError(f"training must be a mapping with keys among {', '.join(TRAINING_KEYS)}.")
    unknown = sorted(set(training) - set(TRAINING_KEYS))
    if unknown:
        raise CardError(f"training has unknown key(s) {', '.join(map(repr, unknown))}; use {', '.join(TRAINING_KEYS)}.")
    out = {key: value for key, value in training.items() if value is not None}
    if "base_model" in out and not (isinstance(out["base_model"], str) and _HUB_ID.match(out["base_model"])):
        raise CardError(
            f"training['base_model'] must be a Hub id such as 'sentence-transformers/all-MiniLM-L6-v2', "
            f"not {out['base_model']!r}: the card's base_model points readers to the Hub, "
            "so a local path cannot stand there."
        )
    if "dataset_size" in out and (isinstance(out["dataset_size"], bool) or not isinstance(out["dataset_size"], int)
                                  or out["dataset_size"] < 0):
        raise CardError(f"training['dataset_size'] must be a count of training pairs, not {out['dataset_size']!r}.")
    if "loss" in out and not isinstance(out["loss"], str):
        raise CardError(f"training['loss'] must be a description string, not {type(out['loss']).__name__}.")
    for column, stats in _mapping(out, "token_stats").items():
        if not isinstance(stats, Mapping) or any(not _is_number(stats.get(name)) for name in ("min", "mean", "max")):
            raise CardError(
                f"training['token_stats'][{column!r}] must be {{'min': n, 'mean': x, 'max': n}}, not {stats!r}."
            )
    _mapping(out, "hyperparameters")
    if "log" in out and (isinstance(out["log"], (str, bytes)) or not isinstance(out["log"], Sequence)
                         or not all(isinstance(row, Mapping) for row in out["log"])):
        raise CardError("training['log'] must be a list of rows, each a mapping of column -> value.")
    if "baseline" in out:
        out["baseline"] = _check_baseline(out["baseline"])
    return out


def training_fields(training: Mapping[str, Any], tags: Any) -> dict[str, Any]:
    """The front matter fields the training details set: base_model, and tags (dataset_size:N, loss:Name)."""
    fields: dict[str, Any] = {}
    if "base_model" in training:
        fields["base_model"] = training["base_model"]
    if "dataset_size" in training or "loss" in training:
        current = [tags] if isinstance(tags, str) else [str(tag) for tag in tags or []]
        kept = current
        if "dataset_size" in training:
            kept = [tag for tag in kept if not tag.startswith("dataset_size:")]
        added = []
        if "dataset_size" in training:
            added.append(f"dataset_size:{training['dataset_size']}")
        if "loss" in training:
            names = list(dict.fromkeys(_LOSS_NAME.findall(training["loss"])))
            if names:
                kept = [tag for tag in kept if not tag.startswith("loss:")]
                added += [f"loss:{name}" for name in names]
        fields["tags"] = list(dict.fromkeys(kept + added))
    return fields


def render_training(training: Mapping[str, Any]) -> str:
    """The generated training-details section (markers included) for a checked training mapping."""
    parts = []
    facts = []
    if "base_model" in training:
        base = training["base_model"]
        facts.append(f"- **Base model:** [{base}](https://huggingface.co/{base})")
    if "base_origin" in training:
        facts.append(f"- **Base weights:** {_cell(training['base_origin'])}")
    if "dataset_size" in training:
        facts.append(f"- **Training pairs:** {training['dataset_size']:,}")
    if "loss" in training:
        facts.append(f"- **Loss:** {_cell(training['loss'])}")
    if facts:
        parts.append("\n".join(facts))
    if training.get("token_stats"):
        rows = [[column, _num(stats["min"]), f"{float(stats['mean']):.2f}", _num(stats["max"])]
                for column, stats in training["token_stats"].items()]
        parts.append("### Token counts\n\nTokens per text in the training pairs, by column.\n\n"
                     + _table(["Column", "Min", "Mean", "Max"], rows, ":--|--:|--:|--:"))
    if training.get("hyperparameters"):
        rows = [[name, _value(value)] for name, value in training["hyperparameters"].items()]
        parts.append("### Non-default hyperparameters\n\n" + _table(["Argument", "Value"], rows, ":--|:--"))
    if training.get("log"):
        columns = list(dict.fromkeys(column for row in training["log"] for column in row))
        rows = [[_num(row[column]) if column in row else "-" for column in columns] for row in training["log"]]
        parts.append("### Training log\n\n" + _table(columns, rows, "|".join("--:" for _ in columns)))
    if "baseline" in training:
        name, metrics = training["baseline"]["name"], training["baseline"]["metrics"]
        rows = [[key, _num(metrics[key])] for key in METRIC_KEYS if key in metrics]
        parts.append(f"### Baseline: {_cell(name)}\n\nThe same evaluation queries and corpus, ranked by "
                     f"{_cell(name)} instead of the model; compare with the tables above.\n\n"
                     + _table(["Metric", _cell(name)], rows, ":--|--:"))
    if not parts:
        parts.append("No training run is recorded in this card yet.")
    return wrap(TRAINING, "\n\n".join(parts))


def _check_baseline(baseline: Any) -> dict[str, Any]:
    usage = "training['baseline'] must be {'name': 'BM25', 'metrics': {'ndcg@10': x, ...}}"
    if not isinstance(baseline, Mapping) or not isinstance(baseline.get("name"), str) or not baseline["name"].strip():
        raise CardError(f"{usage}, not {baseline!r}.")
    metrics = baseline.get("metrics")
    if not isinstance(metrics, Mapping) or not metrics:
        raise CardError(f"{usage}; its metrics are missing.")
    out = {}
    for key, value in metrics.items():
        bare = str(key).removeprefix("cosine_")
        if bare not in METRIC_KEYS:
            raise CardError(f"{usage}; {key!r} is not one of the card's metrics ({', '.join(METRIC_KEYS)}).")
        if not _is_number(value) or not 0 <= float(value) <= 1:
            raise CardError(f"{usage}; its {key} is {value!r}, not a number between 0 and 1.")
        out[bare] = float(value)
    return {"name": baseline["name"], "metrics": out}


def _mapping(training: dict[str, Any], key: str) -> Mapping[str, Any]:
    value = training.get(key, {})
    if not isinstance(value, Mapping):
        raise CardError(f"training[{key!r}] must be a mapping, not {type(value).__name__}.")
    return value


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return not math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _num(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return _cell(str(value))
    if isinstance(value, int):
        return str(value)
    if _is_number(value):
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) >= 1 else f"{number:.4f}"
    return _cell(str(value))


def _value(value: Any) -> str:
    if isinstance(value, (Mapping, list, tuple)):
        return _cell(json.dumps(value, ensure_ascii=False, default=str))
    return _cell(str(value))


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]], align: str) -> str:
    lines = ["| " + " | ".join(_cell(column) for column in header) + " |", "|" + align.strip("|") + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
