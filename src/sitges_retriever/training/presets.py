"""The training recipes (`published`, `default`) and the parsing of `--set key=value` overrides."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..architecture import MATRYOSHKA_DIMS
from ..bases import E5_SMALL, MINILM
from ..errors import PresetError

#: The softmax scale (inverse temperature) of the ranking loss for a preset that leaves it to the base (None), by the
#: base's Hub id; any other base trains at sentence-transformers' 20. Chosen on held-out ViquiQuAD (tuning.json):
#: e5 was pretrained at temperature 0.01 and gains from a sharp softmax (50 beat 20 by 0.027 nDCG@10 at 384);
#: all-MiniLM-L6-v2 was trained at 20 and keeps it (50 cost it 0.004-0.028 at every size).
BASE_SCALES: dict[str, float] = {E5_SMALL: 50.0, MINILM: 20.0}
DEFAULT_SCALE = 20.0


@dataclass(frozen=True)
class Preset:
    """One training recipe. Every field can be overridden: `train(overrides={...})` or `--set key=value`.

    Keys that are not fields here but are `SentenceTransformerTrainingArguments` fields go to `extra_args`.
    """

    name: str
    loss: str = "mnrl"  # see LOSSES; the cached_ ones compute the same loss in mini-batches (less memory)
    batch_size: int = 16
    gradient_accumulation_steps: int = 1
    mini_batch_size: int = 32  # cached_ losses only: texts per forward pass; memory, not the result
    scale: float | None = DEFAULT_SCALE  # mnrl / cached_mnrl: the inverse temperature (None: BASE_SCALES)
    loss_options: Mapping[str, Any] = field(default_factory=dict)  # more keyword arguments for the ranking loss
    max_seq_length: int | None = None  # tokens per text while training (None: the model's 512); saved model: 512
    epochs: float = 1.0
    min_steps: int = 0  # train at least this many optimizer steps: small data sets get whole epochs more
    lr: float = 5e-5
    scheduler: str = "cosine"
    warmup_ratio: float = 0.1
    batch_sampler: str = "no_duplicates"
    bf16: bool | None = None  # None: where the hardware has it (a CUDA device with bf16)
    eval_strategy: str = "epoch"
    load_best_model_at_end: bool = True
    best_metric: str = "sequential_score"  # evaluator key; sequential_score = mean nDCG@10 over the dims
    seed: int = 42
    held_out: float = 0.1  # share of pairs held out for evaluation when no evaluation folder is given
    validation: float = 0.1  # share of the rest held out to choose the epoch and the BM25 weight; 0: none
    matryoshka_dims: tuple[int, ...] = MATRYOSHKA_DIMS
    matryoshka_weights: tuple[float, ...] | None = None  # one per dim; None: all 1
    hard_negatives: int = 0  # negatives per pair, mined from the other training positives; 0: none
    hard_negatives_miner: str = "base"  # "base": the base model (mine_hard_negatives); "bm25": keyword search
    hard_negatives_range_min: int = 0  # skip this many top-ranked candidates (may be unlabeled positives)
    hard_negatives_range_max: int | None = None  # consider only this many top-ranked candidates
    hard_negatives_margin: float | None = 0.05  # base miner: relative margin below the positive's score
    query_prompt: str | None = None  # prepended to questions, saved as the "query" prompt (None: the base's)
    document_prompt: str | None = None  # prepended to procedure texts, saved as "document" (None: the base's)
    train_word_embeddings: bool = True  # False: freeze the vocabulary's embeddings (e5: 96M of its 118M weights)
    extra_args: Mapping[str, Any] = field(default_factory=dict)

    def for_base(self, base_name: str) -> Preset:
        """A copy with what the preset leaves to the base filled in for `base_name` (a Hub id): the scale."""
        if self.scale is not None:
            return self
        return dataclasses.replace(self, scale=BASE_SCALES.get(base_name, DEFAULT_SCALE))

    def with_overrides(self, overrides: Mapping[str, Any] | None = None) -> Preset:
        """A copy with `overrides` applied; strings (from the command line) are parsed to the field's type."""
        if not overrides:
            return self
        known = {f.name for f in dataclasses.fields(self)} - {"extra_args"}
        changes: dict[str, Any] = {}
        extra = dict(self.extra_args)
        for key, value in overrides.items():
            if key in known:
                changes[key] = _coerce(key, value)
            elif key in _training_argument_names():
                extra[key] = _parse(value) if isinstance(value, str) else value
            else:
                raise PresetError(
                    f"Unknown setting {key!r}. Preset settings: {', '.join(sorted(known))}; any "
                    "SentenceTransformerTrainingArguments field (e.g. logging_steps) is passed to the trainer."
                )
        return dataclasses.replace(self, **changes, extra_args=extra)


