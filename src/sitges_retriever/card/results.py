"""Read InformationRetrievalEvaluator output (evaluators named `dim_N`) into: dimension -> the card's 15 metrics,
from its dict (an `eval_` prefix too), that dict as JSON, its CSV files (the last row counts), or `{384: {...}}`.
Other score functions and k values are skipped; a `dim_X_cosine_*` key with X not a positive integer is refused."""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..architecture import EMBEDDING_DIM
from ..errors import CardError, DimensionError
from ..matryoshka import check_dim
from ..metrics import METRIC_KEYS, dataset_name

#: dimension -> {canonical metric name -> value}, dimensions largest first, metrics in the card's order.
Results = dict[int, dict[str, float]]
ResultsSource = Mapping[Any, Any] | str | os.PathLike[str]

CSV_PATTERN = "Information-Retrieval_evaluation_*_results.csv"
# `cos_sim` is what sentence-transformers 2.x called the cosine score function.
_DICT_KEY = re.compile(r"(?:^|_)dim([^a-z].*?)?_(?:cosine|cos_sim)_([a-z]+@\d+)$")
_CSV_FILE = re.compile(r"^Information-Retrieval_evaluation_(.*)_results\.csv$")
_CSV_COLUMN = re.compile(r"^(?:cosine|cos_sim)-([A-Za-z]+@\d+)$")
_DIM_NAME = re.compile(r"(?:^|_)dim_([1-9]\d*)$")
_BEYOND = f"cuts beyond {EMBEDDING_DIM} values change nothing, so they repeat the model's {EMBEDDING_DIM}-d result"
_SAME_VECTORS = "a sign that they were measured on the same vectors, or on too few questions to tell the sizes apart"
_NAMING_HINT = "Name one evaluator per dimension: InformationRetrievalEvaluator(..., name='dim_384', truncate_dim=384)."


def read_results(source: ResultsSource) -> Results:
    """Read evaluator output (a dict, a CSV file, a folder of CSV files or a JSON file) into dim -> 15 metrics."""
    if isinstance(source, Mapping):
        return _from_mapping(source, "the results")
    if not isinstance(source, (str, os.PathLike)):
        raise CardError(f"Results must be an evaluator's dict or a path to its output, not {type(source).__name__}.")
    path = Path(source)
    if not str(source) or not path.exists():
        raise CardError(f"No evaluation output at {path}: give the evaluator's dict, CSV file or folder, or JSON file.")
    if path.is_file() and path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise CardError(f"{path} is not valid JSON (line {error.lineno}: {error.msg}).") from error
        except (OSError, UnicodeDecodeError) as error:
            raise CardError(f"Cannot read {path}: {error}.") from error
        if not isinstance(data, Mapping):
            raise CardError(f"{path} must hold the evaluator's dict (a JSON object), not {type(data).__name__}.")
        return _from_mapping(data, str(path))
    if path.is_file() and path.suffix.lower() != ".csv":
        raise CardError(f"{path} is neither a .csv nor a .json file; give the evaluator's CSV or JSON output.")
    files = sorted(path.glob(CSV_PATTERN)) + sorted((path / "eval").glob(CSV_PATTERN)) if path.is_dir() else [path]
    if not files:
        raise CardError(f"{path} (and its eval/) holds no {CSV_PATTERN}; run the evaluators with an output_path.")
    return _from_csv_files(files)


def refusals(results: Results, *, each_size_measured: bool = False) -> list[tuple[str, str]]:
    """Why results cannot stand, as (code, message): impossible sizes; identical metrics at every size (unless
    `each_size_measured`: the caller cut each size itself) or above the model's size. Two sizes alone may tie."""
    found = []
    for dim in results:
        try:
            check_dim(dim)
        except DimensionError as error:
            found.append(("impossible-dimension", str(error)))
    groups: dict[tuple[tuple[str, Any], ...], list[int]] = {}
    for dim, metrics in results.items():
        if metrics:
            groups.setdefault(tuple(sorted(metrics.items())), []).append(dim)
    everywhere = [] if each_size_measured else [dims for dims in groups.values() if 1 < len(dims) == len(results)]
    for dims in everywhere or [dims for dims in groups.values() if len(dims) > 1 and max(dims) > EMBEDDING_DIM]:
        why = _BEYOND if max(dims) > EMBEDDING_DIM else _SAME_VECTORS
        found.append(("duplicate-results", f"{' and '.join(map(dataset_name, dims))} report identical results: {why}."))
    return found


