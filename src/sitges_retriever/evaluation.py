"""Retrieval evaluation at each trained Matryoshka dimension, beside a BM25 keyword-search baseline."""

from __future__ import annotations

import functools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .architecture import MATRYOSHKA_DIMS
from .data import IRTask
from .matryoshka import check_dim
from .metrics import CANONICAL_METRICS as CARD_METRICS  # the card's 15 metrics; BM25 reports the same names
from .metrics import dataset_type as evaluator_name  # `dim_384`: the evaluator's and the card's name of a dim

BASELINE_NAME = "BM25"
BM25_PARAMETERS = {"k1": 1.2, "b": 0.75}


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
    """Metrics per dimension (dim -> the 15 card metrics) and the BM25 baseline on the same task."""

    metrics: dict[int, dict[str, float]]
    baseline: dict[str, float] | None = None
    task: str = ""
    queries: int = 0
    documents: int = 0
    baseline_name: str = BASELINE_NAME
    raw: dict[str, float] = field(default_factory=dict, repr=False)

    def results(self) -> dict[str, float]:
        """Evaluator-style flat results: `dim_384_cosine_ndcg@10` -> value."""
        return {
            f"{evaluator_name(dim)}_{name}": value
            for dim, values in self.metrics.items()
            for name, value in values.items()
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "queries": self.queries,
            "documents": self.documents,
            "metrics": {str(dim): values for dim, values in self.metrics.items()},
            "baseline": {"name": self.baseline_name, "metrics": self.baseline} if self.baseline else None,
        }

    def table(self, metrics: Sequence[str] = CARD_METRICS) -> str:
        """A plain-text table: one row per dimension, then the BM25 row; one column per metric."""
        headers = ["", *(name.removeprefix("cosine_") for name in metrics)]
        rows = [
            [evaluator_name(dim), *(f"{values[name]:.4f}" for name in metrics)] for dim, values in self.metrics.items()
        ]
        if self.baseline:
            rows.append([self.baseline_name, *(f"{self.baseline[name]:.4f}" for name in metrics)])
        widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
        lines = [
            "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in [headers, *rows]
        ]
        title = f"Retrieval on {self.task or 'the evaluation task'}: {self.queries} queries, {self.documents} documents"
        return "\n".join([title, *lines])

    def __str__(self) -> str:
        return self.table()


def evaluate(
    model: Any,
    task: IRTask,
    *,
    dims: Sequence[int] = MATRYOSHKA_DIMS,
    baseline: bool = True,
    batch_size: int = 32,
) -> EvaluationReport:
    """Evaluate a model (a `SentenceTransformer`, folder or Hub id) on `task` at each of `dims`, plus BM25."""
    if isinstance(model, (str, Path)):
        from .hub import load

        model = load(model)
    raw = build_evaluator(task, dims, batch_size=batch_size)(model)
    metrics = {dim: {name: float(raw[f"{evaluator_name(dim)}_{name}"]) for name in CARD_METRICS} for dim in dims}
    return EvaluationReport(
        metrics=metrics,
        baseline=bm25_baseline(task) if baseline else None,
        task=task.name,
        queries=sum(1 for qid in task.queries if task.relevant_docs.get(qid)),
        documents=len(task.corpus),
        raw={key: float(value) for key, value in raw.items() if key != "sequential_score"},
    )


def bm25_baseline(
    task: IRTask, *, k1: float = BM25_PARAMETERS["k1"], b: float = BM25_PARAMETERS["b"]
) -> dict[str, float]:
    """The 15 card metrics for BM25 (`bm25s`, lower-cased word tokens, no stemming) on the same queries and corpus.

    Its rankings go through `InformationRetrievalEvaluator.compute_metrics`, the code that scores the model,
    so both rows are computed the same way.
    """
    scorer = st_evaluators()[0](task.queries, task.corpus, task.relevant_docs, write_csv=False)
    top_k = min(max(scorer.map_at_k), len(scorer.corpus))
    documents, scores = bm25_rank(scorer.corpus, scorer.queries, top_k, k1=k1, b=b)
    hits = [
        [{"corpus_id": scorer.corpus_ids[doc], "score": float(score)} for doc, score in zip(docs, row, strict=True)]
        for docs, row in zip(documents, scores, strict=True)
    ]
    computed = scorer.compute_metrics(hits)
    flat = {
        f"cosine_{metric.replace('@k', f'@{k}')}": float(value)
        for metric, per_k in computed.items()
        for k, value in per_k.items()
    }
    return {name: flat[name] for name in CARD_METRICS}


def bm25_rank(
    corpus: Sequence[str],
    queries: Sequence[str],
    k: int,
    *,
    k1: float = BM25_PARAMETERS["k1"],
    b: float = BM25_PARAMETERS["b"],
) -> tuple[Any, Any]:
    """Each query's top `k` corpus indices and their BM25 scores (`bm25s`, lower-cased words, no stemming)."""
    import bm25s

    tokenizer = bm25s.tokenization.Tokenizer(lower=True, stopwords=None)
    index = bm25s.BM25(k1=k1, b=b)
    index.index(tokenizer.tokenize(list(corpus), return_as="ids", show_progress=False), show_progress=False)
    query_tokens = tokenizer.tokenize(list(queries), update_vocab=False, return_as="ids", show_progress=False)
    documents, scores = index.retrieve(query_tokens, k=k, show_progress=False)
    return documents, scores
