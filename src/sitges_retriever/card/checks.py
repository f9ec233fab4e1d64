"""Find what is wrong in an existing model card, without changing it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..architecture import EMBEDDING_DIM, MATRYOSHKA_DIMS
from ..errors import CardError, DimensionError
from ..matryoshka import check_dim
from . import frontmatter, sections
from .metrics import CANONICAL_METRICS, dataset_name, dim_of_dataset_type
from .results import Results
from .tables import render_metrics

_TOKENS_FOR_DIMS = re.compile(
    r"(?i)(output\s+dimensionality|embedding\s+(?:size|dimension)s?|dimensions?)[\s:*|]{1,8}(\d+)\s+tokens\b"
)
_METRIC_ROW = re.compile(r"^\s*\|?\s*\**cosine_[a-z]+@\d+\**\s*\|?\s*[-+]?(?:\d+\.?\d*|\.\d+)")
_SAYS_DIM = re.compile(r"(?i)\bdim[ _-]?\d+\b|\b\d+[- ]?(?:d\b|dim)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")


@dataclass(frozen=True)
class CardProblem:
    """One defect in a card: a stable `code` and a message that says what is wrong and how to fix it."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def check_card(card_path: str | os.PathLike = "model_card.md") -> list[CardProblem]:
    """Every problem found in the card at `card_path` (empty when it is sound); the file is only read.

    A missing file or broken front matter raises `CardError` instead, since nothing else can be checked.
    """
    card = frontmatter.read_card(Path(card_path))
    problems: list[CardProblem] = []
    results = _check_model_index(card.data.get("model-index"), problems)
    _check_metrics_list(card.data.get("metrics"), problems)
    if not card.data.get("base_model"):
        problems.append(CardProblem(
            "missing-base-model",
            "the front matter has no base_model: say which checkpoint the model was fine-tuned from "
            "(e.g. base_model: sentence-transformers/all-MiniLM-L6-v2).",
        ))
    lines_before = card.with_parts(card.yaml_text, "").count("\n")
    _check_tokens(card.body, lines_before, problems)
    _check_tables(card.body, lines_before, problems)
    _check_generated(card, results, problems)
    return problems


def _check_model_index(index: Any, problems: list[CardProblem]) -> Results | None:
    """Report the model-index's defects; return its results when all are complete per-dimension results."""
    if index is None:
        return {}
    entries = index if isinstance(index, list) else None
    if not entries or not all(isinstance(entry, dict) and isinstance(entry.get("results"), list) for entry in entries):
        problems.append(CardProblem("bad-model-index", "model-index must be a list of {name, results: [...]} entries."))
        return None
    found: dict[int, dict[str, Any]] = {}
    complete = True
    for result in (result for entry in entries for result in entry["results"]):
        dataset = result.get("dataset") if isinstance(result, dict) else None
        dim = dim_of_dataset_type(dataset.get("type")) if isinstance(dataset, dict) else None
        if dim is None:
            problems.append(CardProblem(
                "unknown-result",
                f"a model-index result for dataset {dataset!r} is not a per-dimension retrieval result "
                "(dataset type dim_N); regenerate the metrics with `sitges-retriever card update`.",
            ))
            complete = False
            continue
        if dim in found:
            problems.append(CardProblem("duplicate-dimension", f"the model-index reports {dataset_name(dim)} twice."))
            complete = False
            continue
        found[dim] = _metrics_of(dim, result.get("metrics"), problems)
        try:
            check_dim(dim)
        except DimensionError as error:
            problems.append(CardProblem("impossible-dimension", f"model-index: {error}"))
        missing = [metric for metric in CANONICAL_METRICS if metric not in found[dim]]
        if missing:
            complete = False
            problems.append(CardProblem(
                "missing-metric", f"{dataset_name(dim)} lacks {', '.join(missing)}; the card reports all 15."
            ))
    _check_duplicates(found, problems)
    if not complete:
        return None
    return {dim: {metric: found[dim][metric] for metric in CANONICAL_METRICS} for dim in sorted(found, reverse=True)}