def _from_mapping(data: Mapping[Any, Any], where: str) -> Results:
    found: dict[int, dict[str, Any]] = {}
    if data and all(_is_dim_key(key) and isinstance(value, Mapping) for key, value in data.items()):
        for key, metrics in data.items():
            found.setdefault(int(key), {})
            for metric, value in metrics.items():
                if str(metric).removeprefix("cosine_") in METRIC_KEYS:
                    _put(found, int(key), str(metric).removeprefix("cosine_"), value, where)
        return _complete(found, where)
    for key, value in data.items():
        match = _DICT_KEY.search(str(key))
        if match is None or match.group(2) not in METRIC_KEYS:
            continue
        size = re.fullmatch(r"_([1-9]\d*)", match.group(1) or "")
        if size is None:
            raise CardError(f"{where}: the key {key!r} does not name an embedding size (dim_N, N > 0). {_NAMING_HINT}")
        _put(found, int(size.group(1)), match.group(2), value, where)
    if not found:
        sample = ", ".join(repr(key) for key in list(data)[:5]) or "nothing"
        raise CardError(f"{where} hold no dim_N_cosine_* metrics (found {sample}). {_NAMING_HINT}")
    return _complete(found, where)


def _from_csv_files(files: list[Path]) -> Results:
    found: dict[int, dict[str, Any]] = {}
    origin: dict[int, Path] = {}
    for path in files:
        name = _CSV_FILE.match(path.name)
        size = _DIM_NAME.search(name.group(1)) if name else None
        if size is None:
            raise CardError(f"Cannot tell which dimension {path} is for (no dim_N in its name). {_NAMING_HINT}")
        dim = int(size.group(1))
        if dim in origin:
            raise CardError(f"Both {origin[dim]} and {path} hold results for dim {dim}; give only one of them.")
        origin[dim] = path
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise CardError(f"Cannot read {path}: {error}.") from error
        if not rows:
            raise CardError(f"{path} has no result rows (only a header, or empty); run the evaluator again.")
        for column, value in rows[-1].items():
            match = _CSV_COLUMN.match(column or "")
            if match and match.group(1).lower() in METRIC_KEYS:
                _put(found, dim, match.group(1).lower(), value, str(path))
    return _complete(found, ", ".join(str(path) for path in files))


def _is_dim_key(key: object) -> bool:
    return not isinstance(key, bool) and bool(re.fullmatch(r"[1-9][0-9]*", str(key)))


def _put(found: dict[int, dict[str, Any]], dim: int, metric: str, value: Any, where: str) -> None:
    number = _number(value, f"{where}: dim {dim} cosine_{metric}")
    previous = found.setdefault(dim, {}).get(metric)
    if previous is not None and previous != number:
        raise CardError(f"{where} give two values for dim {dim} cosine_{metric} ({previous} and {number}).")
    found[dim][metric] = number


def is_number(value: Any) -> bool:
    """A finite number (a bool is not one), or text that reads as one."""
    try:
        return not isinstance(value, bool) and math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return False


def _number(value: Any, what: str) -> float:
    if not is_number(value) or not 0 <= float(value) <= 1:
        raise CardError(f"{what} is {value!r}, not a number between 0 and 1 as retrieval metrics are.")
    return float(value)


def _complete(found: dict[int, dict[str, Any]], where: str) -> Results:
    results: Results = {}
    for dim in sorted(found, reverse=True):
        missing = [f"cosine_{key}" for key in METRIC_KEYS if key not in found[dim]]
        if missing:
            hint = "run InformationRetrievalEvaluator with its default k values and cosine similarity"
            raise CardError(f"{where}: dim {dim} lacks {', '.join(missing)}; the card reports all 15, so {hint}.")
        results[dim] = {f"cosine_{key}": found[dim][key] for key in METRIC_KEYS}
    return results