#: The published card's run, exactly (its gradient accumulation adds no in-batch negatives: 15 per question).
PUBLISHED = Preset(
    name="published",
    loss="mnrl",
    batch_size=16,
    gradient_accumulation_steps=16,
    epochs=5,
    lr=5e-5,
    scheduler="cosine",
    warmup_ratio=0.2,
    batch_sampler="no_duplicates",
    bf16=None,
    eval_strategy="epoch",
    load_best_model_at_end=True,
    best_metric="dim_128_cosine_ndcg@10",
    seed=42,
)

#: Our recommendation for multilingual-e5-small, chosen on a held-out tenth of ViquiQuAD (benchmarks/tune_recipe.py,
#: tuning.json): one epoch of in-batch negatives (plus one hard negative, below) at lr 1e-4 with a batch of 32 (not
#: gradient accumulation, which adds no negatives), the base's softmax scale (BASE_SCALES: 50 for e5, 20 for MiniLM),
#: 128 training tokens per text, a little more weight on the small Matryoshka sizes, and the vocabulary's embeddings
#: frozen (96M of e5's 118M weights: the same held-out scores as training them, within 0.003, with no optimizer state
#: for them). One hard negative per pair from Catalan BM25 (the other positive it ranks highest: a text sharing the
#: question's words that does not answer it) aims at what keyword search gets wrong. It gave the best hybrid of every
#: recipe tried (mean 0.908 against 0.903 without, within noise, at BM25's textbook k1 1.2, b 0.75; 0.910 since
#: BM25 took k1 1.5, b 0.3), and puts "Alta" above "Baixa" for the README's question.
#: Two BM25 negatives, a batch of 64 and more epochs bought nothing on e5.
#: At least 32 steps (one ViquiQuAD epoch is 36-40): the demo set's 268 pairs train 4 epochs, the best kept.
DEFAULT = Preset(
    name="default",
    loss="mnrl",
    batch_size=32,
    max_seq_length=128,
    epochs=1,
    min_steps=32,
    lr=1e-4,
    scale=None,
    scheduler="cosine",
    warmup_ratio=0.1,
    batch_sampler="no_duplicates",
    hard_negatives=1,
    hard_negatives_miner="bm25",
    train_word_embeddings=False,
    matryoshka_weights=(1.0, 1.0, 1.1, 1.25),
    best_metric="sequential_score",
    seed=42,
)

PRESETS: dict[str, Preset] = {preset.name: preset for preset in (PUBLISHED, DEFAULT)}


def get_preset(name: str | Preset = "default", overrides: Mapping[str, Any] | None = None) -> Preset:
    """The preset called `name` (or the given Preset) with `overrides` applied."""
    if isinstance(name, Preset):
        return name.with_overrides(overrides)
    if name not in PRESETS:
        raise PresetError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return PRESETS[name].with_overrides(overrides)


def parse_settings(settings: Iterable[str]) -> dict[str, str]:
    """`["lr=2e-5", "epochs=3"]` -> `{"lr": "2e-5", "epochs": "3"}` (values are parsed by `Preset.with_overrides`)."""
    parsed = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep or not key.strip():
            raise PresetError(f"Settings take the form key=value (e.g. lr=2e-5), got {setting!r}.")
        parsed[key.strip()] = value
    return parsed


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"none": None, "null": None, "true": True, "false": False}.get(text.lower(), text)


def _coerce(key: str, value: Any) -> Any:
    """`value` as the type of Preset field `key` (strings from the command line are parsed first)."""
    allowed = _options(typing.get_type_hints(Preset)[key])
    value = _parse(value) if isinstance(value, str) and str not in allowed else value
    if value is None and type(None) in allowed:
        return None
    for option in allowed:
        if typing.get_origin(option) is Mapping and isinstance(value, Mapping):
            return dict(value)
        if typing.get_origin(option) is tuple and isinstance(value, (list, tuple)):
            kind = typing.get_args(option)[0]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                return tuple(kind(v) for v in value)
    for kind in (bool, int, float, str):
        if kind in allowed and isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            return value
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    names = " or ".join(getattr(option, "__name__", str(option)).replace("NoneType", "None") for option in allowed)
    raise PresetError(f"Setting {key} takes {names}, got {value!r}.")


def _options(hint: Any) -> tuple[Any, ...]:
    """The types a hint allows: `int | None` -> (int, NoneType); `tuple[int, ...]` -> (tuple[int, ...],)."""
    return typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)


def _training_argument_names() -> set[str]:
    from sentence_transformers import SentenceTransformerTrainingArguments

    return {f.name for f in dataclasses.fields(SentenceTransformerTrainingArguments) if f.init}
