"""Fine-tuning: the recipe presets (`published`, `default`) and `train()`, the project's main job.

Data flows one way: pairs -> model (SentenceTransformerTrainer) -> evaluation -> model folder + card.
The run is the sentence-transformers trainer's own, so it works unchanged under `torchrun` /
`accelerate launch`; only the main process writes the output folder and the card.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import shutil
import statistics
import time
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .architecture import MATRYOSHKA_DIMS
from .bases import Base, resolve_base
from .data import IRTask, Pairs, demo_pairs, ir_task_from_pairs, load_ir_folder, read_pairs, split_pairs
from .errors import DataError, ModelFolderError, SitgesError
from .evaluation import EvaluationReport, build_evaluator, evaluate
from .persistence import check_output_folder

DEFAULT_OUTPUT = "sitges-retriever-model"
CARD_FILE = "model_card.md"

#: Trainer arguments `train` sets for its own bookkeeping, not part of the recipe (left out of the card).
PLUMBING_ARGUMENTS = frozenset({"save_only_model", "use_cpu", "dataloader_drop_last", "dataloader_pin_memory"})


class PresetError(SitgesError, ValueError):
    """An unknown preset, or an override that does not fit it."""


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
    scale: float = 20.0  # mnrl / cached_mnrl: the inverse temperature
    loss_options: Mapping[str, Any] = field(default_factory=dict)  # more keyword arguments for the ranking loss
    max_seq_length: int | None = None  # tokens per text while training (None: the model's 512); saved model: 512
    epochs: float = 1.0
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

#: Our recommendation, measured against `published` in benchmarks/ (README there): in-batch negatives plus two
#: hard negatives per question mined with the base model, whose logits get a hardness penalty (EmbeddingGemma's
#: `hardness_mode="hard_negatives"`, strength 5), a batch of 32 instead of gradient accumulation (which adds no
#: negatives), 128 training tokens per text (512 costs several times the memory and time), and a little more
#: weight on the small Matryoshka sizes, which lag most.
DEFAULT = Preset(
    name="default",
    loss="mnrl",
    batch_size=32,
    max_seq_length=128,
    epochs=2,
    lr=1e-4,
    scheduler="cosine",
    warmup_ratio=0.1,
    batch_sampler="no_duplicates",
    hard_negatives=2,
    hard_negatives_miner="base",
    loss_options={"hardness_mode": "hard_negatives", "hardness_strength": 5.0},
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


# --------------------------------------------------------------------------- train


@dataclass
class TrainingResult:
    """What `train` produced: the model folder (None on non-main processes), its evaluation and the run's facts."""

    output: Path | None
    report: EvaluationReport | None
    preset: Preset
    base: Base
    train_pairs: int
    duplicates_dropped: int
    with_hard_negatives: int
    seconds: float
    log: list[dict[str, Any]] = field(default_factory=list)


