"""Hard negatives: for each (question, procedure) pair, other training procedures that rank high for the question.

Two miners: the base model (sentence-transformers' `mine_hard_negatives`) and Catalan BM25 (`retrieval.BM25`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import PresetError
from .presets import Preset

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict
    from sentence_transformers import SentenceTransformer

MINERS = ("base", "bm25")
#: How the run's log and the card name each miner.
MINER_NAMES = {"base": "the base model", "bm25": "Catalan BM25"}


def mine_hard_negatives(
    dataset: Dataset, model: SentenceTransformer, recipe: Preset
) -> tuple[Dataset | DatasetDict, int]:
    """Add `hard_negatives` negative columns per pair, mined from the other training positives.

    Pairs for which too few candidates qualify keep training as plain pairs (a second dataset), so mining
    never drops training data. Returns the dataset(s) and the number of pairs that got negatives.
    """
    from datasets import DatasetDict

    if recipe.hard_negatives_miner == "base":
        mined = _mine_with_model(dataset, model, recipe)
    elif recipe.hard_negatives_miner == "bm25":
        mined = mine_with_bm25(dataset, recipe)
    else:
        raise PresetError(
            f"Unknown hard_negatives_miner {recipe.hard_negatives_miner!r}; use {' or '.join(map(repr, MINERS))}."
        )
    if len(mined) == 0:
        return dataset, 0
    with_negatives = set(zip(mined["anchor"], mined["positive"], strict=True))
    rest = dataset.filter(lambda row: (row["anchor"], row["positive"]) not in with_negatives)
    if len(rest) == 0:
        return mined, len(mined)
    return DatasetDict({"hard_negatives": mined, "pairs": rest}), len(mined)


def _mine_with_model(dataset: Dataset, model: SentenceTransformer, recipe: Preset) -> Dataset:
    from sentence_transformers.util import mine_hard_negatives as mine

    mined: Dataset = mine(
        dataset,
        model,
        anchor_column_name="anchor",
        positive_column_name="positive",
        num_negatives=recipe.hard_negatives,
        range_min=recipe.hard_negatives_range_min,
        range_max=recipe.hard_negatives_range_max,
        relative_margin=recipe.hard_negatives_margin,
        sampling_strategy="top",
        output_format="n-tuple",
        query_prompt_name="query" if "query" in model.prompts else None,
        corpus_prompt_name="document" if "document" in model.prompts else None,
        batch_size=64,
        verbose=False,
    )
    return mined


def mine_with_bm25(dataset: Dataset, recipe: Preset) -> Dataset:
    """The top Catalan BM25 matches of each question among the other training positives, as negative_1..n columns.

    Hand-written: sentence-transformers mines with an embedding model only.
    """
    from datasets import Dataset

    from ..retrieval import BM25

    corpus = sorted(set(dataset["positive"]))
    own: dict[str, set[str]] = {}
    for anchor, positive in zip(dataset["anchor"], dataset["positive"], strict=True):
        own.setdefault(anchor, set()).add(positive)
    wanted = recipe.hard_negatives_range_max or recipe.hard_negatives_range_min + recipe.hard_negatives + 5
    depth = min(len(corpus), wanted + max(map(len, own.values())))
    ranked, scores = BM25(corpus).rank(dataset["anchor"], depth)
    rows: list[dict[str, Any]] = []
    for row, documents, row_scores in zip(dataset, ranked, scores, strict=True):
        candidates = [corpus[d] for d, score in zip(documents, row_scores, strict=True) if score > 0]
        candidates = [c for c in candidates if c not in own[row["anchor"]]][recipe.hard_negatives_range_min : wanted]
        if len(candidates) >= recipe.hard_negatives:
            negatives = candidates[: recipe.hard_negatives]
            rows.append({**row, **{f"negative_{i}": text for i, text in enumerate(negatives, start=1)}})
    return Dataset.from_list(rows) if rows else dataset.select([])
