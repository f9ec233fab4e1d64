"""The metric vocabulary, now in `sitges_retriever.metrics` (evaluation and the card share it); kept for imports."""

from ..metrics import (
    CANONICAL_METRICS,
    HEADLINE_KEYS,
    METRIC_KEYS,
    TASK_NAME,
    TASK_TYPE,
    dataset_name,
    dataset_type,
    dim_of_dataset_type,
    display_name,
)

__all__ = [
    "CANONICAL_METRICS",
    "HEADLINE_KEYS",
    "METRIC_KEYS",
    "TASK_NAME",
    "TASK_TYPE",
    "dataset_name",
    "dataset_type",
    "dim_of_dataset_type",
    "display_name",
]
