"""The presets, their overrides, and short training runs with a tiny model (also under torchrun)."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sitges_retriever import MATRYOSHKA_DIMS
from sitges_retriever.errors import DataError
from sitges_retriever.evaluation import CARD_METRICS
from sitges_retriever.training import PresetError, get_preset, parse_settings, train

SRC = Path(__file__).resolve().parents[1] / "src"


def test_every_value_can_be_overridden_and_command_line_strings_are_parsed():
    settings = parse_settings(["lr=2e-5", "epochs=2", "bf16=false", "query_prompt=pregunta: ", "logging_steps=5"])
    preset = get_preset("default", settings)
    assert (preset.lr, preset.epochs, preset.bf16, preset.query_prompt) == (2e-5, 2.0, False, "pregunta: ")
    assert preset.extra_args == {"logging_steps": 5}  # a trainer argument, passed through
    assert get_preset("published", {"matryoshka_dims": "[384, 64]"}).matryoshka_dims == (384, 64)
    assert get_preset("default") == get_preset("default", {})
    options = get_preset("default", parse_settings(['loss_options={"hardness_mode": "hard_negatives"}']))
    assert options.loss_options == {"hardness_mode": "hard_negatives"}


def test_default_leaves_the_loss_scale_to_the_base_and_a_given_scale_stands():
    from sitges_retriever.bases import E5_SMALL, MINILM

    default = get_preset("default")
    assert default.scale is None  # the base's: what the card and the trainer see is always a number
    assert (default.for_base(E5_SMALL).scale, default.for_base(MINILM).scale) == (50.0, 20.0)
    assert default.for_base("/some/local/folder").scale == 20.0  # sentence-transformers' own default
    assert get_preset("default", {"scale": "30"}).for_base(E5_SMALL).scale == 30.0
    assert get_preset("published").for_base(E5_SMALL).scale == 20.0  # the published run, exactly


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("fastest", None, "Unknown preset 'fastest'"),
        ("default", {"learning_rate_typo": "1"}, "Unknown setting 'learning_rate_typo'"),
        ("default", {"batch_size": "many"}, "batch_size takes int, got 'many'"),
    ],
)
def test_bad_presets_and_settings_say_what_is_allowed(name, overrides, message):
    with pytest.raises(PresetError, match=message):
        get_preset(name, overrides)
    with pytest.raises(PresetError, match="key=value"):
        parse_settings(["lr"])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"loss_options": {"hardnes_mode": "x"}}, "takes no option 'hardnes_mode'.*accepts .*hardness_mode"),
        ({"loss": "triplet"}, "Unknown loss 'triplet'"),
        ({"matryoshka_weights": (1, 1)}, "matryoshka_weights needs one weight per dim"),
    ],
)
def test_a_loss_setting_that_cannot_work_is_refused_before_training(tiny_base, demo_slice, tmp_path, bad, message):
    with pytest.raises(PresetError, match=message):
        train(demo_slice, base=tiny_base, output=tmp_path / "m", max_steps=1, overrides=bad, baseline=False)
    assert not (tmp_path / "m").exists()


def read_card(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---")[1])


@pytest.fixture(scope="module")
def two_steps(tiny_base, demo_slice, tmp_path_factory):
    output = tmp_path_factory.mktemp("run") / "model"
    result = train(demo_slice, base=tiny_base, output=output, max_steps=2, overrides={"batch_size": 6})
    return result


def test_a_two_step_run_writes_a_folder_sentence_transformers_loads(two_steps, sentences):
    from sentence_transformers import SentenceTransformer

    assert two_steps.output.is_dir()
    model = SentenceTransformer(str(two_steps.output), device="cpu")
    assert model.encode(sentences[:2]).shape == (2, MATRYOSHKA_DIMS[0])
    assert not list(two_steps.output.parent.glob(".*checkpoints*"))  # the trainer's checkpoints are gone


def test_its_card_lists_exactly_the_trained_dimensions_with_the_run_details(two_steps):
    card = two_steps.output / "README.md"
    data = read_card(card)
    results = data["model-index"][0]["results"]
    assert [r["dataset"]["type"] for r in results] == [f"dim_{d}" for d in MATRYOSHKA_DIMS]
    for result in results:
        assert sorted(m["type"] for m in result["metrics"]) == sorted(CARD_METRICS)
    text = card.read_text(encoding="utf-8")
    assert f"dataset_size:{two_steps.train_pairs}" in data["tags"]
    assert {"loss:MatryoshkaLoss", "loss:MultipleNegativesRankingLoss"} <= set(data["tags"])
    assert "### Baseline: BM25" in text
    assert "| per_device_train_batch_size | 6 |" in text and "| max_steps | 2 |" in text  # this run's settings
    assert two_steps.preset.scale == 20.0 and "MultipleNegativesRankingLoss (scale 20)" in text  # as trained


def test_its_evaluation_has_15_metrics_per_dimension_and_bm25(two_steps):
    report = two_steps.report
    assert list(report.metrics) == list(MATRYOSHKA_DIMS)
    assert all(list(values) == list(CARD_METRICS) for values in report.metrics.values())
    assert list(report.baseline) == list(CARD_METRICS)
    assert report.queries > 0 and report.documents > report.queries / 5


def test_the_held_out_and_validation_questions_are_not_trained_on(two_steps, demo_slice):
    from sitges_retriever.data import read_pairs

    assert two_steps.validation_pairs > 0
    assert two_steps.train_pairs + two_steps.validation_pairs + two_steps.report.queries == len(read_pairs(demo_slice))


def test_a_small_data_set_trains_whole_epochs_until_min_steps_and_the_card_says_how_many(
    tiny_base, demo_slice, tmp_path
):
    overrides = {"batch_size": 8, "min_steps": 10}
    result = train(demo_slice, base=tiny_base, output=tmp_path / "m", overrides=overrides, baseline=False)
    steps_per_epoch = -(-result.train_pairs // 8)
    epochs = -(-10 // steps_per_epoch)
    assert epochs > 3 and result.preset.epochs == epochs  # (the card lists settings other than the trainer's 3)
    assert [row["Epoch"] for row in result.log] == list(range(1, epochs + 1))  # one validation row per epoch
    assert result.log[-1]["Step"] >= 10  # at least min_steps optimizer steps were taken
    assert f"| num_train_epochs | {epochs} |" in (result.output / "README.md").read_text(encoding="utf-8")
    capped = train(demo_slice, base=tiny_base, output=tmp_path / "c", overrides=overrides, max_steps=2, baseline=False)
    assert capped.preset.epochs == 1  # a step limit stands: no epochs added for min_steps


def test_an_output_folder_with_other_files_is_refused_and_left_alone(tiny_base, demo_slice, tmp_path):
    (tmp_path / "notes.py").write_text("keep me", encoding="utf-8")
    with pytest.raises(DataError, match="not part of a model folder"):
        train(demo_slice, base=tiny_base, output=tmp_path, max_steps=1)
    assert (tmp_path / "notes.py").read_text(encoding="utf-8") == "keep me"


def test_a_held_out_set_too_small_to_tell_the_sizes_apart_still_gets_its_card(tiny_base, demo_slice, tmp_path):
    """One question, one document: every size scores 1.0. The evaluator cut each size, so the tie is the set's."""
    from sitges_retriever.data import IRTask

    task = IRTask({"q": "Com demano el padró?"}, {"d": "Alta al padró municipal"}, {"q": {"d"}})
    result = train(demo_slice, eval_data=task, base=tiny_base, output=tmp_path / "m", max_steps=1, baseline=False)
    results = read_card(result.output / "README.md")["model-index"][0]["results"]
    assert [r["dataset"]["type"] for r in results] == [f"dim_{d}" for d in MATRYOSHKA_DIMS]
    assert {m["value"] for r in results for m in r["metrics"] if m["type"] == "cosine_ndcg@10"} == {1.0}


