"""The Hub side: load a model from a folder or a Hub id (pinned revision, offline cache), and push one."""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .architecture import EMBEDDING_DIM, POOLING_DIR, REPO_ID
from .errors import HubError, ModelFolderError, ModelNotAvailableError
from .fusion_weights import HYBRID_FILE, load_bm25_weights
from .matryoshka import check_dim
from .persistence import REQUIRED_FILES, check_model_folder, recover_before_load, save_model

if TYPE_CHECKING:
    from huggingface_hub import HfApi
    from sentence_transformers import SentenceTransformer

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
) -> SentenceTransformer:
    """Load the model as a `SentenceTransformer` from a local folder or a Hub id.

    With `dim` (one of MATRYOSHKA_DIMS) `encode` returns embeddings cut to `dim` and L2-normalised again
    (pass `normalize_embeddings=False` to `encode` for the plain cut prefix).
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
    load_bm25_weights(loaded, folder)
    return _renormalizing(loaded) if dim is not None else loaded


def model_folder(
    model: str | Path,
    *,
    revision: str | None = None,
    offline: bool | None = None,
    token: str | bool | None = None,
) -> Path:
    """The local folder holding `model`: the path itself, or the Hub snapshot (downloaded if needed)."""
    if not str(model).strip():
        raise ModelNotAvailableError("The model path is empty; give a model folder or a Hub id such as " + REPO_ID)
    recover_before_load(model)  # a save killed between its two renames: put the old folder back
    if Path(model).expanduser().is_dir():
        if revision is not None:
            raise ModelFolderError(
                f"revision={revision!r} applies to Hub ids, but {model} is a local folder: drop the revision, "
                "or give the Hub id."
            )
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
        HfHubHTTPError,
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
    except HfHubHTTPError as error:  # any other answer of the Hub's (a bad token, a rate limit)
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelNotAvailableError(f"{where} could not be downloaded: {first_line}") from error


def _renormalizing(model: Any) -> Any:
    """Make `encode`, `encode_query` and `encode_document` return unit-length cut vectors, unless the caller
    passes `normalize_embeddings=False` (then the plain cut prefix). Each is wrapped: encode_query passes its own
    default (False) on to encode explicitly."""

    def defaulting_to_normalized(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def cut_and_normalized(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("normalize_embeddings", True)
            return method(*args, **kwargs)

        return cut_and_normalized

    for name in ("encode", "encode_query", "encode_document"):
        if hasattr(model, name):
            setattr(model, name, defaulting_to_normalized(getattr(model, name)))
    return model


#: What a pushed repo holds: the model files and the card (as README.md); nothing else of the project.
PUSHED_FILE_PATTERNS = [
    *REQUIRED_FILES,
    "model.safetensors",
    "model.safetensors.index.json",
    "model-*.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "added_tokens.json",
    HYBRID_FILE,
    "README.md",
]
CARD_NAMES = ("README.md", "model_card.md")  # README.md: the card of a model folder; model_card.md: older folders


def push_to_hub(
    model_or_folder: SentenceTransformer | str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    revision: str | None = None,
    create_pr: bool = False,
    commit_message: str | None = None,
    card: str | Path | None = None,
) -> str:
    """Upload one complete model repo (weights, tokenizer, layout files, card as README.md); return the commit URL.

    `model_or_folder` is a `SentenceTransformer` or a folder written by `save_model`; the card is `card`, else the
    folder's README.md or model_card.md. Nothing is uploaded unless the folder loads and the card check passes.
    The repo is created when missing; pushing again to it makes a new commit. The token is found the way
    huggingface_hub finds it (`hf auth login`, HF_TOKEN, a notebook secret) and never printed.
    """
    with tempfile.TemporaryDirectory(prefix="sitges-push-") as scratch:
        if isinstance(model_or_folder, (str, Path)):
            folder = Path(model_or_folder)
        else:
            folder = save_model(model_or_folder, Path(scratch) / "model")
        staged = _stage_repo(folder, _find_card(folder, card), Path(scratch) / "repo")
        return _upload(
            staged,
            repo_id,
            token=token,
            private=private,
            revision=revision,
            create_pr=create_pr,
            commit_message=commit_message or f"Upload sitges-retriever model ({EMBEDDING_DIM}-d)",
        )


def _find_card(folder: Path, card: str | Path | None) -> Path:
    candidates = [Path(card)] if card is not None else [folder / name for name in CARD_NAMES]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise HubError(
        f"No model card found ({', '.join(str(c) for c in candidates)}); nothing was uploaded. Write one with "
        "`sitges-retriever card update --results ... --card model_card.md`, or pass card=PATH."
    )


def _stage_repo(folder: Path, card: Path, staged: Path) -> Path:
    """Check the folder loads and the card fits the model, then lay out exactly the files to upload."""
    from .card import check_card

    try:
        check_model_folder(folder)
        _check_loads(folder)
    except Exception as error:  # any failure to load (bad weights, configs, tokenizer) means: do not upload
        raise HubError(f"{folder} does not load as a model, so nothing was uploaded: {error}") from error
    problems = check_card(card)
    if problems:
        listed = "\n".join(f"  - {problem.message}" for problem in problems)
        raise HubError(
            f"The card {card} does not fit the model, so nothing was uploaded:\n{listed}\n"
            "Regenerate its metrics with `sitges-retriever card update`."
        )
    for pattern in PUSHED_FILE_PATTERNS:
        for source in folder.glob(pattern):
            if source.name != "README.md":
                target = staged / source.relative_to(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    shutil.copy2(card, staged / "README.md")
    return staged


def _check_loads(folder: Path) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(
        str(folder), device="cpu", trust_remote_code=False, model_kwargs={"use_safetensors": True}
    )
    width = model.encode(["Prova de càrrega"], show_progress_bar=False).shape[-1]
    if width != EMBEDDING_DIM:
        raise ModelFolderError(f"it produces {width}-d embeddings, not {EMBEDDING_DIM}-d")


def _upload(
    staged: Path,
    repo_id: str,
    *,
    token: str | None,
    private: bool,
    revision: str | None,
    create_pr: bool,
    commit_message: str | None,
) -> str:
    from huggingface_hub import HfApi, get_token
    from huggingface_hub.errors import HfHubHTTPError

    if token is None and get_token() is None:
        raise HubError(
            f"No Hugging Face token found, so nothing was pushed to {repo_id}: log in with "
            "`hf auth login` (or `huggingface_hub.login()` in a notebook), or set HF_TOKEN."
        )
    api = HfApi(token=token)
    created, network = False, _transport_errors()
    try:
        created = not api.repo_exists(repo_id)
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision is not None and not create_pr:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=staged,
            revision=revision,
            create_pr=create_pr,
            commit_message=commit_message,
            delete_patterns=["*", "**/*"],
        )
    except Exception as error:
        # huggingface_hub wraps a failed LFS upload in RuntimeError / ValueError: look at the cause too
        cause = next((e for e in (error, error.__cause__) if isinstance(e, (HfHubHTTPError, *network))), None)
        if cause is None:
            raise
        if isinstance(cause, HfHubHTTPError):
            message = _explain(api, cause, repo_id)
        else:  # connection refused, reset, timed out; DNS failure
            message = (
                f"Cannot reach the Hub at {api.endpoint} to push {repo_id} ({type(cause).__name__}: {cause}); "
                "check the network or HF_ENDPOINT and try again."
            )
        raise HubError(message + _undo_create(api, repo_id, created)) from error
    return info.pr_url if create_pr and info.pr_url else info.commit_url


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Network failures of whichever HTTP client this huggingface_hub uses (requests, httpx or httpx2)."""
    import importlib

    errors: list[type[BaseException]] = [OSError]
    for module, name in (("httpx2", "TransportError"), ("httpx", "TransportError"), ("requests", "ConnectionError")):
        try:
            errors.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def _undo_create(api: HfApi, repo_id: str, created: bool) -> str:
    """Delete a repo this push created before failing; the sentence to add to the error saying what happened."""
    if not created:
        return ""
    try:
        if not api.repo_exists(repo_id):
            return ""
        api.delete_repo(repo_id)
    except Exception:  # the Hub is unreachable or refuses: tell the user instead
        return f" The push created the repo {repo_id}, which may be left empty: delete it on the Hub if so."
    return f" The empty repo {repo_id} this push created was deleted."


