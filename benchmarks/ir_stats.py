"""Bootstrap intervals, the held-out tuning task and its fusion weights, shared by the benchmark scripts, with the
package's per-query nDCG@10 (`evaluation.per_query_ndcg`: its means equal `InformationRetrievalEvaluator`'s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sitges_retriever import MATRYOSHKA_DIMS
from sitges_retriever.data import IRTask, Pairs, ir_task_from_pairs, split_pairs
from sitges_retriever.errors import ModelFolderError
from sitges_retriever.evaluation import per_query_ndcg as per_query_ndcg  # re-exported for the scripts
from sitges_retriever.fusion_weights import read_weights_file
from sitges_retriever.training import DEFAULT

#: BM25's textbook k1 and b: the package's until `retrieval.BM25_PARAMETERS` changed (tuning rows without `bm25`).
USUAL_BM25 = {"k1": 1.2, "b": 0.75}


def held_out_split(pairs: Pairs) -> tuple[Pairs, Pairs]:
    """(the other nine tenths, the held-out tenth) of `pairs`, split as `train` does (by positive, its seed)."""
    return split_pairs(pairs, test_size=DEFAULT.held_out, seed=DEFAULT.seed)


def held_out_task(pairs: Pairs) -> IRTask:
    """The held-out tenth `train` keeps out of `pairs` (split by positive, `default`'s seed) as an IR task
    against every positive: what recipes and fusion are tuned on, never the test set."""
    train_pairs, held_out = held_out_split(pairs)
    return ir_task_from_pairs(held_out, train_pairs.positive)


def read_fusion_weights(path: Path) -> dict[int, float]:
    """The BM25 weight per size in tune_fusion.py's output; anything else stops the run with a one-line reason."""
    remedy = "Run benchmarks/tune_fusion.py MODEL to write it."
    if not path.is_file():
        raise SystemExit(f"{path} does not exist. {remedy}")
    try:
        weights, _ = read_weights_file(path, remedy)
    except ModelFolderError as error:
        raise SystemExit(str(error)) from None
    if weights is None or set(weights) != set(MATRYOSHKA_DIMS):
        raise SystemExit(f"{path} must give a weight in [0, 1] for each of {MATRYOSHKA_DIMS}, not {weights}.")
    return weights


def interval(values: np.ndarray, rounds: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean over query resamples."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(rounds, len(values)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def paired_bootstrap(a: np.ndarray, b: np.ndarray, rounds: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b and its 95% percentile interval over query resamples (the same resample for both)."""
    diff = a - b
    low, high = interval(diff, rounds, seed)
    return float(diff.mean()), low, high
