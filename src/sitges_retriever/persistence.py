"""Write and check complete model folders in the classic (sentence-transformers 3.x) layout.

`SentenceTransformer.save()` is not used: since 5.4 it writes a format that older releases cannot
read, so the transformer is saved with transformers' own `save_pretrained` and the layout files
come from the architecture spec.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

from .architecture import ARCHITECTURE, CLASSIC_FORMAT_VERSION, POOLING_DIR, Architecture
from .errors import ModelFolderError
from .fusion_weights import HYBRID_FILE, save_bm25_weights

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
#: Written by `save_model` into each folder it writes: the folders it may replace later.
MARKER_FILE = ".sitges-retriever"
#: Old weights (and hybrid.json) are dropped on overwrite; every other file the new folder lacks (the card, notes) is
#: carried over.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".h5", ".msgpack", ".onnx", ".pt")


def architecture_of(model: SentenceTransformer) -> Architecture:
    """The architecture spec with the model's own prompts (empty ones dropped) and sequence length."""
    return Architecture(
        max_seq_length=model.max_seq_length or ARCHITECTURE.max_seq_length,
        do_lower_case=bool(getattr(model[0], "do_lower_case", False)),
        prompts={name: text for name, text in (getattr(model, "prompts", None) or {}).items() if text},
        default_prompt_name=getattr(model, "default_prompt_name", None),
    )


def save_model(model: SentenceTransformer, path: str | Path) -> Path:
    """Write `model` as a complete, loadable classic-layout folder at `path` and return it.

    Weights go to `model.safetensors`, with the tokenizer, `config.json` and the layout files, whatever
    sentence-transformers version is installed. Only an empty folder or one `save_model` wrote before (it
    leaves a `.sitges-retriever` marker) is written to; anything else is refused untouched. The folder is
    written aside and moved into place under a lock, so a failure never leaves a half-written model; a card
    (README.md, model_card.md) and notes already in the folder are kept.
    """
    target = _resolve_target(path)
    _check_parent(target)
    with _save_lock(target):
        recover_interrupted_save(target)
        check_output_folder(target)
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.saving-", dir=target.parent))
        except OSError as error:
            raise ModelFolderError(
                f"Cannot write beside {target} ({error.strerror or error}); choose a writable folder."
            ) from error
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
    """Return `path` resolved if a model may be written there, else raise `ModelFolderError` and touch nothing.

    Allowed: a missing or empty folder, or one `save_model` wrote (its marker, or the format stamp it wrote
    before the marker existed on a complete model folder). Refused: a file, a folder of other things, and a
    read-only folder or file in it (chmod a-w is how users protect a model).
    """
    target = _resolve_target(path)
    if target.exists() and not target.is_dir():
        raise ModelFolderError(f"{target} exists and is a file; give a folder path for the model.")
    if not target.is_dir() or not any(target.iterdir()):
        return target
    if not _written_by_save_model(target):
        names = sorted(p.name for p in target.iterdir())
        listed = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise ModelFolderError(
            f"{target} holds files that are not part of a model folder save_model wrote ({listed}); "
            "writing the model there could replace them. Give a new or empty folder."
        )
    read_only = [p for p in (target, *target.rglob("*")) if not p.is_symlink() and not p.stat().st_mode & stat.S_IWUSR]
    if read_only:
        raise ModelFolderError(
            f"{read_only[0]} is read-only, so the model folder {target} is not replaced; make it writable "
            "(chmod u+w) or give another folder."
        )
    return target


def recover_interrupted_save(target: str | Path) -> Path | None:
    """Undo what a killed `save_model` left beside `target`; return the folder put back, if any.

    A save killed between its two renames leaves the old folder as `.NAME.old-*` and no `target`: it is put
    back. Leftover `.NAME.saving-*` copies (never complete when left) and stale `.NAME.old-*` ones are removed.
    Call it only while holding the save lock (`save_model` and `load` do).
    """
    target = Path(target)
    olds = sorted(target.parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime)
    restored = None
    if olds and not target.exists():
        restored = olds.pop().rename(target)
    for leftover in [*olds, *target.parent.glob(f".{target.name}.saving-*")]:
        shutil.rmtree(leftover, ignore_errors=True)
    return restored


def recover_before_load(path: str | Path) -> None:
    """If a killed save left the folder at `path` missing with its old copy beside it, put that copy back."""
    target = Path(path).expanduser().resolve()
    if not target.exists() and target.parent.is_dir() and any(target.parent.glob(f".{target.name}.old-*")):
        with _save_lock(target):
            recover_interrupted_save(target)


