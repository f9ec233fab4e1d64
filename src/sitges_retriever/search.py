"""Answer a question with the procedures that match it best: one-shot hybrid search over a small corpus."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .data import Procedure, load_procedures
from .errors import SitgesError
from .matryoshka import check_dim, truncate
from .retrieval import BM25, BM25_WEIGHT, FusionMethod, hybrid_scores

SearchMode = Literal["hybrid", "dense", "bm25"]


@dataclass(frozen=True)
class Hit:
    """One search result: the procedure and its score (cosine similarity, BM25 or fused, by the search mode)."""

    procedure: Procedure
    score: float


def search(
    model: Any,
    question: str,
    *,
    procedures: Sequence[Procedure] | str | Path | None = None,
    dim: int | None = None,
    top_k: int = 5,
    mode: SearchMode = "hybrid",
    fusion: FusionMethod = "weighted",
    bm25_weight: float = BM25_WEIGHT,
) -> list[Hit]:
    """The `top_k` procedures that best answer `question` (demo procedures by default), best first.

    `mode`: "hybrid" (the model and Catalan BM25 fused, see `retrieval.hybrid_scores`), "dense" (the model's
    cosine similarity) or "bm25". `model` is a loaded SentenceTransformer or a folder / Hub id; `dim` cuts
    its embeddings to one of MATRYOSHKA_DIMS.
    """
    from .evaluation import encode

    if mode not in ("hybrid", "dense", "bm25"):
        raise SitgesError(f"Unknown search mode {mode!r}; use 'hybrid', 'dense' or 'bm25'.")
    if not isinstance(procedures, Sequence) or isinstance(procedures, str):
        procedures = load_procedures(procedures)
    texts = [p.text for p in procedures]
    if dim is not None:
        check_dim(dim)
    scores = np.zeros((1, len(texts)))
    keyword = BM25(texts).scores([question]) if mode != "dense" else None
    if mode != "bm25":
        if isinstance(model, (str, Path)):
            from .hub import load

            model = load(model)
        query, documents = encode(model, [question], "query"), encode(model, texts, "document")
        if dim is not None:
            query, documents = truncate(query, dim), truncate(documents, dim)
        scores = query @ documents.T
    if keyword is not None:
        scores = keyword if mode == "bm25" else hybrid_scores(scores, keyword, method=fusion, weight=bm25_weight)
    best = np.argsort(-scores[0], kind="stable")[:top_k]
    return [Hit(procedure=procedures[i], score=float(scores[0, i])) for i in best if np.isfinite(scores[0, i])]
