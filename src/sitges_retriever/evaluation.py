"""Retrieval evaluation at each trained Matryoshka dimension: the model, Catalan BM25, and the two fused."""

from __future__ import annotations

import functools
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .architecture import MATRYOSHKA_DIMS
from .data import IRTask
from .fusion_weights import bm25_weight_for
from .matryoshka import check_dim, truncate
from .metrics import CANONICAL_METRICS as CARD_METRICS  # the card's 15 metrics; BM25 reports the same names
from .metrics import dataset_type as evaluator_name  # `dim_384`: the evaluator's and the card's name of a dim
from .retrieval import BM25, BM25_WEIGHT, CATALAN, FusionMethod, KeywordAnalyzer, hybrid_scores

BASELINE_NAME = "BM25 (Catalan)"
#: The columns of the printed table (the card and `--json` carry all 15).
HEADLINE_METRICS = ("cosine_ndcg@10", "cosine_mrr@10", "cosine_recall@10", "cosine_accuracy@1", "cosine_map@100")


def build_evaluator(
    task: IRTask, dims: Sequence[int] = MATRYOSHKA_DIMS, *, batch_size: int = 32, max_seq_length: int | None = None
) -> Any:
    """One `InformationRetrievalEvaluator` per dim, named `dim_<d>`, cosine scores, in a `SequentialEvaluator`.

    Its `sequential_score` is the mean nDCG@10 over the dims. The texts are encoded once per call and cut
    to each dim (sentence-transformers' own evaluators would encode them again for every dim). With
    `max_seq_length` the model encodes at that length during evaluation, whatever it trains with.
    """
    from sentence_transformers.util import cos_sim

    dim_evaluator, matryoshka_evaluator = _evaluator_classes()
    evaluators = [
        dim_evaluator(
            queries=task.queries,
            corpus=task.corpus,
            relevant_docs=task.relevant_docs,
            name=evaluator_name(check_dim(dim)),
            truncate_dim=dim,
            score_functions={"cosine": cos_sim},
            batch_size=batch_size,
            write_csv=False,
        )
        for dim in dims
    ]
    evaluator = matryoshka_evaluator(evaluators, main_score_function=statistics.fmean)
    evaluator.max_seq_length = max_seq_length
    return evaluator


def st_evaluators() -> tuple[Any, Any]:
    """sentence-transformers' (InformationRetrievalEvaluator, SequentialEvaluator), wherever this release keeps them."""
    try:
        from sentence_transformers.sentence_transformer import evaluation  # 6.x
    except ImportError:
        from sentence_transformers import evaluation  # type: ignore[attr-defined, no-redef]  # 3.x - 5.x
    return evaluation.InformationRetrievalEvaluator, evaluation.SequentialEvaluator


