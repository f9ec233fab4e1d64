"""Answer a question with the procedures that match it best (semantic search over a small corpus)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .data import Procedure, load_procedures
from .matryoshka import check_dim, truncate


@dataclass(frozen=True)
class Hit:
    """One search result: the procedure and its cosine similarity to the question."""

    procedure: Procedure
    score: float


def search(
    model: Any,
    question: str,
    *,
    procedures: Sequence[Procedure] | str | Path | None = None,
    dim: int | None = None,
    top_k: int = 5,
) -> list[Hit]:
    """The `top_k` procedures closest to `question` (demo procedures by default), best first.

    `model` is a loaded SentenceTransformer or a folder / Hub id (loaded with `dim`, one of MATRYOSHKA_DIMS).
    """
    from sentence_transformers.util import semantic_search

    from .hub import load

    if not isinstance(procedures, Sequence) or isinstance(procedures, str):
        procedures = load_procedures(procedures)
    if dim is not None:
        check_dim(dim)
    if isinstance(model, (str, Path)):
        model = load(model)
    # the "query"/"document" prompts by name, as encode_query/encode_document do (those need sentence-transformers 5)
    prompts = getattr(model, "prompts", None) or {}
    query = model.encode([question], prompt_name="query" if prompts.get("query") else None, convert_to_tensor=True)
    documents = model.encode([p.text for p in procedures], batch_size=32, convert_to_tensor=True,
                             prompt_name="document" if prompts.get("document") else None)
    if dim is not None:
        query, documents = truncate(query, dim), truncate(documents, dim)
    hits = semantic_search(query, documents, top_k=top_k)[0]
    return [Hit(procedure=procedures[hit["corpus_id"]], score=float(hit["score"])) for hit in hits]
