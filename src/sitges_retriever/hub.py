"""The Hub side: load a model from a folder or a Hub id (pinned revision, offline cache)."""

from __future__ import annotations

import functools
from pathlib import Path

from .architecture import POOLING_DIR, REPO_ID
from .errors import ModelNotAvailableError
from .matryoshka import check_dim
from .persistence import check_model_folder

#: What a model needs from its repo: safetensors weights, tokenizer, configs, the card. No pickle, ONNX or OpenVINO.
MODEL_FILE_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "README.md", f"{POOLING_DIR}/*"]
NOT_MODEL_FILES = ["*.bin", "*.pt", "*.h5", "*.msgpack", "*.onnx", "onnx/*", "openvino/*", "*.ckpt"]


def load(
    model: str | Path = REPO_ID,
    *,
    dim: int | None = None,
    revision: str | None = None,
    device: str | None = None,
    offline: bool | None = None,
    token: str | bool | None = None,
):
    """Load the model as a `SentenceTransformer` from a local folder or a Hub id.

    With `dim` (one of MATRYOSHKA_DIMS) `encode` returns embeddings cut to `dim` and L2-normalised again.
    `revision` pins a branch, tag or commit; `offline` (default: HF_HUB_OFFLINE) loads from the local cache only.
    Only safetensors weights are read, and no remote code runs.
    """
    from sentence_transformers import SentenceTransformer

    if dim is not None:
        check_dim(dim)
    folder = check_model_folder(model_folder(model, revision=revision, offline=offline, token=token))
    loaded = SentenceTransformer(
        str(folder),
        device=device,
        trust_remote_code=False,
        truncate_dim=dim,
        model_kwargs={"use_safetensors": True},
    )
    return _renormalizing(loaded) if dim is not None else loaded


def model_folder(
    model: str | Path,
    *,
    revision: str | None = None,
    offline: bool | None = None,
    token: str | bool | None = None,
) -> Path:
    """The local folder holding `model`: the path itself, or the Hub snapshot (downloaded if needed)."""
    if Path(model).expanduser().is_dir():
        if revision is not None:
            raise ValueError(f"revision={revision!r} applies to Hub ids, but {model} is a local folder.")
        return Path(model).expanduser()
    if str(model).count("/") != 1 or str(model).startswith((".", "/", "~")):
        raise ModelNotAvailableError(
            f"{model} is neither an existing folder nor a Hub id of the form 'namespace/name'. "
            "Check the path, or give the Hub id (e.g. 'org/sitges-retriever')."
        )
    return _download(str(model), revision=revision, offline=offline, token=token)


def _download(repo_id: str, *, revision: str | None, offline: bool | None, token: str | bool | None) -> Path:
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    offline = constants.HF_HUB_OFFLINE if offline is None else offline
    where = f"{repo_id} at revision {revision or 'main'}"
    try:
        return Path(
            snapshot_download(
                repo_id,
                revision=revision,
                allow_patterns=MODEL_FILE_PATTERNS,
                ignore_patterns=NOT_MODEL_FILES,
                local_files_only=offline,
                token=token,
            )
        )
    except GatedRepoError as error:
        raise ModelNotAvailableError(f"{where} is gated: accept its terms on the Hub, then log in.") from error
    except RepositoryNotFoundError as error:
        raise ModelNotAvailableError(
            f"{repo_id} was not found on {constants.ENDPOINT}: check the id, or log in "
            "(`hf auth login` or HF_TOKEN) if the repo is private."
        ) from error
    except RevisionNotFoundError as error:
        raise ModelNotAvailableError(
            f"{repo_id} has no revision {revision!r}: give an existing branch, tag or commit."
        ) from error
    except LocalEntryNotFoundError as error:
        raise ModelNotAvailableError(
            f"{where} is not in the local Hugging Face cache ({constants.HF_HUB_CACHE}) and the Hub cannot be "
            "reached (offline mode or no network). Download it once while online, e.g. "
            f"`hf download {repo_id}{f' --revision {revision}' if revision else ''}`, "
            "or point HF_HOME at a cache that has it."
        ) from error


def _renormalizing(model):
    """Make `encode` (and encode_query / encode_document, which call it) return unit-length cut vectors."""
    encode = model.encode

    @functools.wraps(encode)
    def encode_cut_and_normalized(*args, **kwargs):
        kwargs["normalize_embeddings"] = True
        return encode(*args, **kwargs)

    model.encode = encode_cut_and_normalized
    return model
