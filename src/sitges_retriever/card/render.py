"""The generated body sections: the metrics tables, and the training details from a training run's mapping.

The training mapping (every key optional, unknown keys refused): base_model (a Hub id; also the front matter's),
base_origin (where the base's weights came from), dataset_size (training pairs; also the dataset_size:N tag),
token_stats ({column: {"min", "mean", "max"}}), loss (each *Loss name becomes a loss:Name tag), hyperparameters
({argument: value}, the non-default ones), log ([{column: value}], one row per step), baseline ({"name": "BM25",
"metrics": {"ndcg@10": x, ...}}, never in the model-index), framework_versions (see `framework_versions()`).
"""

from __future__ import annotations

import contextlib
import json
import platform
import re
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

from ..errors import CardError
from ..metrics import CANONICAL_METRICS, HEADLINE_KEYS, METRIC_KEYS, dataset_name
from .results import Results, is_number

METRICS, TRAINING = "metrics", "training"
TRAINING_KEYS: tuple[str, ...] = ("base_model", "base_origin", "dataset_size", "token_stats", "loss", "hyperparameters")
TRAINING_KEYS += ("log", "baseline", "framework_versions")
#: The distributions whose versions the card lists, beside Python's.
FRAMEWORKS: tuple[str, ...] = ("sentence-transformers", "transformers", "torch", "huggingface_hub", "tokenizers")
FRAMEWORKS += ("accelerate", "datasets", "sitges-retriever")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
_LOSS_NAME = re.compile(r"\b([A-Z]\w*Loss)\b")
_TITLES = {"ndcg@10": "nDCG@10", "mrr@10": "MRR@10", "map@100": "MAP@100", "accuracy@1": "Accuracy@1"}
_NO_RESULTS = "No evaluation is recorded in this card yet. After evaluating the model at each trained dimension, "
_NO_RESULTS += "run `sitges-retriever card update --results PATH` to write the metrics here and in the metadata."


def framework_versions() -> dict[str, str]:
    """The versions of Python and of the installed libraries that train the model, for the card."""
    versions = {"python": platform.python_version()}
    for name in FRAMEWORKS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def render_metrics(results: Results | None) -> str:
    """The generated metrics section (markers included): a summary across sizes, then one table per size."""
    if not results:
        return wrap(METRICS, _NO_RESULTS)
    dims = sorted(results, reverse=True)
    header = ["Embedding size", *(_TITLES.get(key, key.title()) for key in HEADLINE_KEYS)]
    rows = [[dataset_name(dim), *(f"{results[dim][f'cosine_{key}']:.4f}" for key in HEADLINE_KEYS)] for dim in dims]
    intro = "Each embedding size is the model's output cut to its first N values (`truncate_dim=N`), ranked by cosine "
    parts = [_table(header, rows, ":--|" + "--:|" * len(HEADLINE_KEYS), intro=intro + "similarity.\n\n")]
    for dim in dims:
        rows = [[metric, f"{results[dim][metric]:.4f}"] for metric in CANONICAL_METRICS]
        title = f"Information retrieval at {dataset_name(dim)}"
        parts.append(_table([f"Metric ({dataset_name(dim)})", "Value"], rows, ":--|--:", title))
    return wrap(METRICS, "\n\n".join(parts))


def check_training(training: Any) -> dict[str, Any]:
    """Validate a training mapping against the schema above; return it as a plain dict without None values."""
    if not isinstance(training, Mapping) or set(training) - set(TRAINING_KEYS):
        what = f"is of type {type(training).__name__}"
        if isinstance(training, Mapping):
            what = f"has unknown key(s) {', '.join(sorted(map(repr, set(training) - set(TRAINING_KEYS))))}"
        raise CardError(f"training {what}: give a mapping with keys among {', '.join(TRAINING_KEYS)}.")
    out = {key: value for key, value in training.items() if value is not None}
    if "base_model" in out and not (isinstance(out["base_model"], str) and _HUB_ID.match(out["base_model"])):
        raise CardError(f"training['base_model'] must be a Hub id like 'org/name', not a path: {out['base_model']!r}.")
    size = out.get("dataset_size", 0)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise CardError(f"training['dataset_size'] must be a count of training pairs, not {size!r}.")
    for key in ("loss", "base_origin"):
        if not isinstance(out.get(key, ""), str):
            raise CardError(f"training[{key!r}] must be a description string, not {type(out[key]).__name__}.")
    for column, stats in _mapping(out, "token_stats").items():
        if not isinstance(stats, Mapping) or not all(is_number(stats.get(name)) for name in ("min", "mean", "max")):
            raise CardError(f"training['token_stats'][{column!r}] must be {{'min': n, 'mean': x, 'max': n}}.")
    _mapping(out, "hyperparameters")
    if not all(isinstance(v, str) and v.strip() for v in _mapping(out, "framework_versions").values()):
        raise CardError("training['framework_versions'] must map each library to its version string.")
    log = out.get("log", [])
    if isinstance(log, (str, bytes)) or not isinstance(log, Sequence) or not all(isinstance(r, Mapping) for r in log):
        raise CardError("training['log'] must be a list of rows, each a mapping of column -> value.")
    if "baseline" in out:
        out["baseline"] = _check_baseline(out["baseline"])
    return out


