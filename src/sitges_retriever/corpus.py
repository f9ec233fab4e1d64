"""The procedures to search: the demo set shipped in the package, or a user's corpus file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .data import DEMO_FILE, file_rows, record_text
from .errors import DataError


@dataclass(frozen=True)
class Procedure:
    """One procedure of a searchable corpus: its title and text (both searched: `document`), shown by title."""

    id: str
    title: str
    text: str
    questions: tuple[str, ...] = field(default=())
    #: The corpus row's other fields (e.g. url, category), kept for an index's payload.
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def document(self) -> str:
        """What is embedded and keyword-indexed: the title, then the text. A procedure's name holds the words
        citizens ask with ("alta", "padró"); a title that only repeats the text's start is left out."""
        if not self.title.strip() or self.title == _title(self.text):
            return self.text
        return f"{self.title}\n{self.text}"


def demo_path() -> Path:
    """The Catalan demo procedures shipped in the package (illustrative, not official text)."""
    return Path(str(resources.files("sitges_retriever") / "data" / DEMO_FILE))


def load_procedures(path: str | Path | None = None) -> list[Procedure]:
    """Procedures to search: the demo set by default, or a file of them.

    A file may be JSONL/JSON/CSV/Parquet rows with `text` (and optional `title`, `id`, `questions`), rows of
    pairs (their distinct `positive` texts), or a corpus.json mapping ids to texts.
    """
    path = demo_path() if path is None else Path(path)
    if path.suffix.lower() == ".json" and path.is_file() and isinstance(corpus := _json_maybe(path), dict):
        for key, text in corpus.items():
            record_text({"text": text}, "text", f"{path}, entry {key!r}")
        if not corpus:
            raise DataError(f'{path} holds no procedures: map ids to procedure texts, e.g. {{"p1": "..."}}.')
        return [Procedure(id=str(key), title=_title(text), text=text) for key, text in corpus.items()]
    procedures: list[Procedure] = []
    seen: set[str] = set()
    for where, record in file_rows(path):
        if isinstance(record, Mapping) and "text" not in record and "positive" in record:
            text = record_text(record, "positive", where)
            if text not in seen:
                seen.add(text)
                procedures.append(Procedure(id=str(len(procedures)), title=_title(text), text=text))
            continue
        text = record_text(record, "text", where)
        questions = record.get("questions") or ()
        if not isinstance(questions, (list, tuple)) or not all(isinstance(q, str) and q.strip() for q in questions):
            raise DataError(f"{where}: 'questions' must be a list of non-empty texts.")
        title = record.get("title") or _title(text)
        procedures.append(
            Procedure(
                id=str(record.get("id", len(procedures))),
                title=str(title),
                text=text,
                questions=tuple(questions),
                extra={k: v for k, v in record.items() if k not in ("id", "title", "text", "questions")},
            )
        )
    if not procedures:
        raise DataError(f"{path} holds no procedures: add rows with a 'text' (or 'positive') column.")
    return procedures


def _json_maybe(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, RecursionError):
        return None  # file_rows reports the error with its line


def _title(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"