def train(
    data: str | Path | Sequence[str | Path] | Any | None = None,
    *,
    eval_data: str | Path | IRTask | None = None,
    preset: str | Preset = "default",
    base: str | Path | None = None,
    output: str | Path = DEFAULT_OUTPUT,
    overrides: Mapping[str, Any] | None = None,
    max_steps: int | None = None,
    baseline: bool = True,
    card_template: str | Path | None = None,
) -> TrainingResult:
    """Fine-tune the base on (positive, anchor) pairs, evaluate per Matryoshka dim beside BM25, write folder + card.

    `data`: pair files or a `datasets.Dataset` (default: the Catalan demo set). `eval_data`: a folder with
    queries.json / corpus.json / relevant_docs.json; without it about `held_out` of the pairs are held out,
    split by positive. `card_template`: the card to start from (default: ./model_card.md if present).
    """
    started = time.perf_counter()
    recipe = get_preset(preset, {**(overrides or {}), **({"max_steps": max_steps} if max_steps else {})})
    output = Path(output).expanduser().resolve()
    _check_output(output)
    loss_class = _loss_class(recipe)  # a wrong loss setting is refused before any data, model or mining work
    pairs = demo_pairs() if data is None else read_pairs(data)
    train_pairs, task = _split(pairs, eval_data, recipe)

    from sentence_transformers import SentenceTransformerTrainer

    from .architecture import build_model

    source = resolve_base(base)
    model = build_model(source.path, prompts=_prompts(recipe, source))
    if not recipe.train_word_embeddings:
        model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
    dataset, mined = train_pairs.to_dataset(), 0
    if recipe.hard_negatives:
        dataset, mined = _mine_hard_negatives(dataset, model, recipe)
    columns = [c for d in (dataset.values() if isinstance(dataset, dict) else [dataset]) for c in d.column_names]
    checkpoints = output.parent / f".{output.name}.checkpoints"
    args = _training_arguments(recipe, checkpoints, list(dict.fromkeys(columns)), model.prompts)
    evaluator = build_evaluator(
        task, recipe.matryoshka_dims, batch_size=args.per_device_eval_batch_size, max_seq_length=model.max_seq_length
    )
    evaluator.reported = ("cosine_ndcg@10", recipe.best_metric)  # a short progress log: nDCG@10 per dim
    if recipe.max_seq_length:
        model.max_seq_length = recipe.max_seq_length  # training only; evaluation and the saved model keep 512
    loss = _loss(model, recipe, source, loss_class)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss, evaluator=evaluator)
    try:
        trainer.train()
        trainer.accelerator.wait_for_everyone()  # every process has loaded the best checkpoint before it goes
    finally:
        if trainer.is_world_process_zero():
            shutil.rmtree(checkpoints, ignore_errors=True)
    model.max_seq_length = evaluator.max_seq_length
    log = [dict(row) for row in model.model_card_data.training_logs]
    result = TrainingResult(
        output=None,
        report=None,
        preset=recipe,
        base=source,
        train_pairs=len(train_pairs),
        duplicates_dropped=pairs.duplicates_dropped,
        with_hard_negatives=mined,
        seconds=0.0,
        log=log,
    )
    if not trainer.is_world_process_zero():
        return result
    model.model_card_data.training_logs = []  # the final evaluation below is not a training-log row
    result.report = evaluate(model, task, dims=recipe.matryoshka_dims, baseline=baseline)
    result.output = _write(model, output, result, train_pairs, card_template)
    result.seconds = time.perf_counter() - started
    return result


def _split(pairs: Pairs, eval_data: str | Path | IRTask | None, recipe: Preset) -> tuple[Pairs, IRTask]:
    if isinstance(eval_data, IRTask):
        return pairs, eval_data
    if eval_data is not None:
        return pairs, load_ir_folder(eval_data)
    train_pairs, held_out = split_pairs(pairs, test_size=recipe.held_out, seed=recipe.seed)
    return train_pairs, ir_task_from_pairs(held_out, train_pairs.positive)


def _check_output(output: Path) -> None:
    """Refuse, before training, an output that save_model would refuse at the end."""
    try:
        check_output_folder(output)
    except ModelFolderError as error:
        raise DataError(f"--output: {error}") from error


def _mine_hard_negatives(dataset, model, recipe: Preset):
    """Add `hard_negatives` negative columns per pair, mined from the other training positives.

    Pairs for which too few candidates qualify keep training as plain pairs (a second dataset), so mining
    never drops training data. Returns the dataset(s) and the number of pairs that got negatives.
    """
    from datasets import DatasetDict

    if recipe.hard_negatives_miner == "base":
        from sentence_transformers.util import mine_hard_negatives

        mined = mine_hard_negatives(
            dataset,
            model,
            anchor_column_name="anchor",
            positive_column_name="positive",
            num_negatives=recipe.hard_negatives,
            range_min=recipe.hard_negatives_range_min,
            range_max=recipe.hard_negatives_range_max,
            relative_margin=recipe.hard_negatives_margin,
            sampling_strategy="top",
            output_format="n-tuple",
            query_prompt_name="query" if "query" in model.prompts else None,
            corpus_prompt_name="document" if "document" in model.prompts else None,
            batch_size=64,
            verbose=False,
        )
    elif recipe.hard_negatives_miner == "bm25":
        mined = _mine_with_bm25(dataset, recipe)
    else:
        raise PresetError(f"Unknown hard_negatives_miner {recipe.hard_negatives_miner!r}; use 'base' or 'bm25'.")
    if len(mined) == 0:
        return dataset, 0
    with_negatives = set(zip(mined["anchor"], mined["positive"], strict=True))
    rest = dataset.filter(lambda row: (row["anchor"], row["positive"]) not in with_negatives)
    if len(rest) == 0:
        return mined, len(mined)
    return DatasetDict({"hard_negatives": mined, "pairs": rest}), len(mined)


