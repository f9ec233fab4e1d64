"""Write and check complete model folders in the classic (sentence-transformers 3.x) layout.

`SentenceTransformer.save()` is not used: since 5.4 it writes a format that older releases cannot
read, so the transformer is saved with transformers' own `save_pretrained` and the layout files
come from the architecture spec.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from fnmatch import fnmatch
from pathlib import Path

from .architecture import ARCHITECTURE, POOLING_DIR, Architecture
from .errors import ModelFolderError

WEIGHTS_FILE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack")
#: Files a model folder needs beside its tokenizer files.
REQUIRED_FILES = (
    "config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    f"{POOLING_DIR}/config.json",
)
#: What may stand in a folder that `save_model` replaces: model files, cards, repo metadata. Anything else is refused.
MODEL_FOLDER_NAMES = ("*.json", "*.safetensors", "*.txt", "*.model", "*.md", "*.bin", POOLING_DIR, ".git*")
#: Old weights are dropped on overwrite; every other file the new folder lacks (the card, notes) is carried over.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".h5", ".msgpack", ".onnx", ".pt")


def architecture_of(model) -> Architecture:
    """The architecture spec with the model's own prompts (empty ones dropped) and sequence length."""
    return Architecture(
        max_seq_length=model.max_seq_length or ARCHITECTURE.max_seq_length,
        do_lower_case=bool(getattr(model[0], "do_lower_case", False)),
        prompts={name: text for name, text in (getattr(model, "prompts", None) or {}).items() if text},
        default_prompt_name=getattr(model, "default_prompt_name", None),
    )


def save_model(model, path: str | Path) -> Path:
    """Write `model` as a complete, loadable classic-layout folder at `path` and return it.

    Weights go to `model.safetensors`, with the tokenizer, `config.json` and the layout files, whatever
    sentence-transformers version is installed. The folder is written aside and moved into place, so
    a failure never leaves a half-written model; a card (README.md, model_card.md) already in the
    folder is kept.
    """
    target = check_output_folder(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.saving-", dir=target.parent))
    staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private (0700); the model folder gets the usual mode
    try:
        _write_folder(model, staging)
        check_model_folder(staging)
        _carry_over(target, staging)
        _swap_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def check_output_folder(path: str | Path) -> Path:
    """Return `path` resolved if a model may be written there; refuse a file, or a folder holding other things."""
    target = Path(path).resolve()
    if target.exists() and not target.is_dir():
        raise ModelFolderError(f"{target} exists and is a file; give a folder path for the model.")
    if target.is_dir():
        foreign = sorted(p.name for p in target.iterdir() if not any(fnmatch(p.name, n) for n in MODEL_FOLDER_NAMES))
        if foreign:
            raise ModelFolderError(
                f"{target} holds files that are not part of a model folder ({', '.join(foreign[:5])}); writing "
                "the model there would replace them. Give a new folder, or one that holds only a model."
            )
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_folder(model, folder: Path) -> None:
    transformer = model[0]
    transformer.auto_model.save_pretrained(folder, safe_serialization=True)
    transformer.tokenizer.save_pretrained(folder)
    for stray in PICKLE_WEIGHTS:
        (folder / stray).unlink(missing_ok=True)
    architecture_of(model).write_layout(folder)


def _carry_over(old: Path, new: Path) -> None:
    if not old.is_dir():
        return
    for source in old.iterdir():
        if not (new / source.name).exists() and source.suffix not in WEIGHT_SUFFIXES:
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, new / source.name)


def _swap_into_place(staging: Path, target: Path) -> None:
    """Replace `target` by `staging`; on failure the old folder is put back (a rename is atomic)."""
    backup = None
    if target.exists():
        backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        backup.rmdir()
        target.rename(backup)
    try:
        staging.rename(target)
    except BaseException:
        if backup is not None:
            backup.rename(target)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def check_model_folder(folder: str | Path) -> Path:
    """Check that `folder` is a complete classic-layout model with safetensors weights; return it.

    Raises `ModelFolderError` naming what is missing, or refusing pickle-only weights (loading a
    pickle can run arbitrary code).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFolderError(f"{folder} is not a folder; give the path of a saved model folder.")
    has_safetensors = (folder / WEIGHTS_FILE).is_file() or (folder / SAFETENSORS_INDEX).is_file()
    if not has_safetensors:
        pickles = [name for name in PICKLE_WEIGHTS if (folder / name).exists()]
        if pickles:
            raise ModelFolderError(
                f"{folder} holds only pickle weights ({', '.join(pickles)}). Loading a pickle can run arbitrary "
                "code, so only safetensors weights are loaded. Convert them once in a trusted environment "
                "(load the model, then sitges_retriever.save_model(model, folder)) and load model.safetensors."
            )
        raise ModelFolderError(f"{folder} has no {WEIGHTS_FILE}; it is not a complete model folder.")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelFolderError(
            f"{folder} is incomplete: missing {', '.join(missing)}. Write model folders with "
            "sitges_retriever.save_model(model, folder)."
        )
    if not any((folder / name).is_file() for name in ("tokenizer.json", "vocab.txt")):
        raise ModelFolderError(f"{folder} has no tokenizer (tokenizer.json or vocab.txt); re-save it with save_model.")
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    if any(module.get("type", "").startswith("sentence_transformers.base") for module in modules):
        raise ModelFolderError(
            f"{folder}/modules.json uses the sentence-transformers >= 5.4 format, which older releases cannot "
            "load. Re-save it with sitges_retriever.save_model(model, folder)."
        )
    return folder
