"""One-shot search ranks with the model, Catalan BM25, or both fused (the default)."""

from __future__ import annotations

import numpy as np
import pytest

from sitges_retriever.corpus import load_procedures
from sitges_retriever.evaluation import encode
from sitges_retriever.retrieval import BM25, hybrid_scores
from sitges_retriever.search import search

QUESTION = "Com em dono d'alta al padró municipal?"


@pytest.fixture(scope="module")
def procedures():
    return load_procedures()[:20]


def test_hybrid_is_the_default_and_ranks_as_the_fused_scores(tiny_model, procedures):
    texts = [p.document for p in procedures]
    dense = encode(tiny_model, [QUESTION], "query") @ encode(tiny_model, texts, "document").T
    expected = hybrid_scores(dense, BM25(texts).scores([QUESTION]))[0]
    hits = search(tiny_model, QUESTION, procedures=procedures, top_k=5)
    assert [h.procedure for h in hits] == [procedures[i] for i in np.argsort(-expected, kind="stable")[:5]]
    assert [h.score for h in hits] == pytest.approx(sorted(expected, reverse=True)[:5])


def test_bm25_mode_puts_the_procedure_sharing_the_questions_words_first(procedures):
    hits = search(None, QUESTION, procedures=procedures, mode="bm25", top_k=3)
    assert "padró" in hits[0].procedure.title.lower()


def test_dense_mode_scores_are_cosine_similarities_at_the_chosen_size(tiny_model, procedures):
    hits = search(tiny_model, QUESTION, procedures=procedures, mode="dense", dim=64, top_k=len(procedures))
    assert all(-1.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_an_unknown_mode_is_refused(tiny_model, procedures):
    from sitges_retriever.errors import SitgesError

    with pytest.raises(SitgesError, match="hybrid"):
        search(tiny_model, QUESTION, procedures=procedures, mode="sparse")  # type: ignore[arg-type]
