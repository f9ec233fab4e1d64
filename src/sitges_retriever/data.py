"""Training and evaluation data: (positive, anchor) pairs, the held-out split, IR tasks and the demo set.

Pairs use the model card's columns: `positive` (procedure text) and `anchor` (the citizen's question).
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from datasets import Dataset

from .errors import DataError

COLUMNS: tuple[str, str] = ("positive", "anchor")
PAIR_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
IR_FILES = ("queries.json", "corpus.json", "relevant_docs.json")
DEMO_FILE = "demo_procedures.jsonl"


@dataclass(frozen=True)
class Pairs:
    """Validated (positive, anchor) pairs, exact duplicates already dropped."""

    positive: tuple[str, ...]
    anchor: tuple[str, ...]
    duplicates_dropped: int = 0

    def __len__(self) -> int:
        return len(self.positive)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(zip(self.positive, self.anchor, strict=True))

    def to_dataset(self) -> Dataset:
        """A `datasets.Dataset` with columns (anchor, positive): the order the ranking losses expect."""
        from datasets import Dataset

        return Dataset.from_dict({"anchor": list(self.anchor), "positive": list(self.positive)})


@dataclass(frozen=True)
class IRTask:
    """A retrieval task for `InformationRetrievalEvaluator`: queries, a corpus and each query's relevant docs."""

    queries: dict[str, str]
    corpus: dict[str, str]
    relevant_docs: dict[str, set[str]]
    name: str = "held-out"

    def __post_init__(self) -> None:
        if not self.queries or not self.corpus:
            raise DataError(f"The evaluation task {self.name!r} needs at least one query and one document.")
        unknown = {doc for docs in self.relevant_docs.values() for doc in docs} - self.corpus.keys()
        if unknown:
            raise DataError(
                f"The evaluation task {self.name!r} marks {len(unknown)} document ids as relevant that are not in "
                f"its corpus (e.g. {sorted(unknown)[:3]}); relevant_docs must only name corpus ids."
            )
        if not any(self.relevant_docs.get(qid) for qid in self.queries):
            raise DataError(f"No query of the evaluation task {self.name!r} has a relevant document.")


# --------------------------------------------------------------------------- pairs in


def read_pairs(source: str | Path | Sequence[str | Path] | Pairs | Any) -> Pairs:
    """Read and validate pairs from JSONL / JSON / CSV / Parquet files (one or several) or a `datasets.Dataset`.

    Raises `DataError` naming the file and line (or row) of a missing column, an empty or non-text value,
    or an unreadable file. Exact duplicate pairs are dropped and counted in `Pairs.duplicates_dropped`.
    """
    if isinstance(source, Pairs):
        return source
    if hasattr(source, "column_names") and hasattr(source, "__getitem__"):
        if missing := [column for column in COLUMNS if column not in source.column_names]:
            raise DataError(
                f"The dataset has no column {missing[0]!r} (columns: {', '.join(source.column_names) or 'none'}); "
                f"pairs need {' and '.join(COLUMNS)}: rename yours with dataset.rename_column(old, new)."
            )
        return _collect(
            ((f"dataset row {i}", record) for i, record in enumerate(cast(Iterable[Any], source), start=1)),
            "The dataset",
        )
    paths = [source] if isinstance(source, (str, Path)) else list(source)
    if not paths:
        raise DataError("No data files given: pass at least one .jsonl, .json, .csv or .parquet file of pairs.")
    return _collect((row for path in paths for row in file_rows(Path(path))), ", ".join(map(str, paths)))


def _collect(rows: Iterable[tuple[str, Any]], description: str) -> Pairs:
    seen: dict[tuple[str, str], None] = {}
    duplicates = 0
    for where, record in rows:
        pair = (record_text(record, COLUMNS[0], where), record_text(record, COLUMNS[1], where))
        if pair in seen:
            duplicates += 1
        else:
            seen[pair] = None
    if not seen:
        raise DataError(f"{description} holds no pairs: add rows with the columns {' and '.join(COLUMNS)}.")
    positive, anchor = zip(*seen, strict=True)
    return Pairs(positive=tuple(positive), anchor=tuple(anchor), duplicates_dropped=duplicates)


def record_text(record: Any, column: str, where: str) -> str:
    if not isinstance(record, Mapping):
        raise DataError(f"{where}: expected an object with {' and '.join(COLUMNS)}, got {type(record).__name__}.")
    if column not in record:
        found = _names(record) or "none"
        raise DataError(
            f"{where}: missing column {column!r} (found: {found}). Each pair needs {' and '.join(COLUMNS)}: "
            "the procedure text and the question."
        )
    value = record[column]
    if not isinstance(value, str):
        raise DataError(f"{where}: {column!r} must be text, got {type(value).__name__} {value!r:.60}.")
    if not value.strip():
        raise DataError(f"{where}: {column!r} is empty; give every pair a non-empty {column}.")
    return value


