"""Answer questions with the procedures that match them best: one-shot hybrid search over a small corpus."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from .corpus import Procedure, load_procedures
from .errors import DataError, RetrievalError
from .fusion_weights import bm25_weight_for
from .matryoshka import check_dim, truncate
from .retrieval import BM25, MODES, FusionMethod, SearchMode, hybrid_scores


@dataclass(frozen=True)
class Hit:
    """One search result: the procedure and its score (cosine similarity, BM25 or fused, by the search mode)."""

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
    mode: SearchMode = "hybrid",
    fusion: FusionMethod = "weighted",
    bm25_weight: float | None = None,
) -> list[Hit]: ...


@overload
def search(
    model: Any,
    question: Sequence[str],
    *,
    procedures: Sequence[Procedure] | str | Path | None = None,
    dim: int | None = None,
    top_k: int = 5,
    mode: SearchMode = "hybrid",
    fusion: FusionMethod = "weighted",
    bm25_weight: float | None = None,
) -> list[list[Hit]]: ...


def search(
    model: Any,
    question: str | Sequence[str],
    *,
    procedures: Sequence[Procedure] | str | Path | None = None,
    dim: int | None = None,
    top_k: int = 5,
    mode: SearchMode = "hybrid",
    fusion: FusionMethod = "weighted",
    bm25_weight: float | None = None,
) -> list[Hit] | list[list[Hit]]:
    """The `top_k` procedures that best answer `question` (demo procedures by default), best first.

    `question` may be a list of questions: then one list of hits per question is returned, in order.
    `mode`: "hybrid" (the model and Catalan BM25 fused, see `retrieval.hybrid_scores`), "dense" (the model's
    cosine similarity) or "bm25" (no model needed). `model` is a loaded SentenceTransformer or a folder /
    Hub id; `dim` cuts its embeddings to one of MATRYOSHKA_DIMS. `bm25_weight`: the keyword side's share in
    weighted fusion (default: the model's own for that size, chosen when it was trained; see `fusion_weights`).
    """
    from .evaluation import encode

    questions = _check_questions(question)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise DataError(f"top_k must be a positive whole number of results (e.g. 5), got {top_k!r}.")
    if mode not in MODES:
        raise RetrievalError(f"Unknown search mode {mode!r}; use one of {', '.join(MODES)}.")
    if not isinstance(procedures, Sequence) or isinstance(procedures, str):
        procedures = load_procedures(procedures)
    if not procedures:
        raise DataError("The corpus holds no procedures to search: give at least one.")
    if dim is not None:
        check_dim(dim)
    texts = [p.document for p in procedures]
    if mode == "bm25":
        scores = BM25(texts).scores(questions)
    else:
        if isinstance(model, (str, Path)):
            from .hub import load

            model = load(model)
        query, documents = encode(model, questions, "query"), encode(model, texts, "document")
        if dim is not None:
            query, documents = truncate(query, dim), truncate(documents, dim)
        scores = query @ documents.T
        if mode == "hybrid":
            weight = bm25_weight_for(model, dim) if bm25_weight is None else bm25_weight
            scores = hybrid_scores(scores, BM25(texts).scores(questions), method=fusion, weight=weight)
    answers = [
        [
            Hit(procedure=procedures[i], score=float(row[i]))
            for i in np.argsort(-row, kind="stable")[:top_k]
            if np.isfinite(row[i])
        ]
        for row in scores
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
