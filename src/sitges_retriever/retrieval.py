"""Keyword search in Catalan (BM25 over stemmed words) and the fusion of its scores with the model's.

One place for both, so evaluation, mining, one-shot search and the index rank the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .errors import MissingDependencyError, RetrievalError

#: k1 and b: the best mean gain over every ViquiQuAD question and the demo's unreported ones, of k1 0.9-2.5 and
#: b 0.1-0.75 (+0.007 and +0.006 nDCG@10 over the usual 1.2 / 0.75; benchmarks/tune_bm25.py).
BM25_PARAMETERS = {"k1": 1.5, "b": 0.3}
FusionMethod = Literal["weighted", "rrf"]
#: How search ranks: the model and BM25 fused, the model alone, BM25 alone (one-shot search and the index alike).
SearchMode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")
#: The keyword side's share in weighted fusion for a model without its own weights (hybrid.json), and the one
#: training keeps unless another is clearly better; on held-out ViquiQuAD pairs within about 0.01 of the best weight
#: at every size (benchmarks/README.md).
BM25_WEIGHT = 0.5
#: Reciprocal-rank fusion's constant (Cormack et al. 2009).
RRF_K = 60
#: Hybrid ranking fuses each query's candidates: its top HYBRID_DEPTH documents by either side.
HYBRID_DEPTH = 100


@dataclass(frozen=True)
class KeywordAnalyzer:
    """How texts become BM25 terms: lower-cased words of two letters or more, Catalan-stemmed (Snowball, via
    PyStemmer), optionally without Catalan stop words (the stopwords-iso list)."""

    stem: bool = True
    stopwords: bool = False

    def tokenizer(self) -> Any:
        import bm25s

        return bm25s.tokenization.Tokenizer(
            lower=True, stopwords=list(catalan_stopwords()) if self.stopwords else None, stemmer=_stemmer(self.stem)
        )

    def terms(self, texts: Sequence[str]) -> list[list[str]]:
        """Each text's terms, in order (what a sparse vector or an inverted index counts)."""
        return [
            list(terms) for terms in self.tokenizer().tokenize(list(texts), return_as="string", show_progress=False)
        ]


CATALAN = KeywordAnalyzer(stem=True, stopwords=False)
#: The BM25 before this release: words only, no stemming (kept for the benchmark's comparison).
PLAIN = KeywordAnalyzer(stem=False, stopwords=False)


@functools.cache
def catalan_stopwords() -> frozenset[str]:
    try:
        import stopwordsiso
    except ImportError as error:
        raise MissingDependencyError(
            "Catalan stop words need the stopwordsiso package: pip install stopwordsiso."
        ) from error
    return frozenset(stopwordsiso.stopwords("ca"))


def _stemmer(stem: bool) -> Any:
    if not stem:
        return None
    try:
        import Stemmer
    except ImportError as error:
        raise MissingDependencyError(
            "The Catalan BM25 needs PyStemmer: pip install PyStemmer (the `train` extra has it)."
        ) from error
    return Stemmer.Stemmer("catalan")


class BM25:
    """A BM25 index over a corpus (bm25s), scoring queries with every document or ranking the top k."""

    def __init__(self, corpus: Sequence[str], *, analyzer: KeywordAnalyzer = CATALAN, **parameters: float):
        import bm25s

        self.analyzer = analyzer
        self._tokenizer = analyzer.tokenizer()
        self._index = bm25s.BM25(**{**BM25_PARAMETERS, **parameters})
        tokens = self._tokenizer.tokenize(list(corpus), return_as="ids", show_progress=False)
        self._index.index(tokens, show_progress=False)
        self.size = len(corpus)

    def _query_ids(self, queries: Sequence[str]) -> list[list[int]]:
        ids: list[list[int]] = self._tokenizer.tokenize(
            list(queries), update_vocab=False, return_as="ids", show_progress=False
        )
        return ids

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """A (queries, documents) array of BM25 scores."""
        ids = self._query_ids(queries)
        return np.stack([self._index.get_scores(query) for query in ids]) if ids else np.zeros((0, self.size))

    def rank(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Each query's top `k` document indices and their scores, best first."""
        documents, scores = self._index.retrieve(
            self._query_ids(queries), k=min(k, self.size), show_progress=False, n_threads=1
        )
        return documents, scores


def normalize_scores(scores: np.ndarray) -> np.ndarray:
    """Min-max per row (per query) to [0, 1]; a row with one value everywhere becomes zeros."""
    scores = np.asarray(scores, dtype=np.float64)
    low = scores.min(axis=-1, keepdims=True)
    span = scores.max(axis=-1, keepdims=True) - low
    normalized: np.ndarray = np.divide(scores - low, span, out=np.zeros_like(scores), where=span > 0)
    return normalized


def fuse(
    dense: np.ndarray,
    keyword: np.ndarray,
    *,
    method: FusionMethod = "weighted",
    weight: float = BM25_WEIGHT,
    rrf_k: int = RRF_K,
) -> np.ndarray:
    """Hybrid scores from (queries, documents) arrays of dense and keyword scores over the same documents.

    "weighted": `(1 - weight) * dense + weight * keyword`, each min-max normalised per query;
    "rrf": `1 / (rrf_k + rank_dense) + 1 / (rrf_k + rank_keyword)` (ranks from 1).
    """
    dense, keyword = np.atleast_2d(dense), np.atleast_2d(keyword)
    if dense.shape != keyword.shape:
        raise RetrievalError(
            f"dense scores {dense.shape} and keyword scores {keyword.shape} must cover the same documents"
        )
    if method == "weighted":
        if not 0 <= weight <= 1:
            raise RetrievalError(f"The keyword weight must be between 0 and 1, not {weight}.")
        return (1 - weight) * normalize_scores(dense) + weight * normalize_scores(keyword)
    if method == "rrf":
        return 1 / (rrf_k + _ranks(dense)) + 1 / (rrf_k + _ranks(keyword))
    raise RetrievalError(f"Unknown fusion method {method!r}; use 'weighted' or 'rrf'.")


def hybrid_scores(
    dense: np.ndarray,
    keyword: np.ndarray,
    *,
    method: FusionMethod = "weighted",
    weight: float = BM25_WEIGHT,
    depth: int = HYBRID_DEPTH,
) -> np.ndarray:
    """Hybrid scores for (queries, documents) arrays: each query's candidates are its top `depth` documents by
    dense score and its top `depth` by keyword score (among those with a positive one), fused among themselves
    with `fuse`; every other document gets -inf.

    Fusing over the candidates, not the whole corpus, is what an index can compute (prefetch both sides, then
    look up the other side's score of each candidate), so the index ranks exactly as evaluation does.
    """
    dense, keyword = np.atleast_2d(dense), np.atleast_2d(keyword)
    out = np.full(dense.shape, -np.inf)
    k = min(depth, dense.shape[-1])
    for row, (d, w) in enumerate(zip(dense, keyword, strict=True)):
        matched = np.flatnonzero(w > 0)  # a document sharing no term with the question is no keyword candidate
        keyword_top = matched[np.argsort(-w[matched], kind="stable")[:k]]
        candidates = np.union1d(np.argpartition(-d, k - 1)[:k], keyword_top)
        out[row, candidates] = fuse(d[candidates], w[candidates], method=method, weight=weight)[0]
    return out


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1 for each row's best score, 2 for the next, ... (ties broken by position)."""
    order = np.argsort(-scores, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, scores.shape[-1] + 1)[None, :].repeat(len(scores), 0), axis=-1)
    return ranks.astype(np.float64)
