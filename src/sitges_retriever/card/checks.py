"""Find what is wrong in an existing model card, without changing it."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..architecture import MATRYOSHKA_DIMS
from ..errors import CardError
from ..metrics import CANONICAL_METRICS, dataset_name, dim_of_dataset_type
from .render import METRICS, TRAINING, render_metrics
from .results import Results, refusals
from .writer import read_card, section, type_problems

_TOKENS_FOR_DIMS = re.compile(
    r"(?i)(output\s+dimensionality|embedding\s+(?:size|dimension)s?|dimensions?)[\s:*|]{1,8}(\d+)\s+tokens\b"
)
_METRIC_ROW = re.compile(r"^\s*\|?\s*\**cosine_[a-z]+@\d+\**\s*\|?\s*[-+]?(?:\d+\.?\d*|\.\d+)")
_SAYS_DIM = re.compile(r"(?i)\bdim[ _-]?\d+\b|\b\d+[- ]?(?:d\b|dim)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_REGENERATE = "regenerate the metrics with `sitges-retriever card update --results PATH`"
Add = Callable[[str, str], None]
_OURS = f"the card's metrics ({', '.join(CANONICAL_METRICS)})"


@dataclass(frozen=True)
class CardProblem:
    """One defect in a card: a stable `code` and a message that says what is wrong and how to fix it."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def check_card(card_path: str | os.PathLike[str] = "model_card.md") -> list[CardProblem]:
    """Every problem found in the card (empty when it is sound); the file is only read.

    A missing file or broken front matter raises `CardError` instead, since nothing else can be checked.
    """
    card = read_card(card_path)
    found = [CardProblem("bad-front-matter", message) for message in type_problems(card.data)]

    def add(code: str, message: str) -> None:
        found.append(CardProblem(code, message))

    results = _check_model_index(card.data.get("model-index"), add)
    metrics = card.data.get("metrics")
    unknown = [str(name) for name in metrics if name not in CANONICAL_METRICS] if isinstance(metrics, list) else []
    if unknown:
        add("unknown-metric", f"the front matter's metrics list names {', '.join(unknown)}, outside {_OURS}.")
    if not card.data.get("base_model"):
        add("missing-base-model", "the front matter has no base_model; name the fine-tuned checkpoint (org/name).")
    lines_before = card.text().count("\n") - card.body.count("\n")
    for match in _TOKENS_FOR_DIMS.finditer(card.body):
        line = lines_before + card.body.count("\n", 0, match.start()) + 1
        said = " ".join(match.group(0).split())
        add("dimensions-as-tokens", f"line {line} says {said!r}: embedding sizes count dimensions; tokens count text.")
    _check_tables(card.body.split("\n"), lines_before, add)
    for name in (METRICS, TRAINING):
        try:
            span = section(card.body, name, card.source)
        except CardError as error:
            add("broken-markers", str(error))
            continue
        content = card.body[span[0] : span[1]].replace("\r\n", "\n") if span else None
        if name == METRICS and None not in (content, results) and content != render_metrics(results):
            add("stale-tables", f"the metrics tables in the body do not match the model-index; {_REGENERATE}.")
    return found


def _check_model_index(index: Any, add: Add) -> Results | None:
    """Report the model-index's defects; return its results when all are complete per-dimension results."""
    if index is None:
        return {}
    entries = index if isinstance(index, list) and index else [None]
    if not all(isinstance(entry, dict) and isinstance(entry.get("results"), list) for entry in entries):
        add("bad-model-index", "model-index must be a list of {name, results: [...]} entries.")
        return None
    results: dict[int, dict[str, Any]] = {}
    complete = True
    for result in (result for entry in entries if entry for result in entry["results"]):
        dataset = result.get("dataset") if isinstance(result, dict) else None
        dim = dim_of_dataset_type(dataset.get("type")) if isinstance(dataset, dict) else None
        if dim is None or dim in results:
            complete = False
            if dim:
                add("duplicate-dimension", f"the model-index reports {dataset_name(dim)} twice.")
            else:
                add("unknown-result", f"model-index result {dataset!r} is not for a dataset dim_N; {_REGENERATE}.")
            continue
        results[dim] = _metrics_of(dim, result.get("metrics"), add)
        missing = [metric for metric in CANONICAL_METRICS if metric not in results[dim]]
        if missing:
            complete = False
            add("missing-metric", f"{dataset_name(dim)} lacks {', '.join(missing)}; the card reports all.")
    for code, message in refusals(results):
        fix = f" Evaluate each of {list(MATRYOSHKA_DIMS)} with its own truncate_dim and {_REGENERATE}."
        add(code, f"model-index: {message}" if code == "impossible-dimension" else message + fix)
    return dict(sorted(results.items(), reverse=True)) if complete else None


def _metrics_of(dim: int, metrics: Any, add: Add) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric in metrics if isinstance(metrics, list) else []:
        kind, value = (metric.get("type"), metric.get("value")) if isinstance(metric, dict) else (None, None)
        if kind not in CANONICAL_METRICS:
            add("unknown-metric", f"{dataset_name(dim)} reports {kind!r}, which is not one of {_OURS}.")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            add("bad-value", f"{dataset_name(dim)} {kind} is {value!r}; metrics are numbers from 0 to 1.")
        else:
            out[kind] = value
    return {metric: out[metric] for metric in CANONICAL_METRICS if metric in out}


def _check_tables(lines: list[str], lines_before: int, add: Add) -> None:
    """Tables of cosine metrics must say which dimension they are for, in their header or the lines just above."""
    previous_end, index = -1, 0
    while index < len(lines):
        if not _METRIC_ROW.match(lines[index]):
            index += 1
            continue
        first, caption = index, list[str]()
        while index < len(lines) and _METRIC_ROW.match(lines[index]):
            index += 1
        for line in reversed(lines[previous_end + 1 : first]):  # up to 3 lines above, stopping at a heading
            if line.strip() and len(caption) < 3 and not (caption and _HEADING.match(caption[-1])):
                caption.append(line)
        if not any(_SAYS_DIM.search(line) for line in caption):
            at = lines_before + first + 1
            add("table-without-dimension", f"the metrics table at line {at} names no embedding size (e.g. 'dim 384').")
        previous_end = index - 1
