"""The card's vocabulary: the 15 cosine retrieval metrics, in the order the card lists them, and result names."""

from __future__ import annotations

import re

#: What InformationRetrievalEvaluator reports with its default k values, in the card's order.
METRIC_KEYS: tuple[str, ...] = (
    "accuracy@1",
    "accuracy@3",
    "accuracy@5",
    "accuracy@10",
    "precision@1",
    "precision@3",
    "precision@5",
    "precision@10",
    "recall@1",
    "recall@3",
    "recall@5",
    "recall@10",
    "ndcg@10",
    "mrr@10",
    "map@100",
)
#: The metric names the card may carry (model-index `type`s and the `metrics:` list).
CANONICAL_METRICS: tuple[str, ...] = tuple(f"cosine_{key}" for key in METRIC_KEYS)
#: The few metrics the summary table shows.
HEADLINE_KEYS: tuple[str, ...] = ("ndcg@10", "mrr@10", "map@100", "accuracy@1", "recall@10")

TASK_TYPE = "information-retrieval"
TASK_NAME = "Information Retrieval"
_DATASET_TYPE = re.compile(r"^dim_(\d+)$")


def display_name(metric: str) -> str:
    """`cosine_ndcg@10` -> `Cosine Ndcg@10`, the model-index `name` sentence-transformers writes."""
    return metric.replace("_", " ").title()


def dataset_type(dim: int) -> str:
    """The model-index dataset type of the result at `dim`: `dim_384`."""
    return f"dim_{dim}"


def dataset_name(dim: int) -> str:
    """The model-index dataset name of the result at `dim`: `dim 384`."""
    return f"dim {dim}"


def dim_of_dataset_type(value: object) -> int | None:
    """The dimension a model-index dataset type names (`dim_384` -> 384), or None."""
    match = _DATASET_TYPE.match(str(value))
    return int(match.group(1)) if match else None