def _metrics_of(dim: int, metrics: Any, problems: list[CardProblem]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric in metrics if isinstance(metrics, list) else []:
        kind = metric.get("type") if isinstance(metric, dict) else None
        value = metric.get("value") if isinstance(metric, dict) else None
        if kind not in CANONICAL_METRICS:
            problems.append(CardProblem(
                "unknown-metric",
                f"{dataset_name(dim)} reports {kind!r}, which is not one of the card's metrics "
                f"({', '.join(CANONICAL_METRICS)}).",
            ))
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            problems.append(CardProblem(
                "bad-value", f"{dataset_name(dim)} {kind} is {value!r}; retrieval metrics are numbers from 0 to 1."
            ))
            continue
        out[kind] = value
    return out


def _check_duplicates(found: dict[int, dict[str, Any]], problems: list[CardProblem]) -> None:
    groups: dict[tuple, list[int]] = {}
    for dim, metrics in found.items():
        if metrics:
            groups.setdefault(tuple(sorted(metrics.items())), []).append(dim)
    for dims in groups.values():
        if len(dims) < 2:
            continue
        names = " and ".join(dataset_name(dim) for dim in dims)
        why = "a sign that they were measured on the same vectors"
        if any(dim > EMBEDDING_DIM for dim in dims):
            why = (f"cutting the model's {EMBEDDING_DIM}-d embeddings to more than {EMBEDDING_DIM} values changes "
                   f"nothing, so such results repeat the {EMBEDDING_DIM}-d result under another name")
        problems.append(CardProblem(
            "duplicate-results",
            f"{names} report identical results: {why}. Evaluate each trained dimension "
            f"({', '.join(map(str, MATRYOSHKA_DIMS))}) with its own truncate_dim and regenerate the metrics.",
        ))


def _check_metrics_list(metrics: Any, problems: list[CardProblem]) -> None:
    names = [metrics] if isinstance(metrics, str) else metrics or []
    unknown = [str(name) for name in names if name not in CANONICAL_METRICS]
    if unknown:
        problems.append(CardProblem(
            "unknown-metric",
            f"the front matter's metrics list names {', '.join(unknown)}, outside the card's metrics "
            f"({', '.join(CANONICAL_METRICS)}).",
        ))


def _check_tokens(body: str, lines_before: int, problems: list[CardProblem]) -> None:
    for match in _TOKENS_FOR_DIMS.finditer(body):
        line = lines_before + body.count("\n", 0, match.start()) + 1
        problems.append(CardProblem(
            "dimensions-as-tokens",
            f"line {line} says {' '.join(match.group(0).split())!r}: an embedding's size is counted in dimensions "
            f"({match.group(2)} dimensions); tokens measure the input text.",
        ))


def _check_tables(body: str, lines_before: int, problems: list[CardProblem]) -> None:
    """Tables of cosine metrics must say which dimension they are for (in their header or caption)."""
    lines = body.split("\n")
    previous_end = -1
    index = 0
    while index < len(lines):
        if not _METRIC_ROW.match(lines[index]):
            index += 1
            continue
        first = index
        while index < len(lines) and _METRIC_ROW.match(lines[index]):
            index += 1
        if not any(_SAYS_DIM.search(line) for line in _caption(lines, first, previous_end)):
            problems.append(CardProblem(
                "table-without-dimension",
                f"the metrics table at line {lines_before + first + 1} does not say which embedding size it is for; "
                "put the dimension (e.g. 'dim 384') in its heading or header.",
            ))
        previous_end = index - 1


def _caption(lines: list[str], first_row: int, stop: int) -> list[str]:
    """The table's header block, then up to two lines above it, ending at a heading or the previous table."""
    caption, index = [], first_row - 1
    while index > stop and lines[index].strip():
        caption.append(lines[index])
        index -= 1
    text_lines = 0
    while index > stop and text_lines < 2:
        line = lines[index]
        index -= 1
        if line.strip():
            caption.append(line)
            text_lines += 1
            if _HEADING.match(line):
                break
    return caption


def _check_generated(card: frontmatter.CardText, results: Results | None, problems: list[CardProblem]) -> None:
    for name in (sections.METRICS, sections.TRAINING):
        try:
            content = sections.section_content(card.body, name, card.source)
        except CardError as error:
            problems.append(CardProblem("broken-markers", str(error)))
            continue
        stale = name == sections.METRICS and content is not None and results is not None
        if stale and content.replace("\r\n", "\n") != render_metrics(results):
            problems.append(CardProblem(
                "stale-tables",
                "the metrics tables in the body do not match the model-index; "
                "regenerate them with `sitges-retriever card update --results PATH`.",
            ))
