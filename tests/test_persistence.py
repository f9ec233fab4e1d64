"""save_model writes a complete classic folder that plain SentenceTransformer loads; overwrites are safe."""

import json
from unittest import mock

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from sitges_retriever import save_model
from sitges_retriever.architecture import ARCHITECTURE, describe
from sitges_retriever.errors import ModelFolderError
from sitges_retriever.persistence import check_model_folder


def test_saved_folder_is_the_classic_layout_with_safetensors(tiny_model_dir):
    names = {p.relative_to(tiny_model_dir).as_posix() for p in tiny_model_dir.rglob("*") if p.is_file()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"} <= names
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in names)
    for relative, content in ARCHITECTURE.layout_files().items():
        assert json.loads((tiny_model_dir / relative).read_text()) == content


def test_plain_sentence_transformer_loads_it_with_the_same_embeddings(tiny_model, tiny_model_dir, sentences):
    loaded = SentenceTransformer(str(tiny_model_dir), device="cpu")
    assert describe(loaded) == describe(tiny_model)
    np.testing.assert_allclose(loaded.encode(sentences), tiny_model.encode(sentences), atol=1e-5)


def test_overwrite_replaces_weights_and_keeps_the_card(tiny_model, tmp_path, sentences):
    folder = tmp_path / "model"
    save_model(tiny_model, folder)
    (folder / "README.md").write_text("# My card\n\nHand-written prose.\n")
    (folder / "pytorch_model.bin").write_bytes(b"stale pickle")
    save_model(tiny_model, folder)
    assert (folder / "README.md").read_text() == "# My card\n\nHand-written prose.\n"
    assert not (folder / "pytorch_model.bin").exists()
    assert SentenceTransformer(str(folder)).encode(sentences[:1]).shape == (1, 384)


def test_a_failed_save_leaves_the_old_folder_intact(tiny_model, tmp_path, sentences):
    folder = tmp_path / "model"
    save_model(tiny_model, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    with (
        mock.patch("sitges_retriever.persistence._write_folder", side_effect=OSError("disk full")),
        pytest.raises(OSError, match="disk full"),
    ):
        save_model(tiny_model, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"], "no staging folder left behind"


def test_pickle_only_folder_is_refused_with_the_reason(tiny_model_dir, tmp_path):
    import shutil

    folder = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(ModelFolderError, match="only pickle weights.*arbitrary code"):
        check_model_folder(folder)


def test_incomplete_folder_names_what_is_missing(tiny_model_dir, tmp_path):
    import shutil

    folder = tmp_path / "partial"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "modules.json").unlink()
    with pytest.raises(ModelFolderError, match="missing modules.json"):
        check_model_folder(folder)


def test_saving_onto_a_file_is_refused(tiny_model, tmp_path):
    target = tmp_path / "model"
    target.write_text("not a folder")
    with pytest.raises(ModelFolderError, match="is a file"):
        save_model(tiny_model, target)
    assert target.read_text() == "not a folder"


def test_a_folder_holding_other_things_is_refused_and_left_alone(tiny_model, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "train.py").write_text("print('mine')\n")
    with pytest.raises(ModelFolderError, match="not part of a model folder save_model wrote \\(src, train.py\\)"):
        save_model(tiny_model, tmp_path)
    assert (tmp_path / "train.py").read_text() == "print('mine')\n" and (tmp_path / "src").is_dir()


def test_notes_beside_the_model_survive_an_overwrite(tiny_model, tmp_path):
    folder = tmp_path / "model"
    save_model(tiny_model, folder)
    (folder / "NOTES.md").write_text("why this run\n")
    save_model(tiny_model, folder)
    assert (folder / "NOTES.md").read_text() == "why this run\n"


def test_the_saved_folder_is_readable_like_any_folder_the_user_makes(tiny_model, tmp_path):
    import os
    import stat

    folder = save_model(tiny_model, tmp_path / "model")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~mask