def _names(names: Iterable[Any]) -> str:
    """Column names for a message, one line whatever they hold."""
    return ", ".join(str(name) if str(name).isprintable() else repr(name) for name in names)


def file_rows(path: Path) -> Iterator[tuple[str, Any]]:
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a .jsonl, .json, .csv or .parquet file.")
    if not path.is_file():
        raise DataError(f"{path}: no such file; give the path of a .jsonl, .json, .csv or .parquet file of pairs.")
    suffix = path.suffix.lower()
    readers = {".jsonl": _jsonl_rows, ".json": _json_rows, ".csv": _csv_rows, ".parquet": _parquet_rows}
    if suffix not in readers:
        raise DataError(f"{path}: unknown file type {suffix!r}; use one of {', '.join(PAIR_SUFFIXES)}.")
    try:
        yield from readers[suffix](path)
    except DataError:
        raise
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8.") from error
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error}).") from error
    except (ValueError, RecursionError) as error:  # e.g. a number too long for int(), nesting too deep
        raise DataError(f"{path}: cannot be read as {suffix[1:].upper()} ({error}).") from None


def _jsonl_rows(path: Path) -> Iterator[tuple[str, Any]]:
    # Hand-written so that an error can name the line; datasets' JSON loader cannot.
    first = True
    with path.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                if first and line.lstrip().startswith("["):
                    raise DataError(_MIXED_UP.format(path=path, found="a JSON array", suffix=".json")) from None
                raise DataError(f"{path}, line {number}: not valid JSON ({error.msg}, column {error.colno}).") from None
            if first and isinstance(record, list) and all(isinstance(item, Mapping) for item in record):
                raise DataError(_MIXED_UP.format(path=path, found="a JSON array", suffix=".json"))
            first = False
            yield f"{path}, line {number}", record


def _json_rows(path: Path) -> Iterator[tuple[str, Any]]:
    text = path.read_text(encoding="utf-8-sig")
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data" and _is_json_object(text[: error.pos]):
            raise DataError(
                _MIXED_UP.format(path=path, found="JSON Lines (one object per line)", suffix=".jsonl")
            ) from None
        raise DataError(f"{path}, line {error.lineno}: not valid JSON ({error.msg}).") from None
    if isinstance(content, Mapping) and all(isinstance(content.get(c), list) for c in COLUMNS):
        if len(content[COLUMNS[0]]) != len(content[COLUMNS[1]]):
            raise DataError(f"{path}: the columns {' and '.join(COLUMNS)} have different lengths.")
        content = [
            dict(zip(COLUMNS, values, strict=True)) for values in zip(*(content[c] for c in COLUMNS), strict=True)
        ]
    if not isinstance(content, list):
        raise DataError(
            f"{path}: expected a list of {{{', '.join(map(repr, COLUMNS))}}} objects, or an object with a list per "
            "column; for an evaluation folder (queries.json, corpus.json, relevant_docs.json) pass the folder."
        )
    for index, record in enumerate(content, start=1):
        yield f"{path}, item {index}", record


_MIXED_UP = "{path} holds {found}, which is not what its suffix says: rename it to {suffix}."


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _csv_rows(path: Path) -> Iterator[tuple[str, Any]]:
    # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, strict=True)
        while True:
            line = reader.line_num + 1
            try:
                if reader.fieldnames is None:  # an empty file
                    return
                line = reader.line_num + 1
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                if "unexpected end of data" in str(error):
                    raise DataError(
                        f"{path}, line {line}: a quoted field is never closed (a '\"' without its closing one); "
                        'close it, and write a quote inside a field as "".'
                    ) from None
                raise DataError(f"{path}, line {line}: not valid CSV ({error}).") from None
            where = f"{path}, line {reader.line_num}"
            if None in record:
                raise DataError(
                    f"{where}: more fields than the header ({_names(reader.fieldnames or [])}); "
                    'quote a value that holds a comma, e.g. "El tràmit, que es fa a la seu".'
                )
            if None in record.values():
                raise DataError(f"{where}: fewer fields than the header ({_names(reader.fieldnames or [])}).")
            yield where, record