@contextlib.contextmanager
def _save_lock(target: Path) -> Iterator[None]:
    """Hold `.NAME.lock` beside `target` (filelock: released by the OS if the process dies); refuse if taken."""
    from filelock import FileLock, Timeout

    lock_path = target.parent / f".{target.name}.lock"
    lock = FileLock(lock_path, timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise ModelFolderError(
            f"Another save to {target} is running (it holds {lock_path}); wait for it to finish and try again."
        ) from None
    except OSError as error:
        raise ModelFolderError(
            f"Cannot write beside {target} ({error.strerror or error}); choose a writable folder."
        ) from error
    try:
        yield
    finally:
        lock_path.unlink(missing_ok=True)  # while still held: a later save makes a fresh one
        lock.release()


def _resolve_target(path: str | Path) -> Path:
    if not str(path).strip():
        raise ModelFolderError("The model folder path is empty; give the folder to write the model to.")
    return Path(path).expanduser().resolve()


def _check_parent(target: Path) -> None:
    """Create the parent folder, or explain why not (a file in the way, a read-only folder)."""
    for ancestor in target.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ModelFolderError(f"{ancestor} is a file, so {target} cannot be created; give a folder path.")
            if not ancestor.stat().st_mode & stat.S_IWUSR:
                raise ModelFolderError(
                    f"{ancestor} is read-only, so {target} cannot be written; choose another folder."
                )
            break
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ModelFolderError(
            f"Cannot create {target.parent} ({error.strerror or error}); choose another folder."
        ) from error


def _written_by_save_model(folder: Path) -> bool:
    if (folder / MARKER_FILE).is_file():
        return True
    # Folders saved before the marker existed: complete, and stamped with the classic format save_model writes.
    try:
        check_model_folder(folder)
        stamp = json.loads((folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))["__version__"]
    except (ModelFolderError, OSError, ValueError, KeyError, TypeError):
        return False
    return bool(stamp == CLASSIC_FORMAT_VERSION)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_folder(model: SentenceTransformer, folder: Path) -> None:
    transformer: Any = model[0]  # a models.Transformer: indexing the model types it as a plain torch Module
    transformer.auto_model.save_pretrained(folder, safe_serialization=True)
    transformer.tokenizer.save_pretrained(folder)
    for stray in PICKLE_WEIGHTS:
        (folder / stray).unlink(missing_ok=True)
    architecture_of(model).write_layout(folder)
    save_bm25_weights(model, folder)
    (folder / MARKER_FILE).write_text(json.dumps(_marker(), indent=2) + "\n", encoding="utf-8")


def _marker() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("sitges-retriever")
    except PackageNotFoundError:
        package = "unknown"
    return {"written_by": "sitges_retriever.save_model", "version": package}


def _carry_over(old: Path, new: Path) -> None:
    if not old.is_dir():
        return
    for source in old.iterdir():
        if source.name in (MARKER_FILE, HYBRID_FILE) or source.suffix in WEIGHT_SUFFIXES:
            continue  # the old model's own files: the new model writes its own or goes without
        if not (new / source.name).exists():
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
    if not str(folder).strip():
        raise ModelFolderError("The model folder path is empty; give the path of a saved model folder.")
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
    configs = {name: _read_json(folder, name) for name in REQUIRED_FILES}
    modules = configs["modules.json"]
    if not isinstance(modules, list) or not all(
        isinstance(m, dict) and isinstance(m.get("type"), str) for m in modules
    ):
        raise ModelFolderError(
            f"{folder}/modules.json is not a list of modules with a 'type'; re-save it with save_model."
        )
    if any(module["type"].startswith("sentence_transformers.base") for module in modules):
        raise ModelFolderError(
            f"{folder}/modules.json uses the sentence-transformers >= 5.4 format, which older releases cannot "
            "load. Re-save it with sitges_retriever.save_model(model, folder)."
        )
    _check_sizes(folder, configs)
    _check_weights(folder)
    return folder


def _read_json(folder: Path, name: str) -> Any:
    try:
        return json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error).split("\n")[0]
        raise ModelFolderError(
            f"{folder / name} cannot be read as JSON ({reason}); re-save the folder with sitges_retriever.save_model."
        ) from None


def _check_sizes(folder: Path, configs: dict[str, Any]) -> None:
    """The pooling size must be the transformer's hidden size; max_seq_length must fit its position embeddings."""
    config, pooling, st_config = (
        configs[n] for n in ("config.json", f"{POOLING_DIR}/config.json", "sentence_bert_config.json")
    )
    if not all(isinstance(c, dict) for c in (config, pooling, st_config)):
        raise ModelFolderError(f"{folder} has a config that is not a JSON object; re-save it with save_model.")
    hidden, pooled = config.get("hidden_size"), pooling.get("word_embedding_dimension")
    if hidden is not None and pooled != hidden:
        raise ModelFolderError(
            f"{folder}/{POOLING_DIR}/config.json pools {pooled}-d vectors but the transformer is {hidden}-d; "
            "the folder is inconsistent: re-save the model with save_model."
        )
    positions, length = config.get("max_position_embeddings"), st_config.get("max_seq_length")
    if isinstance(positions, int) and isinstance(length, int):
        if config.get("model_type") in ("roberta", "xlm-roberta", "camembert"):
            positions -= 2  # position ids start after the padding index
        if length > positions:
            raise ModelFolderError(
                f"{folder}/sentence_bert_config.json sets max_seq_length {length}, above the model's {positions} "
                f"positions; set it to at most {positions}."
            )


def _check_weights(folder: Path) -> None:
    """Read each safetensors header: a truncated, empty or garbage file is refused before torch sees it."""
    from safetensors import safe_open

    for weights in (
        [folder / WEIGHTS_FILE] if (folder / WEIGHTS_FILE).is_file() else sorted(folder.glob("model-*.safetensors"))
    ):
        try:
            with safe_open(str(weights), framework="np"):
                pass
        except Exception as error:  # safetensors raises its own SafetensorError, OSError or others by version
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ModelFolderError(
                f"{weights} is not a complete safetensors file ({reason}); "
                "it may be truncated: copy or download it again, or re-save the model."
            ) from None
