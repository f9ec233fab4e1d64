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
from sitges_retriever.card import CANONICAL_METRICS, check_card, read_results, update_card
from sitges_retriever.card.writer import eval_results, template_text
from sitges_retriever.cli import main
from sitges_retriever.errors import CardError

REPO_ROOT = Path(__file__).resolve().parents[1]
PUBLISHED_CARD = REPO_ROOT.parent / "shared" / "reference" / "published_model_card.md"
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
        {"q": sentences[0]}, {f"d{i}": text for i, text in enumerate(sentences)}, {"q": {"d0"}},
        name="dim_64", truncate_dim=64,
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
    assert index["metrics"][12] == {"type": "cosine_ndcg@10", "value": output["dim_384_cosine_ndcg@10"],
                                    "name": "Cosine Ndcg@10"}
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
FRONT_BEFORE = """---
# the maintainer's own comment
license: apache-2.0   # kept as written
base_model: sentence-transformers/all-MiniLM-L6-v2
widget:
  - source_sentence: "Quan obre la deixalleria?"
    sentences: [ "Horari de la deixalleria", 'Padró' ]

"""
FRONT_AFTER = "extra: {a: 1, b: [x, y]}\n---\n"
PROSE = [
    "\n# My card\n\nWritten by hand, with *emphasis*  and trailing spaces  \n\n",
    "\n\nBetween the sections: kept.\n\n",
    "\n\n## After\n\nThe end, with no final newline",
]


def hand_written_card(tmp_path) -> Path:
    body = (PROSE[0] + START.format("metrics") + "\nold tables\n" + END.format("metrics") + PROSE[1]
            + START.format("training") + "\nold details\n" + END.format("training") + PROSE[2])
    path = tmp_path / "model_card.md"
    path.write_text(FRONT_BEFORE + OLD_INDEX + FRONT_AFTER + body, encoding="utf-8")
    return path


def test_everything_outside_the_generated_parts_is_kept_byte_for_byte(tmp_path):
    card = hand_written_card(tmp_path)
    update_card(card, synthetic_results(MATRYOSHKA_DIMS), training={"log": [{"epoch": 1, "loss": 0.5}]})
    text = card.read_text(encoding="utf-8")

    assert text.startswith(FRONT_BEFORE)
    front, body = text[3:].split("\n---\n", 1)
    assert front.endswith("\n" + FRONT_AFTER.split("\n---\n")[0])
    assert "dim_768" not in front and "name: my-model" in front  # stale result gone, the model's name kept
    assert body.startswith(PROSE[0] + START.format("metrics"))
    assert END.format("metrics") + PROSE[1] + START.format("training") in body
    assert body.endswith(END.format("training") + PROSE[2])
    assert "old tables" not in body and "| Metric (dim 64) | Value |" in body


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


@pytest.mark.parametrize(("dim", "why"), [(768, "larger than the model's 384-d"), (512, "larger"),
                                          (100, "not a size the model was trained at")])
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
    bare.write_text("---\nbase_model: a/b\n---\n# Card\n\nIntro.\n\n## Training Details\n\nHow.\n\n## Citation\n\nX\n")
    update_card(bare, synthetic_results([384]), training={"dataset_size": 3})
    text = bare.read_text()
    assert text.index("Intro.") < text.index(START.format("metrics")) < text.index("## Training Details")
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
        "duplicate-results": card_text({384: good[384], 256: dict(good[384]), 128: good[128]}),
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


def _prose(path_or_text) -> tuple[dict, str]:
    """A card without what `update_card` generates: the other front-matter keys, and the body outside the markers."""
    text = path_or_text.read_text(encoding="utf-8") if isinstance(path_or_text, Path) else path_or_text
    _, front, body = text.split("---\n", 2)
    data = yaml.safe_load(front)
    for key in ("model-index", "metrics", "base_model", "tags"):
        data.pop(key, None)
    for name in ("metrics", "training"):
        body = body[: body.index(START.format(name))] + body[body.index(END.format(name)) :]
    return data, body


def test_the_projects_card_is_sound_and_matches_the_packaged_template():
    card = REPO_ROOT / "model_card.md"
    assert check_card(card) == []
    data = ModelCard.load(card).data
    assert (data.library_name, data.pipeline_tag, data.license) == ("sentence-transformers", "sentence-similarity",
                                                                   "apache-2.0")
    assert data.language == ["ca"] and data.base_model == "sentence-transformers/all-MiniLM-L6-v2"
    text = card.read_text(encoding="utf-8")
    for fact in ('SentenceTransformer("org/sitges-retriever")', "truncate_dim=", "from sitges_retriever import",
                 "reimers-2019-sentence-bert", "2205.13147", "1705.00652"):
        assert fact in text
    assert _prose(card) == _prose(template_text()), (
        "model_card.md and src/sitges_retriever/card/template.md differ outside the generated parts: "
        "make the same edit in both (update_card starts new cards from the template)."
    )


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
    assert main(["card", "update", "--results", str(impossible), "--card", str(card)]) == 2
    assert "dim 768" in capsys.readouterr().err
    assert card.read_bytes() == before

    liar = tmp_path / "liar.md"
    liar.write_text(card_text(synthetic_results(MATRYOSHKA_DIMS), body="\nOutput Dimensionality: 384 tokens\n"))
    assert main(["card", "check", str(liar)]) == 1
    assert "dimensions-as-tokens" in capsys.readouterr().out

    broken = tmp_path / "broken.md"
    broken.write_text("no front matter\n")
    assert main(["card", "check", str(broken)]) == 2
    assert "no YAML front matter" in capsys.readouterr().err