def _parquet_rows(path: Path) -> Iterator[tuple[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except pa.ArrowException as error:
        raise DataError(f"{path}: not a readable Parquet file ({error}).") from None
    for index, record in enumerate(table.to_pylist(), start=1):
        yield f"{path}, row {index}", record


# --------------------------------------------------------------------------- split and IR tasks


def split_pairs(pairs: Pairs, *, test_size: float = 0.1, seed: int = 42) -> tuple[Pairs, Pairs]:
    """Split into (train, held_out) by positive, deterministically by `seed`.

    Every pair of one positive lands on the same side, so no procedure text is on both sides. Positives are
    drawn in seeded order until the held-out side holds about `test_size` of the pairs (at least one positive).
    """
    if not 0 < test_size < 1:
        raise DataError(f"test_size must be between 0 and 1 (e.g. 0.1), got {test_size}.")
    positives = sorted(set(pairs.positive))
    if len(positives) < 2:
        raise DataError(
            "A held-out split needs at least two different positives (procedure texts); add more data, "
            "or give an evaluation folder with queries.json, corpus.json and relevant_docs.json."
        )
    random.Random(seed).shuffle(positives)
    per_positive: dict[str, int] = {}
    for positive in pairs.positive:
        per_positive[positive] = per_positive.get(positive, 0) + 1
    target, held, held_out = test_size * len(pairs), 0, set()
    for positive in positives[:-1]:  # the last one always stays in training
        if held >= target:
            break
        held_out.add(positive)
        held += per_positive[positive]
    train = [(p, a) for p, a in pairs if p not in held_out]
    test = [(p, a) for p, a in pairs if p in held_out]
    return _pairs(train), _pairs(test)


def _pairs(rows: list[tuple[str, str]]) -> Pairs:
    return Pairs(positive=tuple(p for p, _ in rows), anchor=tuple(a for _, a in rows))


def ir_task_from_pairs(held_out: Pairs, corpus: Iterable[str] = (), *, name: str = "held-out") -> IRTask:
    """An IR task: queries are the held-out anchors, the corpus every positive (`corpus` plus the held-out ones).

    Pass the training positives as `corpus` so held-out questions must find their procedure among all of them.
    """
    documents = list(dict.fromkeys([*corpus, *held_out.positive]))
    doc_ids = {text: f"d{index}" for index, text in enumerate(documents)}
    query_ids: dict[str, str] = {}
    relevant: dict[str, set[str]] = {}
    for positive, anchor in held_out:
        qid = query_ids.setdefault(anchor, f"q{len(query_ids)}")
        relevant.setdefault(qid, set()).add(doc_ids[positive])
    return IRTask(
        queries={qid: text for text, qid in query_ids.items()},
        corpus={doc_id: text for text, doc_id in doc_ids.items()},
        relevant_docs=relevant,
        name=name,
    )


def load_ir_folder(folder: str | Path) -> IRTask:
    """Read an evaluation folder: queries.json {qid: text}, corpus.json {doc_id: text}, relevant_docs.json."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; give a folder with {', '.join(IR_FILES)}.")
    missing = [name for name in IR_FILES if not (folder / name).is_file()]
    if missing:
        raise DataError(f"{folder} lacks {', '.join(missing)}; an evaluation folder needs {', '.join(IR_FILES)}.")
    queries, corpus, relevant = (_json_object(folder / name) for name in IR_FILES)
    for path, content in ((folder / "queries.json", queries), (folder / "corpus.json", corpus)):
        for key, value in content.items():
            if not isinstance(value, str) or not value.strip():
                raise DataError(f"{path}: the entry {key!r} must be non-empty text, got {value!r:.60}.")
    relevant_docs: dict[str, set[str]] = {}
    for qid, docs in relevant.items():
        docs = [docs] if isinstance(docs, str) else docs
        if not isinstance(docs, list) or not all(isinstance(doc, (str, int)) for doc in docs):
            raise DataError(f"{folder / 'relevant_docs.json'}: {qid!r} must map to a list of document ids.")
        relevant_docs[str(qid)] = {str(doc) for doc in docs}
    return IRTask(queries=queries, corpus=corpus, relevant_docs=relevant_docs, name=folder.name)


def _json_object(path: Path) -> dict[str, Any]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataError(f"{path}, line {error.lineno}: not valid JSON ({error.msg}).") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot be read as UTF-8 JSON ({error}).") from None
    if not isinstance(content, dict):
        raise DataError(f"{path}: expected a JSON object mapping ids to values, got {type(content).__name__}.")
    return {str(key): value for key, value in content.items()}


def demo_pairs() -> Pairs:
    """The demo set as pairs: each procedure's document (title and text) with each of its questions."""
    from .corpus import demo_path, load_procedures

    rows = [
        (f"{demo_path()}, procedure {p.id}", {"positive": p.document, "anchor": question})
        for p in load_procedures()
        for question in p.questions
    ]
    return _collect(rows, str(demo_path()))
