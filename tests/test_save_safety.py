"""save_model never loses a user's files, survives a killed or concurrent save, and explains what it refuses."""

import json
import shutil
import threading

import pytest
from sentence_transformers import SentenceTransformer

from sitges_retriever import load, save_model
from sitges_retriever.errors import ModelFolderError
from sitges_retriever.persistence import MARKER_FILE, _save_lock, check_model_folder


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("own", ["pytorch_model.bin", "model.safetensors", "config.json"])
def test_a_folder_of_the_users_own_model_files_is_refused_and_untouched(tiny_model, tmp_path, own):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / own).write_bytes(b"my own weights or config")
    (folder / "notes.md").write_text("mine\n")
    before = _snapshot(folder)
    with pytest.raises(ModelFolderError, match="not part of a model folder save_model wrote.*new or empty folder"):
        save_model(tiny_model, folder)
    assert _snapshot(folder) == before


def test_an_empty_folder_and_a_folder_save_model_wrote_are_written(tiny_model, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    save_model(tiny_model, folder)
    assert json.loads((folder / MARKER_FILE).read_text())["written_by"] == "sitges_retriever.save_model"
    save_model(tiny_model, folder)
    check_model_folder(folder)


def test_a_complete_folder_saved_before_the_marker_existed_is_still_replaced(tiny_model_dir, tiny_model, tmp_path):
    folder = tmp_path / "legacy"
    shutil.copytree(tiny_model_dir, folder)
    (folder / MARKER_FILE).unlink()
    (folder / "model_card.md").write_text("# card\n")
    save_model(tiny_model, folder)
    assert (folder / MARKER_FILE).is_file() and (folder / "model_card.md").read_text() == "# card\n"


def _killed_between_the_renames(tiny_model, tmp_path):
    """The state a save killed after moving the old folder aside, before moving the new one in."""
    folder = save_model(tiny_model, tmp_path / "model")
    (folder / "README.md").write_text("# the user's card\n")
    folder.rename(tmp_path / ".model.old-k1ll3d")
    (tmp_path / ".model.saving-h4lf").mkdir()
    (tmp_path / ".model.saving-h4lf" / "config.json").write_text("{")
    return folder


def test_load_puts_back_the_folder_a_killed_save_moved_aside(tiny_model, tmp_path, sentences):
    folder = _killed_between_the_renames(tiny_model, tmp_path)
    assert load(folder).encode(sentences[:1]).shape == (1, 384)
    assert (folder / "README.md").read_text() == "# the user's card\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_the_next_save_recovers_and_cleans_the_leftovers_of_a_killed_save(tiny_model, tmp_path):
    folder = _killed_between_the_renames(tiny_model, tmp_path)
    save_model(tiny_model, folder)
    assert (folder / "README.md").read_text() == "# the user's card\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_stale_copies_beside_an_intact_folder_are_removed_by_the_next_save(tiny_model, tmp_path):
    folder = save_model(tiny_model, tmp_path / "model")
    shutil.copytree(folder, tmp_path / ".model.old-st4le")
    (tmp_path / ".model.saving-st4le").mkdir()
    save_model(tiny_model, folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_save_while_another_holds_the_folder_is_refused_clearly(tiny_model, tmp_path):
    folder = save_model(tiny_model, tmp_path / "model")
    before = _snapshot(folder)
    with _save_lock(folder.resolve()), pytest.raises(ModelFolderError, match="Another save to .* is running"):
        save_model(tiny_model, folder)
    assert _snapshot(folder) == before


def test_two_saves_at_once_end_in_one_valid_folder(tiny_model, tmp_path):
    folder = save_model(tiny_model, tmp_path / "model")
    (folder / "README.md").write_text("# card\n")
    errors: list[BaseException] = []

    def run():
        try:
            save_model(tiny_model, folder)
        except BaseException as error:  # noqa: BLE001 - collected and checked below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(e, ModelFolderError) and "Another save" in str(e) for e in errors), errors
    check_model_folder(folder)
    assert (folder / "README.md").read_text() == "# card\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_read_only_card_or_folder_is_refused_not_replaced(tiny_model, tmp_path):
    folder = save_model(tiny_model, tmp_path / "model")
    card = folder / "README.md"
    card.write_text("# protected\n")
    card.chmod(0o444)
    before = _snapshot(folder)
    with pytest.raises(ModelFolderError, match=r"README.md is read-only.*chmod u\+w"):
        save_model(tiny_model, folder)
    assert _snapshot(folder) == before
    card.chmod(0o644)
    folder.chmod(0o555)
    try:
        with pytest.raises(ModelFolderError, match="model is read-only"):
            save_model(tiny_model, folder)
    finally:
        folder.chmod(0o755)


def test_a_read_only_parent_or_a_path_under_a_file_is_explained(tiny_model, tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        with pytest.raises(ModelFolderError, match="locked is read-only"):
            save_model(tiny_model, parent / "model")
    finally:
        parent.chmod(0o755)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ModelFolderError, match="afile is a file, so .* cannot be created"):
        save_model(tiny_model, tmp_path / "afile" / "model")
    with pytest.raises(ModelFolderError, match="path is empty"):
        save_model(tiny_model, "")


def test_the_saved_folder_still_loads_in_plain_sentence_transformers_with_the_marker(tiny_model_dir, sentences):
    assert (tiny_model_dir / MARKER_FILE).is_file()
    assert SentenceTransformer(str(tiny_model_dir), device="cpu").encode(sentences[:1]).shape == (1, 384)