def _mine_with_bm25(dataset, recipe: Preset):
    """The top BM25 matches of each question among the other training positives, as negative_1..n columns.

    Hand-written: sentence-transformers mines with an embedding model only.
    """
    from datasets import Dataset

    from .evaluation import bm25_rank

    corpus = sorted(set(dataset["positive"]))
    own: dict[str, set[str]] = {}
    for anchor, positive in zip(dataset["anchor"], dataset["positive"], strict=True):
        own.setdefault(anchor, set()).add(positive)
    wanted = recipe.hard_negatives_range_max or recipe.hard_negatives_range_min + recipe.hard_negatives + 5
    depth = min(len(corpus), wanted + max(map(len, own.values())))
    ranked, scores = bm25_rank(corpus, dataset["anchor"], depth)
    rows = []
    for row, documents, row_scores in zip(dataset, ranked, scores, strict=True):
        candidates = [corpus[d] for d, score in zip(documents, row_scores, strict=True) if score > 0]
        candidates = [c for c in candidates if c not in own[row["anchor"]]][recipe.hard_negatives_range_min : wanted]
        if len(candidates) >= recipe.hard_negatives:
            negatives = candidates[: recipe.hard_negatives]
            rows.append({**row, **{f"negative_{i}": text for i, text in enumerate(negatives, start=1)}})
    return Dataset.from_list(rows) if rows else dataset.select([])


#: The ranking losses a preset can use inside MatryoshkaLoss (GIST: the base model guides which negatives count).
LOSSES = {
    "mnrl": "MultipleNegativesRankingLoss",
    "cached_mnrl": "CachedMultipleNegativesRankingLoss",
    "gist": "GISTEmbedLoss",
    "cached_gist": "CachedGISTEmbedLoss",
}


def _losses():
    try:
        from sentence_transformers.sentence_transformer import losses  # 6.x
    except ImportError:
        from sentence_transformers import losses  # 3.x - 5.x
    return losses


def _loss_class(recipe: Preset):
    """The recipe's ranking-loss class, once its loss name, loss_options and Matryoshka weights are checked."""
    if recipe.loss not in LOSSES:
        raise PresetError(f"Unknown loss {recipe.loss!r}; use one of {', '.join(LOSSES)}.")
    kind = getattr(_losses(), LOSSES[recipe.loss])
    accepted = set(inspect.signature(kind).parameters) - {"model", "guide", "scale", "mini_batch_size"}
    if unknown := sorted(set(recipe.loss_options) - accepted):
        raise PresetError(
            f"{kind.__name__} takes no option {', '.join(map(repr, unknown))} in loss_options; "
            f"it accepts {', '.join(sorted(accepted)) or 'none'} (this sentence-transformers version). A preset's "
            "loss_options fit its own loss: with another loss, set loss_options too (loss_options={} for none)."
        )
    weights = recipe.matryoshka_weights
    if weights is not None and len(weights) != len(recipe.matryoshka_dims):
        raise PresetError(
            f"matryoshka_weights needs one weight per dim {list(recipe.matryoshka_dims)}, got {list(weights)}."
        )
    return kind


def _prompts(recipe: Preset, base: Base) -> dict[str, str]:
    """The model's prompts: the recipe's where it sets them, else the base's (e5: "query: " / "passage: ")."""
    prompts = dict(base.prompts or {})
    for name, text in (("query", recipe.query_prompt), ("document", recipe.document_prompt)):
        if text is not None:
            prompts[name] = text
    return {name: text for name, text in prompts.items() if text}


def _loss(model, recipe: Preset, base: Base, kind):
    """MatryoshkaLoss over the checked ranking-loss class `kind` (see `_loss_class`)."""
    from .architecture import build_model

    options: dict[str, Any] = {"mini_batch_size": recipe.mini_batch_size} if recipe.loss.startswith("cached") else {}
    if "gist" in recipe.loss:
        options["guide"] = build_model(base.path, prompts=model.prompts)
    else:
        options["scale"] = recipe.scale
    options.update(recipe.loss_options)
    weights = list(recipe.matryoshka_weights) if recipe.matryoshka_weights else None
    return _losses().MatryoshkaLoss(
        model, kind(model, **options), matryoshka_dims=list(recipe.matryoshka_dims), matryoshka_weights=weights
    )


