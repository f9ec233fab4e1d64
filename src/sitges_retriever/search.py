"""Answer a question with the procedures that match it best (semantic search over a small corpus)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from .data import Procedure, load_procedures
from .errors import DataError
from .matryoshka import check_dim, truncate


@dataclass(frozen=True)
class Hit:
    """One search result: the procedure and its cosine similarity to the question."""

    procedure: Procedure
    score: float


@overload
def search(
    model: Any,
    question: str,
    *,
    procedures: Sequence[Procedure] | str | Path | None = None,
    dim: int | None = None,
    top_k: int = 5,
) -> list[Hit]: ...


@overload
def search(
    model: Any,
    question: Sequence[str],
    *,
    procedures: Sequence[Procedure] | str | Path | None = None,
    dim: int | None = None,
    top_k: int = 5,
) -> list[list[Hit]]: ...


def search(
    model: Any,
    question: str | Sequence[str],
    *,
    procedures: Sequence[Procedure] | str | Path | None = None,
    dim: int | None = None,
    top_k: int = 5,
) -> list[Hit] | list[list[Hit]]:
    """The `top_k` procedures closest to `question` (demo procedures by default), best first.

    `question` may be a list of questions: then one list of hits per question is returned, in order.
    `model` is a loaded SentenceTransformer or a folder / Hub id (loaded with `dim`, one of MATRYOSHKA_DIMS).
    """
    from sentence_transformers.util import semantic_search

    from .hub import load

    questions = _check_questions(question)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise DataError(f"top_k must be a positive whole number of results (e.g. 5), got {top_k!r}.")
    if not isinstance(procedures, Sequence) or isinstance(procedures, str):
        procedures = load_procedures(procedures)
    if not procedures:
        raise DataError("The corpus holds no procedures to search: give at least one.")
    if dim is not None:
        check_dim(dim)
    if isinstance(model, (str, Path)):
        model = load(model)
    # the "query"/"document" prompts by name, as encode_query/encode_document do (those need sentence-transformers 5)
    prompts = getattr(model, "prompts", None) or {}
    query = model.encode(questions, prompt_name="query" if prompts.get("query") else None, convert_to_tensor=True)
    documents = model.encode(
        [p.text for p in procedures],
        batch_size=32,
        convert_to_tensor=True,
        prompt_name="document" if prompts.get("document") else None,
    )
    if dim is not None:
        query, documents = truncate(query, dim), truncate(documents, dim)
    answers = [
        [Hit(procedure=procedures[int(hit["corpus_id"])], score=float(hit["score"])) for hit in hits]
        for hits in semantic_search(query, documents, top_k=top_k)
    ]
    return answers[0] if isinstance(question, str) else answers


def _check_questions(question: str | Sequence[str]) -> list[str]:
    """One question or a list of them, each non-empty text; else a `DataError` saying which."""
    questions = [question] if isinstance(question, str) else question
    if not isinstance(questions, Sequence) or not questions:
        raise DataError(f"Give a question (text) or a non-empty list of questions, got {question!r:.60}.")
    for index, text in enumerate(questions):
        if not isinstance(text, str) or not text.strip():
            which = "The question" if isinstance(question, str) else f"Question {index + 1}"
            raise DataError(f"{which} is empty or not text ({text!r:.60}); ask something, e.g. 'Com m'empadrono?'.")
    return list(questions)
