"""Catalan BM25 and score fusion: what evaluation, search and the index rank with."""

from __future__ import annotations

import numpy as np
import pytest

from sitges_retriever.errors import SitgesError
from sitges_retriever.retrieval import BM25, CATALAN, PLAIN, fuse, hybrid_scores, normalize_scores

CORPUS = [
    "L'alta al padró municipal d'habitants es demana a l'oficina d'atenció ciutadana.",
    "Les obres menors necessiten una comunicació prèvia.",
    "L'impost sobre béns immobles es pot fraccionar en terminis.",
]


def test_the_catalan_analyzer_stems_so_inflected_words_match():
    assert CATALAN.terms(["llicències"]) == CATALAN.terms(["llicència"])
    assert PLAIN.terms(["llicències"]) != PLAIN.terms(["llicència"])
    assert BM25(CORPUS).scores(["Vull fraccionar l'impost"]).argmax() == 2
    # "obra" only matches "obres" once stemmed
    assert BM25(CORPUS, analyzer=CATALAN).scores(["obra"])[0, 1] > 0
    assert BM25(CORPUS, analyzer=PLAIN).scores(["obra"])[0, 1] == 0


def test_rank_and_scores_agree():
    index = BM25(CORPUS)
    documents, scores = index.rank(["padró d'habitants"], k=2)
    assert documents[0, 0] == 0 and scores[0, 0] == pytest.approx(index.scores(["padró d'habitants"])[0, 0])


def test_weighted_fusion_mixes_normalised_scores():
    dense, keyword = np.array([[0.9, 0.5, 0.1]]), np.array([[0.0, 4.0, 2.0]])
    fused = fuse(dense, keyword, weight=0.3)
    assert fused == pytest.approx(0.7 * normalize_scores(dense) + 0.3 * normalize_scores(keyword))
    assert fuse(dense, keyword, weight=0.0).argmax() == 0 and fuse(dense, keyword, weight=1.0).argmax() == 1


def test_rrf_uses_ranks_only():
    dense, keyword = np.array([[0.9, 0.5, 0.1]]), np.array([[0.0, 4.0, 2.0]])
    assert fuse(dense, keyword, method="rrf") == pytest.approx(fuse(dense * 100, keyword + 7, method="rrf"))
    assert fuse(dense, keyword, method="rrf")[0, 1] == pytest.approx(1 / 62 + 1 / 61)


def test_hybrid_scores_fuse_each_querys_top_candidates_only():
    rng = np.random.default_rng(0)
    dense, keyword = rng.random((2, 300)), rng.random((2, 300))
    hybrid = hybrid_scores(dense, keyword, depth=10)
    for row in range(2):
        candidates = set(np.argsort(-dense[row])[:10]) | set(np.argsort(-keyword[row])[:10])  # all positive
        assert set(np.flatnonzero(np.isfinite(hybrid[row]))) == candidates
        ids = sorted(candidates)
        assert hybrid[row, ids] == pytest.approx(fuse(dense[row, ids], keyword[row, ids])[0])


def test_bad_fusion_settings_are_refused():
    with pytest.raises(SitgesError, match="between 0 and 1"):
        fuse(np.ones((1, 2)), np.ones((1, 2)), weight=2)
    with pytest.raises(SitgesError, match="rrf"):
        fuse(np.ones((1, 2)), np.ones((1, 2)), method="max")  # type: ignore[arg-type]


def test_documents_sharing_no_word_with_the_question_are_no_keyword_candidates():
    dense = np.array([[0.9, 0.8, 0.1, 0.2, 0.3]])
    keyword = np.array([[0.0, 0.0, 0.0, 0.0, 2.0]])
    assert set(np.flatnonzero(np.isfinite(hybrid_scores(dense, keyword, depth=2)[0]))) == {0, 1, 4}
