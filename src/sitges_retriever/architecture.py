"""The single specification of the model: BertModel + mean pooling + Normalize, 512 tokens, 384-d, cosine.

Everything else (the checked-in layout files, `build_model`, the card checks) derives from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from .errors import BaseModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

#: Embedding sizes the model was trained at with MatryoshkaLoss, largest first.
MATRYOSHKA_DIMS: tuple[int, ...] = (384, 256, 128, 64)
EMBEDDING_DIM: int = MATRYOSHKA_DIMS[0]
MAX_SEQ_LENGTH: int = 512
SimilarityName = Literal["cosine", "dot", "euclidean", "manhattan"]
SIMILARITY_FN_NAME: SimilarityName = "cosine"
POOLING_DIR: str = "1_Pooling"
NORMALIZE_DIR: str = "2_Normalize"
#: multilingual-e5 was trained with these prefixes: questions get "query: ", procedure texts "passage: ".
PROMPTS: dict[str, str] = {"query": "query: ", "document": "passage: "}
#: The Hub id users load.
REPO_ID: str = "org/sitges-retriever"
#: The layout is the classic one written by this sentence-transformers release; every release since reads it.
CLASSIC_FORMAT_VERSION: dict[str, str] = {
    "sentence_transformers": "3.0.1",
    "transformers": "4.42.4",
    "pytorch": "2.4.0",
}


@dataclass(frozen=True)
class Architecture:
    """What a model folder of this project must contain, beside the transformer weights."""

    embedding_dim: int = EMBEDDING_DIM
    max_seq_length: int = MAX_SEQ_LENGTH
    do_lower_case: bool = False
    similarity_fn_name: SimilarityName = SIMILARITY_FN_NAME
    prompts: dict[str, str] = field(default_factory=lambda: dict(PROMPTS))
    default_prompt_name: str | None = None

    def layout_files(self) -> dict[str, dict[str, Any] | list[dict[str, Any]]]:
        """The classic (sentence-transformers 3.x) layout files, path -> JSON content."""
        return {
            "modules.json": [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": POOLING_DIR, "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": NORMALIZE_DIR, "type": "sentence_transformers.models.Normalize"},
            ],
            "sentence_bert_config.json": {
                "max_seq_length": self.max_seq_length,
                "do_lower_case": self.do_lower_case,
            },
            "config_sentence_transformers.json": {
                "__version__": dict(CLASSIC_FORMAT_VERSION),
                "prompts": dict(self.prompts),
                "default_prompt_name": self.default_prompt_name,
                "similarity_fn_name": self.similarity_fn_name,
            },
            f"{POOLING_DIR}/config.json": {
                "word_embedding_dimension": self.embedding_dim,
                "pooling_mode_cls_token": False,
                "pooling_mode_mean_tokens": True,
                "pooling_mode_max_tokens": False,
                "pooling_mode_mean_sqrt_len_tokens": False,
                "pooling_mode_weightedmean_tokens": False,
                "pooling_mode_lasttoken": False,
                "include_prompt": True,
            },
        }

    def write_layout(self, folder: str | Path) -> list[Path]:
        """Write the layout files into `folder`; return the paths written."""
        written = []
        for relative, content in self.layout_files().items():
            path = Path(folder) / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            written.append(path)
        return written


ARCHITECTURE = Architecture()


def build_model(
    base: str | Path,
    *,
    architecture: Architecture = ARCHITECTURE,
    prompts: dict[str, str] | None = None,
    device: str | None = None,
) -> SentenceTransformer:
    """Assemble BertModel + mean pooling + Normalize from a base checkpoint (a local folder or a Hub id).

    The base may be a plain transformers checkpoint or a sentence-transformers folder; only its
    transformer weights and tokenizer are used, the rest comes from `architecture`. `prompts` replaces the
    architecture's ("query" / "document" prefixes); `{}` for a base trained without them.
    """
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer import modules as models  # 6.x
    except ImportError:
        from sentence_transformers import models  # type: ignore[attr-defined, no-redef]  # 3.x - 5.x

    transformer = models.Transformer(str(base), max_seq_length=architecture.max_seq_length)
    hidden = transformer.auto_model.config.hidden_size
    if hidden != architecture.embedding_dim:
        raise BaseModelError(
            f"The base {base!s} has hidden size {hidden}, but this model is {architecture.embedding_dim}-d. "
            f"Pick a base with hidden_size {architecture.embedding_dim} "
            "(e.g. the default intfloat/multilingual-e5-small or a MiniLM-L6/L12-H384 checkpoint)."
        )
    pooling = models.Pooling(architecture.embedding_dim, "mean")
    prompts = dict(architecture.prompts if prompts is None else prompts)
    return SentenceTransformer(
        modules=[transformer, pooling, models.Normalize()],
        device=device,
        similarity_fn_name=architecture.similarity_fn_name,
        prompts=prompts or None,
        default_prompt_name=architecture.default_prompt_name,
    )


def describe(model: SentenceTransformer) -> dict[str, Any]:
    """The architecture facts of a loaded `SentenceTransformer`, the same on every sentence-transformers release."""
    pooling: dict[str, Any] = cast(Any, model[1]).get_config_dict()
    mode = pooling.get("pooling_mode") or next(
        key.removeprefix("pooling_mode_").removesuffix("_tokens") for key, on in pooling.items() if on is True
    )
    return {
        "transformer": type(model[0].auto_model).__name__,
        "pooling": mode,
        "max_seq_length": model.max_seq_length,
        "embedding_dim": model.get_sentence_embedding_dimension(),
        "similarity_fn_name": model.similarity_fn_name,
    }