def training_fields(training: Mapping[str, Any], tags: list[str]) -> dict[str, Any]:
    """The front-matter values the training details set: base_model, and tags (dataset_size:N, loss:Name)."""
    fields: dict[str, Any] = {"base_model": training["base_model"]} if "base_model" in training else {}
    added = [f"dataset_size:{training['dataset_size']}"] if "dataset_size" in training else []
    added += [f"loss:{name}" for name in dict.fromkeys(_LOSS_NAME.findall(training.get("loss", "")))]
    if added:
        fields["tags"] = with_tags(tags, added)
    return fields


def with_tags(tags: list[str], added: list[str]) -> list[str]:
    """`tags` with `added`, which replace the tags of their kinds (`loss:`, `dataset_size:`)."""
    kinds = tuple({tag.split(":")[0] + ":" for tag in added})
    return list(dict.fromkeys([tag for tag in tags if not tag.startswith(kinds)] + added))


def render_training(training: Mapping[str, Any]) -> str:
    """The generated training-details section (markers included) for a checked training mapping."""
    base = training.get("base_model")
    facts = [f"- **Base model:** [{base}](https://huggingface.co/{base})"] if base else []
    for key, label in (("base_origin", "Base weights"), ("dataset_size", "Training pairs"), ("loss", "Loss")):
        if key in training:
            value = training[key]
            facts.append(f"- **{label}:** {f'{value:,}' if key == 'dataset_size' else _cell(value)}")
    parts = ["\n".join(facts)] if facts else []
    if training.get("token_stats"):
        stats = training["token_stats"]
        rows = [[key, _num(s["min"]), f"{float(s['mean']):.2f}", _num(s["max"])] for key, s in stats.items()]
        intro = "Tokens per text in the training pairs, by column.\n\n"
        parts.append(_table(["Column", "Min", "Mean", "Max"], rows, ":--|--:|--:|--:", "Token counts", intro))
    if training.get("hyperparameters"):
        rows = [[name, _value(value)] for name, value in training["hyperparameters"].items()]
        parts.append(_table(["Argument", "Value"], rows, ":--|:--", "Non-default hyperparameters"))
    if training.get("log"):
        columns = list(dict.fromkeys(column for row in training["log"] for column in row))
        rows = [[_num(row[column]) if column in row else "-" for column in columns] for row in training["log"]]
        parts.append(_table(columns, rows, "|".join("--:" for _ in columns), "Training log"))
    if "baseline" in training:
        name, metrics = _cell(training["baseline"]["name"]), training["baseline"]["metrics"]
        rows = [[key, _num(metrics[key])] for key in METRIC_KEYS if key in metrics]
        intro = f"The same evaluation queries and corpus, ranked by {name} instead of the model; compare with the "
        intro += "tables above.\n\n"
        parts.append(_table(["Metric", name], rows, ":--|--:", f"Baseline: {name}", intro))
    if training.get("framework_versions"):
        rows = [[_cell(name), _cell(version)] for name, version in training["framework_versions"].items()]
        intro = "The libraries that trained these weights.\n\n"
        parts.append(_table(["Library", "Version"], rows, ":--|:--", "Framework Versions", intro))
    return wrap(TRAINING, "\n\n".join(parts) or "No training run is recorded in this card yet.")


def marker(name: str, end: bool = False) -> str:
    return f"<!-- sitges-retriever:{name}:{'end' if end else 'start'} -->"


def wrap(name: str, content: str) -> str:
    """`content` between the section's markers, with a note that the section is generated."""
    note = "<!-- Generated by `sitges-retriever card update`: edit outside these markers, not inside. -->"
    return f"{marker(name)}\n{note}\n\n{content.strip()}\n\n{marker(name, True)}"


def _check_baseline(baseline: Any) -> dict[str, Any]:
    usage = "training['baseline'] must be {'name': 'BM25', 'metrics': {'ndcg@10': x, ...}}"
    if not isinstance(baseline, Mapping) or not isinstance(baseline.get("name"), str) or not baseline["name"].strip():
        raise CardError(f"{usage}, not {baseline!r}.")
    if not isinstance(baseline.get("metrics"), Mapping) or not baseline["metrics"]:
        raise CardError(f"{usage}; its metrics are missing.")
    out = {}
    for key, value in baseline["metrics"].items():
        if str(key).removeprefix("cosine_") not in METRIC_KEYS:
            raise CardError(f"{usage}; {key!r} is not one of the card's metrics ({', '.join(METRIC_KEYS)}).")
        if not is_number(value) or not 0 <= float(value) <= 1:
            raise CardError(f"{usage}; its {key} is {value!r}, not a number between 0 and 1.")
        out[str(key).removeprefix("cosine_")] = float(value)
    return {"name": baseline["name"], "metrics": out}


def _mapping(training: dict[str, Any], key: str) -> Mapping[Any, Any]:
    if not isinstance(training.get(key, {}), Mapping):
        raise CardError(f"training[{key!r}] must be a mapping, not {type(training[key]).__name__}.")
    value: Mapping[Any, Any] = training.get(key, {})
    return value


def _num(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if is_number(value):
        return str(int(value)) if float(value).is_integer() and abs(float(value)) >= 1 else f"{float(value):.4f}"
    return _cell(value)


def _value(value: Any) -> str:
    structured = isinstance(value, (Mapping, list, tuple))
    return _cell(json.dumps(value, ensure_ascii=False, default=str) if structured else value)


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]], align: str, title: str = "", intro: str = "") -> str:
    lines = ["| " + " | ".join(_cell(column) for column in header) + " |", "|" + align.strip("|") + "|"]
    table = intro + "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    return f"### {title}\n\n{table}" if title else table