@pytest.mark.parametrize(
    "overrides",
    [
        {
            "hard_negatives": 1,
            "hard_negatives_miner": "base",
            "hard_negatives_margin": None,
            "loss_options": {"hardness_mode": "hard_negatives", "hardness_strength": 5.0},
        },
        {
            "hard_negatives": 2,
            "hard_negatives_miner": "bm25",
            "loss": "cached_gist",
            "loss_options": {},  # the default's options are MultipleNegativesRankingLoss's
            "max_seq_length": 32,
            "matryoshka_weights": (1, 1, 0.5, 0.5),
        },
    ],
    ids=["base-miner", "bm25-miner-gist-short"],
)
def test_recipe_options_train_and_the_saved_model_keeps_its_prompts_and_length(
    tiny_base, demo_slice, tmp_path, overrides
):
    overrides = {**overrides, "query_prompt": "pregunta: ", "document_prompt": "tràmit: ", "batch_size": 8}
    result = train(demo_slice, base=tiny_base, output=tmp_path / "m", max_steps=1, overrides=overrides, baseline=False)
    assert result.with_hard_negatives > result.train_pairs / 2
    config = json.loads((result.output / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    assert config["prompts"] == {"query": "pregunta: ", "document": "tràmit: "}
    layout = json.loads((result.output / "sentence_bert_config.json").read_text(encoding="utf-8"))
    assert layout["max_seq_length"] == 512
    for key, value in result.preset.loss_options.items():
        assert f"{key}={value!r}" in (result.output / "README.md").read_text(encoding="utf-8")


def test_bm25_negatives_are_the_other_positives_that_share_the_question_words():
    from datasets import Dataset

    from sitges_retriever.training.mining import mine_with_bm25

    rows = {
        "anchor": ["Com pago la taxa de residus?", "On llenço els mobles vells?", "Com demano el padró?"],
        "positive": ["Taxa de residus: rebut anual.", "La deixalleria recull mobles vells.", "Alta al padró."],
    }
    mined = mine_with_bm25(Dataset.from_dict(rows), get_preset("default", {"hard_negatives": 1}))
    # only the first question shares a word ("la") with another pair's positive; the others get no negative
    assert mined.to_list() == [
        {"anchor": rows["anchor"][0], "positive": rows["positive"][0], "negative_1": rows["positive"][1]}
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_same_run_trains_under_torchrun_with_two_cpu_processes(tiny_base, demo_slice, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(
        "import sys, torch.distributed as dist\n"
        "from sitges_retriever.training import train\n"
        "r = train(sys.argv[1], base=sys.argv[2], output=sys.argv[3], max_steps=2,\n"
        "          overrides={'batch_size': 4}, baseline=False)\n"
        "print(f'rank={dist.get_rank()} world={dist.get_world_size()} output={r.output}', flush=True)\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}"]
    output = tmp_path / "model"
    done = subprocess.run(
        [*command, str(script), str(demo_slice), str(tiny_base), str(output)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = sorted(line for line in done.stdout.splitlines() if line.startswith("rank="))
    assert lines == [f"rank=0 world=2 output={output}", "rank=1 world=2 output=None"]
    assert [d["dataset"]["type"] for d in read_card(output / "README.md")["model-index"][0]["results"]] == [
        f"dim_{d}" for d in MATRYOSHKA_DIMS
    ]


def test_the_default_base_is_found_offline_and_a_local_folder_is_taken_as_is(tiny_base):
    from sitges_retriever.bases import resolve_base
    from sitges_retriever.errors import ModelNotAvailableError

    default = resolve_base().path
    assert (default / "config.json").is_file() and (default / "tokenizer.json").is_file()
    assert resolve_base(tiny_base).path == Path(tiny_base)
    with pytest.raises(ModelNotAvailableError, match="nobody/no-such-model.*bases that work offline"):
        resolve_base("nobody/no-such-model")
