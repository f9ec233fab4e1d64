"""The card body's metrics section: a summary across embedding sizes, then one table per dimension."""

from __future__ import annotations

from .metrics import CANONICAL_METRICS, HEADLINE_KEYS, dataset_name
from .results import Results
from .sections import METRICS, wrap

_HEADLINE_TITLES = {"ndcg@10": "nDCG@10", "mrr@10": "MRR@10", "map@100": "MAP@100", "accuracy@1": "Accuracy@1",
                    "recall@10": "Recall@10"}


def render_metrics(results: Results | None) -> str:
    """The generated metrics section (markers included) for `results`, or a placeholder without results."""
    if not results:
        return wrap(
            METRICS,
            "No evaluation is recorded in this card yet. After evaluating the model at each trained dimension, "
            "run `sitges-retriever card update --results PATH` to write the metrics here and in the metadata.",
        )
    dims = sorted(results, reverse=True)
    lines = [
        "Each embedding size is the model's output cut to its first N values (`truncate_dim=N`), "
        "ranked by cosine similarity.",
        "",
        "| Embedding size | " + " | ".join(_HEADLINE_TITLES[key] for key in HEADLINE_KEYS) + " |",
        "|:--|" + "--:|" * len(HEADLINE_KEYS),
    ]
    lines += [
        f"| {dataset_name(dim)} | " + " | ".join(_fmt(results[dim][f"cosine_{key}"]) for key in HEADLINE_KEYS) + " |"
        for dim in dims
    ]
    for dim in dims:
        lines += [
            "",
            f"### Information retrieval at {dataset_name(dim)}",
            "",
            f"| Metric ({dataset_name(dim)}) | Value |",
            "|:--|--:|",
        ]
        lines += [f"| {metric} | {_fmt(results[dim][metric])} |" for metric in CANONICAL_METRICS]
    return wrap(METRICS, "\n".join(lines))


def _fmt(value: float) -> str:
    return f"{value:.4f}"