def _explain(api: HfApi, error: Exception, repo_id: str) -> str:
    """Turn the Hub's 401/403/404 answers into what to do (a 403 is told apart with whoami)."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    namespace = repo_id.split("/")[0]
    login = "log in with `hf auth login`, set HF_TOKEN, or pass token=... (a token with write access)"
    if status == 401:
        return f"The Hub did not accept your credentials for {repo_id} (401): {login}."
    missing_namespace = (
        f"The namespace '{namespace}' of {repo_id} does not exist or you are not a member of it "
        f"({status}): check the organisation or user name."
    )
    if status == 404:
        return missing_namespace
    if status == 403:
        try:
            me = api.whoami()
        except Exception:  # the token itself was refused: the 403 is about credentials
            return f"The Hub refused your token for {repo_id} (403): {login}."
        role = me.get("auth", {}).get("accessToken", {}).get("role")
        if role == "read":
            return (
                f"Your token is read-only, so it may not push to {repo_id} (403): create a token with write "
                "access at https://huggingface.co/settings/tokens and log in with it."
            )
        if namespace not in {me.get("name"), *(org.get("name") for org in me.get("orgs", []))}:
            return missing_namespace
        return f"Your token lacks write access to {repo_id} (403): ask an admin of '{namespace}' for write rights."
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    if status is not None and status >= 500:
        return f"The Hub failed while pushing to {repo_id} (server error {status}: {reason}); try again later."
    return f"The Hub refused the push to {repo_id} ({status}): {reason}"