@functools.cache
def _evaluator_classes() -> tuple[Any, Any]:
    """The classes subclass sentence-transformers' evaluators, so they are made when first needed."""
    InformationRetrievalEvaluator, SequentialEvaluator = st_evaluators()

    class DimEvaluator(InformationRetrievalEvaluator):  # type: ignore[misc, valid-type]  # a base chosen at run time
        """An evaluator at one dim that takes full-size embeddings from a cache shared with the other dims."""

        cache: dict[Any, Any] | None = None
        truncate_dim: int | None

        def embed_inputs(
            self,
            model: Any,
            sentences: Sequence[str],
            encode_fn_name: str | None = None,
            prompt_name: str | None = None,
            prompt: str | None = None,
            **kwargs: Any,
        ) -> Any:
            if self.cache is None:
                return super().embed_inputs(model, sentences, encode_fn_name, prompt_name, prompt, **kwargs)
            key = (encode_fn_name, prompt_name, prompt, tuple(sentences))
            if key not in self.cache:
                dim, self.truncate_dim = self.truncate_dim, None
                try:
                    self.cache[key] = super().embed_inputs(
                        model, sentences, encode_fn_name, prompt_name, prompt, **kwargs
                    )
                finally:
                    self.truncate_dim = dim
            return self.cache[key][..., : self.truncate_dim]

    class MatryoshkaEvaluator(SequentialEvaluator):  # type: ignore[misc, valid-type]
        """Evaluates every dim from one encoding of the queries and corpus per call."""

        max_seq_length: int | None = None
        reported: tuple[str, ...] | None = None  # metric names to return (None: all); e.g. a shorter training log

        def __call__(self, model: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
            cache: dict[Any, Any] = {}
            for evaluator in self.evaluators:
                evaluator.cache = cache
            length = model.max_seq_length
            model.max_seq_length = self.max_seq_length or length
            try:
                results: dict[str, float] = super().__call__(model, *args, **kwargs)
            finally:
                model.max_seq_length = length
                for evaluator in self.evaluators:
                    evaluator.cache = None
            if self.reported is None:
                return results
            names = ("sequential_score", *self.reported)
            return {k: v for k, v in results.items() if k in names or k.endswith(tuple(f"_{n}" for n in names))}

    return DimEvaluator, MatryoshkaEvaluator


@dataclass
class EvaluationReport:
    """Metrics per dimension for the model alone (`metrics`, "dense"), BM25 alone (`baseline`) and the two fused
    (`hybrid`, per dimension), each the card's 15 metrics, all on the same queries and corpus."""

    metrics: dict[int, dict[str, float]]
    baseline: dict[str, float] | None = None
    hybrid: dict[int, dict[str, float]] | None = None
    task: str = ""
    queries: int = 0
    documents: int = 0
    baseline_name: str = BASELINE_NAME
    fusion: str = ""

    def results(self) -> dict[str, float]:
        """Evaluator-style flat results of the model alone: `dim_384_cosine_ndcg@10` -> value (what the card takes)."""
        return {
            f"{evaluator_name(dim)}_{name}": value
            for dim, values in self.metrics.items()
            for name, value in values.items()
        }

    def to_dict(self) -> dict[str, Any]:
        """`{"dense": {dim: metrics}, "bm25": metrics, "hybrid": {dim: metrics}}` with bare metric names
        (`ndcg@10`), plus the task's facts: what `evaluate --json` prints."""

        def bare(values: dict[str, float]) -> dict[str, float]:
            return {name.removeprefix("cosine_"): value for name, value in values.items()}

        return {
            "task": self.task,
            "queries": self.queries,
            "documents": self.documents,
            "fusion": self.fusion,
            "dense": {str(dim): bare(values) for dim, values in self.metrics.items()},
            "bm25": bare(self.baseline) if self.baseline else None,
            "hybrid": {str(dim): bare(values) for dim, values in (self.hybrid or {}).items()} or None,
        }

    def table(self, metrics: Sequence[str] = HEADLINE_METRICS) -> str:
        """A plain-text table under 100 columns: the model per dimension, BM25, hybrid per dimension."""
        headers = ["", *(name.removeprefix("cosine_") for name in metrics)]
        named = [(f"model {evaluator_name(dim)}", values) for dim, values in self.metrics.items()]
        if self.baseline:
            named.append((self.baseline_name, self.baseline))
        named += [(f"hybrid {evaluator_name(dim)}", values) for dim, values in (self.hybrid or {}).items()]
        rows = [[label, *(f"{values[name]:.4f}" for name in metrics)] for label, values in named]
        widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
        lines = [
            "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
            for row in [headers, *rows]
        ]
        title = f"Retrieval on {self.task or 'the evaluation task'}: {self.queries} queries, {self.documents} documents"
        fusion = [f"hybrid: {self.fusion}"] if self.hybrid else []
        return "\n".join([title, *lines, *fusion])

    def __str__(self) -> str:
        return self.table()


def evaluate(
    model: Any,
    task: IRTask,
    *,
    dims: Sequence[int] = MATRYOSHKA_DIMS,
    baseline: bool = True,
    batch_size: int = 32,
    fusion: FusionMethod = "weighted",
    bm25_weight: float | None = None,
) -> EvaluationReport:
    """Evaluate a model (a `SentenceTransformer`, folder or Hub id) on `task` at each of `dims`; with `baseline`,
    also Catalan BM25 and the hybrid of both (`fusion`, `bm25_weight`; see `retrieval.hybrid_scores`). Without
    `bm25_weight`, each size is fused with the model's own weight (`fusion_weights.bm25_weight_for`).

    Questions and documents are encoded once, with the model's "query" / "document" prompts, and cut to each
    dimension; every ranking is scored by `InformationRetrievalEvaluator.compute_metrics`, the code that
    scores the model during training.
    """
    if isinstance(model, (str, Path)):
        from .hub import load

        model = load(model)
    for dim in dims:
        check_dim(dim)
    scorer = st_evaluators()[0](task.queries, task.corpus, task.relevant_docs, write_csv=False)
    queries = encode(model, scorer.queries, "query", batch_size=batch_size)
    documents = encode(model, scorer.corpus, "document", batch_size=batch_size)
    keyword = BM25(scorer.corpus).scores(scorer.queries) if baseline else None
    dense_metrics, hybrid_metrics, weights = {}, {}, {}
    for dim in dims:
        dense = truncate(queries, dim) @ truncate(documents, dim).T
        dense_metrics[dim] = _metrics(scorer, dense)
        if keyword is not None:
            weights[dim] = bm25_weight_for(model, dim) if bm25_weight is None else bm25_weight
            hybrid = hybrid_scores(dense, keyword, method=fusion, weight=weights[dim])
            hybrid_metrics[dim] = _metrics(scorer, hybrid)
    return EvaluationReport(
        metrics=dense_metrics,
        baseline=_metrics(scorer, keyword) if keyword is not None else None,
        hybrid=hybrid_metrics or None,
        task=task.name,
        queries=sum(1 for qid in task.queries if task.relevant_docs.get(qid)),
        documents=len(task.corpus),
        fusion=_describe_fusion(fusion, weights),
    )


#: The BM25 weights `choose_bm25_weights` tries.
WEIGHT_GRID: tuple[float, ...] = tuple(round(0.1 * step, 1) for step in range(11))
#: How clearly a weight must beat `BM25_WEIGHT` to replace it: by this many standard errors of the per-question
#: differences (a heuristic: the best of 11 weights is picked first, so it is no formal test). Taking the best mean
#: alone on 30 questions did worse on held-out ViquiQuAD than keeping 0.5, and this rule no worse
#: (benchmarks/README.md): a few questions rank many weights alike, and the best of them is mostly luck.
CLEAR_GAIN = 2.0


def choose_bm25_weights(
    model: Any, task: IRTask, *, dims: Sequence[int] = MATRYOSHKA_DIMS, batch_size: int = 32
) -> dict[int, float]:
    """The BM25 weight of weighted fusion per size: the weight of `WEIGHT_GRID` that ranks `task` best (mean
    nDCG@10) when it beats `BM25_WEIGHT` clearly (`CLEAR_GAIN`), else `BM25_WEIGHT`.

    Give it a validation task, never the one reported. Ties go to the weight nearest `BM25_WEIGHT`.
    """
    queries = encode(model, list(task.queries.values()), "query", batch_size=batch_size)
    documents = encode(model, list(task.corpus.values()), "document", batch_size=batch_size)
    keyword = BM25(list(task.corpus.values())).scores(list(task.queries.values()))
    grid = weight_grid_ndcg(queries, documents, keyword, task, dims)
    return {dim: clear_winner(per_weight) for dim, per_weight in grid.items()}


def weight_grid_ndcg(
    queries: np.ndarray, documents: np.ndarray, keyword: np.ndarray, task: IRTask, dims: Sequence[int]
) -> dict[int, dict[float, np.ndarray]]:
    """Per size, each `WEIGHT_GRID` weight's per-question nDCG@10 on `task` for weighted fusion of the encoded
    `queries` and `documents` (cut to the size) with the BM25 scores `keyword`."""
    grid = {}
    for dim in dims:
        dense = truncate(queries, check_dim(dim)) @ truncate(documents, dim).T
        grid[dim] = {w: per_query_ndcg(hybrid_scores(dense, keyword, weight=w), task) for w in WEIGHT_GRID}
    return grid


def clear_winner(per_question: Mapping[float, np.ndarray], default: float = BM25_WEIGHT) -> float:
    """The weight whose per-question scores have the best mean, if it beats `default`'s by more than `CLEAR_GAIN`
    standard errors of the paired differences; else `default`."""
    if default not in per_question:
        raise ValueError(f"The weights tried ({sorted(per_question)}) must include the default {default}.")
    best = max(per_question, key=lambda w: (float(per_question[w].mean()), -abs(w - default)))
    gain = per_question[best] - per_question[default]
    error = gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else np.inf
    return best if gain.mean() > CLEAR_GAIN * error else default


def per_query_ndcg(scores: np.ndarray, task: IRTask, k: int = 10) -> np.ndarray:
    """nDCG@k of each query of `task` (in `task.queries` order) ranked by `scores` (queries x `task.corpus`), with
    the evaluator's binary gains: its mean is the evaluator's, up to the order of tied scores, and where every query
    has a relevant document (the evaluator skips one without; here it scores 0). By hand: the evaluator reports only
    the mean, and the weight choice needs each query's."""
    doc_ids = list(task.corpus)
    discounts = 1 / np.log2(np.arange(2, k + 2))
    ranked = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    values = []
    for qid, top, row in zip(task.queries, ranked, scores, strict=True):
        relevant = task.relevant_docs.get(qid, set())
        gains = np.array([doc_ids[i] in relevant and np.isfinite(row[i]) for i in top], dtype=float)
        ideal = discounts[: min(len(relevant), k)].sum()
        values.append(float(gains @ discounts[: len(gains)] / ideal) if ideal else 0.0)  # a corpus under k
    return np.array(values)


def _describe_fusion(fusion: str, weights: dict[int, float]) -> str:
    if fusion != "weighted" or not weights:
        return fusion
    if len(set(weights.values())) == 1:
        return f"weighted, BM25 weight {next(iter(weights.values())):g}"
    return "weighted, BM25 weight " + ", ".join(f"{weight:g} at {dim}" for dim, weight in weights.items())


def encode(model: Any, texts: Sequence[str], prompt: str, *, batch_size: int = 32) -> np.ndarray:
    """Unit-length float32 embeddings of `texts` with the model's `prompt` ("query" / "document") if it has one.

    `prompt_name=` rather than `encode_query` / `encode_document`: those need sentence-transformers 5.
    """
    name = prompt if (getattr(model, "prompts", None) or {}).get(prompt) else None
    embeddings = model.encode(
        list(texts), prompt_name=name, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True
    )
    return np.asarray(embeddings, dtype=np.float32)


def _metrics(scorer: Any, scores: np.ndarray) -> dict[str, float]:
    """The card's 15 metrics of the rankings that `scores` (queries x documents, -inf: not retrieved) give."""
    depth = min(max(scorer.map_at_k), scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
    hits = [
        [{"corpus_id": scorer.corpus_ids[doc], "score": float(row[doc])} for doc in docs if np.isfinite(row[doc])]
        for docs, row in zip(top, scores, strict=True)
    ]
    computed = scorer.compute_metrics(hits)
    flat = {
        f"cosine_{metric.replace('@k', f'@{k}')}": float(value)
        for metric, per_k in computed.items()
        for k, value in per_k.items()
    }
    return {name: flat[name] for name in CARD_METRICS}


def bm25_baseline(task: IRTask, *, analyzer: KeywordAnalyzer = CATALAN) -> dict[str, float]:
    """The card's 15 metrics for BM25 alone (`retrieval.BM25`, Catalan-stemmed words by default) on `task`."""
    scorer = st_evaluators()[0](task.queries, task.corpus, task.relevant_docs, write_csv=False)
    return _metrics(scorer, BM25(scorer.corpus, analyzer=analyzer).scores(scorer.queries))
