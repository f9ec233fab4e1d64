"""Property-based tests of the card's reader and writer: any input works or is refused with the package's own
error, and a refused update never changes the card."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitges_retriever.architecture import MATRYOSHKA_DIMS
from sitges_retriever.card import CANONICAL_METRICS, check_card, read_results, update_card
from sitges_retriever.card.writer import template_text
from sitges_retriever.errors import SitgesError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START, END = "<!-- sitges-retriever:{}:start -->", "<!-- sitges-retriever:{}:end -->"

dims = st.one_of(st.sampled_from(MATRYOSHKA_DIMS), st.integers(-1000, 1000))
dim_words = st.one_of(dims.map(str), st.sampled_from(["", "-64", "x", "64.5", "0", "٣"]), st.text(max_size=4))
metric_names = st.one_of(st.sampled_from(CANONICAL_METRICS), st.sampled_from(["dot_ndcg@10", "cosine_ndcg@5"]))
values = st.one_of(st.floats(allow_nan=True), st.integers(-2, 2), st.text(max_size=5), st.none(), st.booleans())
flat_results = st.dictionaries(st.builds(lambda d, m: f"dim_{d}_{m}", dim_words, metric_names), values, max_size=70)
nested_results = st.dictionaries(
    st.one_of(dims, dims.map(str)), st.dictionaries(metric_names, values, max_size=16), max_size=5
)
yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
front_keys = st.one_of(
    st.sampled_from(["tags", "metrics", "base_model", "model-index", "license", "language", "widget", "library_name"]),
    st.text(min_size=1, max_size=10),
)
front_matters = st.dictionaries(front_keys, yaml_values, max_size=6)


def complete(results: dict) -> bool:
    return all(
        dim > 0 and list(metrics) == list(CANONICAL_METRICS) and all(0 <= v <= 1 for v in metrics.values())
        for dim, metrics in results.items()
    )


@SETTINGS
@given(st.one_of(flat_results, nested_results))
def test_any_results_mapping_reads_or_is_refused(source):
    try:
        results = read_results(source)
    except SitgesError:
        return
    assert results and complete(results) and list(results) == sorted(results, reverse=True)


def _card(folder: Path, text: str) -> Path:
    path = folder / "model_card.md"
    path.write_bytes(text.encode("utf-8"))
    return path


@SETTINGS
@given(
    st.one_of(
        flat_results,
        nested_results,
        st.builds(
            lambda d: {dim: dict.fromkeys(CANONICAL_METRICS, 0.5 / (i + 1)) for i, dim in enumerate(d)},
            st.lists(dims, min_size=1, max_size=4, unique=True),
        ),
    )
)
def test_any_results_update_the_card_or_leave_it_untouched(source):
    with tempfile.TemporaryDirectory() as folder:
        card = _card(Path(folder), template_text())
        try:
            update_card(card, source)
        except SitgesError:
            assert card.read_text(encoding="utf-8") == template_text()
            assert [path.name for path in Path(folder).iterdir()] == ["model_card.md"]
            return
        assert check_card(card) == []


@SETTINGS
@given(front_matters, st.booleans())
def test_any_front_matter_updates_or_is_refused_untouched(data, with_training):
    body = "\n# A card\n\nKept as written.\n"
    text = f"---\n{yaml.safe_dump(data, sort_keys=False, allow_unicode=True)}---\n{body}"
    results = {dim: dict.fromkeys(CANONICAL_METRICS, 0.9 / dim) for dim in MATRYOSHKA_DIMS}
    training = {"dataset_size": 3, "loss": "MatryoshkaLoss(XLoss)"} if with_training else None
    with tempfile.TemporaryDirectory() as folder:
        card = _card(Path(folder), text)
        try:
            problems = check_card(card)
        except SitgesError:
            problems = None
        try:
            update_card(card, results, training=training)
        except SitgesError:
            assert card.read_bytes() == text.encode("utf-8")
            return
        new = card.read_text(encoding="utf-8")
        after = yaml.safe_load(new.split("---\n")[1])
        before = yaml.safe_load(text.split("---\n")[1]) or {}  # what the card held, as YAML reads it
        kept = [key for key in before if key not in ("tags", "metrics", "model-index", "base_model")]
        assert all(after[key] == before[key] for key in kept)
        assert new.split("---\n", 2)[2].startswith(body) and START.format("metrics") in new
        assert problems is not None  # what updates, checks


@SETTINGS
@given(st.text(max_size=300))
def test_any_file_is_checked_or_refused_and_never_changed(text):
    with tempfile.TemporaryDirectory() as folder:
        card = _card(Path(folder), text)
        for action in (check_card, lambda path: update_card(path, training={"dataset_size": 1})):
            try:
                action(card)
            except SitgesError:
                assert card.read_bytes() == text.encode("utf-8")