def _training_arguments(recipe: Preset, output_dir: Path, columns: Sequence[str], prompts: Mapping[str, str]):
    import torch
    from sentence_transformers import SentenceTransformerTrainingArguments

    cuda = torch.cuda.is_available()
    bf16 = recipe.bf16 if recipe.bf16 is not None else bool(cuda and torch.cuda.is_bf16_supported())
    # questions (anchor) get the "query" prompt; positives and negatives the "document" one
    column_prompts = {c: prompts.get("query" if c == "anchor" else "document", "") for c in columns}
    settings: dict[str, Any] = {
        "output_dir": str(output_dir),
        "per_device_train_batch_size": recipe.batch_size,
        "per_device_eval_batch_size": max(16, min(recipe.batch_size, 64)),
        "gradient_accumulation_steps": recipe.gradient_accumulation_steps,
        "num_train_epochs": recipe.epochs,
        "learning_rate": recipe.lr,
        "lr_scheduler_type": recipe.scheduler,
        **_warmup(recipe.warmup_ratio),
        "batch_sampler": recipe.batch_sampler,
        "bf16": bf16,
        "eval_strategy": recipe.eval_strategy,
        "save_strategy": recipe.eval_strategy,
        "logging_strategy": recipe.eval_strategy,
        "save_total_limit": 1,
        "save_only_model": True,
        "load_best_model_at_end": recipe.load_best_model_at_end and recipe.eval_strategy != "no",
        "metric_for_best_model": f"eval_{recipe.best_metric}",
        "greater_is_better": True,
        "seed": recipe.seed,
        "prompts": column_prompts if any(column_prompts.values()) else None,
        "report_to": "none",
        # Without an accelerator, say so: only then does a torchrun / accelerate launch job run as one
        # data-parallel (gloo) training rather than as independent copies.
        "use_cpu": not _has_accelerator(),
        **dict(recipe.extra_args),
    }
    return SentenceTransformerTrainingArguments(**settings)


def _warmup(ratio: float) -> dict[str, float]:
    """transformers >= 5 takes the warmup share as a float `warmup_steps`; older releases as `warmup_ratio`."""
    from transformers import __version__

    return {"warmup_steps": ratio} if int(__version__.split(".")[0]) >= 5 else {"warmup_ratio": ratio}


def _has_accelerator() -> bool:
    import torch

    if hasattr(torch, "accelerator"):  # torch >= 2.6
        return torch.accelerator.is_available()
    return torch.cuda.is_available() or torch.backends.mps.is_available()


# --------------------------------------------------------------------------- output: folder and card


def _write(model, output: Path, result: TrainingResult, train_pairs: Pairs, template: str | Path | None) -> Path:
    from .persistence import save_model

    folder = save_model(model, output)
    report = result.report
    card = folder / CARD_FILE
    template = Path(template) if template is not None else Path.cwd() / CARD_FILE
    if not card.exists() and template.is_file() and template.resolve() != card.resolve():
        shutil.copy2(template, card)
    from .card import update_card

    update_card(
        card,
        report.results(),
        training={
            "base_model": result.base.hub_id,
            "base_origin": result.base.origin,
            "dataset_size": len(train_pairs),
            "token_stats": token_stats(model, train_pairs),
            "loss": _loss_description(result.preset),
            "hyperparameters": {
                key: value
                for key, value in model.model_card_data.non_default_hyperparameters.items()
                if key not in PLUMBING_ARGUMENTS
            },
            "log": result.log,
            "baseline": {"name": report.baseline_name, "metrics": report.baseline} if report.baseline else None,
        },
    )
    return folder


def _loss_description(recipe: Preset) -> str:
    options = [f"scale {recipe.scale:g}"] if "mnrl" in recipe.loss else ["guided by the base model"]
    if recipe.loss.startswith("cached"):
        options.append(f"mini-batch {recipe.mini_batch_size}")
    options += [f"{key}={value!r}" for key, value in recipe.loss_options.items()]
    dims = ", ".join(map(str, recipe.matryoshka_dims))
    text = f"MatryoshkaLoss over {LOSSES[recipe.loss]} ({', '.join(options)}) at dims {dims}"
    if recipe.matryoshka_weights:
        text += f" weighted {', '.join(f'{w:g}' for w in recipe.matryoshka_weights)}"
    if recipe.hard_negatives:
        miner = "BM25" if recipe.hard_negatives_miner == "bm25" else "the base model"
        text += f"; {recipe.hard_negatives} hard negative(s) per pair mined with {miner}"
    return f"{text}; `{recipe.name}` preset"


def token_stats(model, pairs: Pairs, *, limit: int = 1000) -> dict[str, dict[str, float]]:
    """Min / mean / max token counts of the first `limit` positives and anchors, as the model tokenizes them."""
    stats = {}
    for column, texts in (("positive", pairs.positive), ("anchor", pairs.anchor)):
        lengths = [len(ids) for ids in model.tokenizer(list(texts[:limit]))["input_ids"]]
        stats[column] = {"min": min(lengths), "mean": round(statistics.fmean(lengths), 2), "max": max(lengths)}
    return stats
