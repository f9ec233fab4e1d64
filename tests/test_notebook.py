"""The maintainer's notebook runs headless against the loopback Hub with a tiny model, so it cannot rot."""

from pathlib import Path

import nbformat
import pytest
from huggingface_hub import ModelCard

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "train_evaluate_push.ipynb"


def test_notebook_trains_evaluates_pushes_and_loads_back(hub_server, tiny_base, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient", reason="install the test extra: pip install -e .[test]")
    hub_server.reset()
    output = tmp_path / "model"
    monkeypatch.setenv("SITGES_BASE", str(tiny_base))
    monkeypatch.setenv("SITGES_MAX_STEPS", "2")
    monkeypatch.setenv("SITGES_OUTPUT", str(output))
    monkeypatch.setenv("SITGES_REPO_ID", "org/notebook-run")
    monkeypatch.setenv("HF_TOKEN", "hf_test_write")  # found the way huggingface_hub finds it

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()

    printed = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
    assert "card OK" in printed and "dim 64: max |hub - local|" in printed
    assert "hf_test_write" not in printed
    assert "model.safetensors" in hub_server.files("org/notebook-run")
    pushed = ModelCard.load("org/notebook-run")
    assert {r.dataset_type for r in pushed.data.eval_results} == {"dim_384", "dim_256", "dim_128", "dim_64"}
