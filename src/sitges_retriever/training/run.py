"""`train()`: fine-tune a base on (question, procedure) pairs, evaluate per Matryoshka dim, write folder + card.

Data flows one way: pairs -> model (SentenceTransformerTrainer) -> evaluation -> model folder + card.
The run is the sentence-transformers trainer's own, so it works unchanged under `torchrun` /
`accelerate launch`; only the main process writes the output folder and the card.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..bases import Base, resolve_base
from ..data import IRTask, Pairs, demo_pairs, ir_task_from_pairs, load_ir_folder, read_pairs, split_pairs
from ..errors import DataError, ModelFolderError
from ..evaluation import EvaluationReport, build_evaluator, choose_bm25_weights, evaluate
from ..fusion_weights import attach_bm25_weights
from ..persistence import check_output_folder
from ..retrieval import BM25_PARAMETERS, BM25_WEIGHT
from .card_details import training_details
from .losses import loss_class, matryoshka_loss
from .mining import MINER_NAMES, mine_hard_negatives
from .presets import Preset, get_preset
from .progress import readable, stage

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainingArguments

DEFAULT_OUTPUT = "sitges-retriever-model"


@dataclass
class TrainingResult:
    """What `train` produced: the model folder (None on non-main processes), its evaluation and the run's facts."""

    output: Path | None
    report: EvaluationReport | None
    preset: Preset
    base: Base
    train_pairs: int
    validation_pairs: int
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
    revision: str | None = None,
    output: str | Path = DEFAULT_OUTPUT,
    overrides: Mapping[str, Any] | None = None,
    max_steps: int | None = None,
    baseline: bool = True,
) -> TrainingResult:
    """Fine-tune the base on (positive, anchor) pairs, evaluate per Matryoshka dim beside BM25 and the hybrid,
    write the model folder and its card.

    `data`: pair files or a `datasets.Dataset` (default: the Catalan demo set); `revision`: the base's on the
    Hub (a branch, tag or commit). `eval_data`: a folder with
    queries.json / corpus.json / relevant_docs.json; without it about `held_out` of the pairs are held out,
    split by positive. The folder's card is `README.md`, rendered from the package's template.
    """
    started = time.perf_counter()
    recipe = get_preset(preset, {**(overrides or {}), **({"max_steps": max_steps} if max_steps else {})})
    output = Path(output).expanduser().resolve()
    _check_output(output)
    kind = loss_class(recipe)  # a wrong loss setting is refused before any data, model or mining work
    pairs = demo_pairs() if data is None else read_pairs(data)
    train_pairs, validation, task = _split(pairs, eval_data, recipe)
    if not max_steps and "max_steps" not in recipe.extra_args and "epochs" not in (overrides or {}):
        recipe = _with_min_steps(recipe, len(train_pairs))  # a step limit or epochs given by the caller stand

    from sentence_transformers import SentenceTransformerTrainer

    from ..architecture import build_model

    source = resolve_base(base, revision=revision)
    recipe = recipe.for_base(source.name)
    model = build_model(source.path, prompts=_prompts(recipe, source))
    stage(
        f"Base: {source.name}; {len(train_pairs)} training pairs, "
        + (f"{len(validation.queries)} validation and " if validation else "")
        + f"{len(task.queries)} held-out questions."
    )
    if not recipe.train_word_embeddings:
        cast(Any, model[0]).auto_model.get_input_embeddings().weight.requires_grad_(False)
    dataset, mined = train_pairs.to_dataset(), 0
    if recipe.hard_negatives:
        miner = MINER_NAMES.get(recipe.hard_negatives_miner, recipe.hard_negatives_miner)
        stage(f"Mining {recipe.hard_negatives} hard negative(s) per pair with {miner}.")
        dataset, mined = mine_hard_negatives(dataset, model, recipe)
    columns = [c for d in (dataset.values() if isinstance(dataset, dict) else [dataset]) for c in d.column_names]
    checkpoints = output.parent / f".{output.name}.checkpoints"
    args = _training_arguments(recipe, checkpoints, list(dict.fromkeys(columns)), model.prompts)
    evaluator = build_evaluator(  # chooses the epoch: on the validation split, not on the one reported
        validation or task,
        recipe.matryoshka_dims,
        batch_size=args.per_device_eval_batch_size,
        max_seq_length=model.max_seq_length,
    )
    evaluator.reported = ("cosine_ndcg@10", recipe.best_metric)  # a short progress log: nDCG@10 per dim
    if recipe.max_seq_length:
        model.max_seq_length = recipe.max_seq_length  # training only; evaluation and the saved model keep 512
    loss = matryoshka_loss(model, recipe, source, kind)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss, evaluator=evaluator)
    readable(trainer)
    stage(f"Training: `{recipe.name}` preset, {recipe.epochs:g} epoch(s), batch {recipe.batch_size}, lr {recipe.lr:g}.")
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
        validation_pairs=sum(len(docs) for docs in validation.relevant_docs.values()) if validation else 0,
        duplicates_dropped=pairs.duplicates_dropped,
        with_hard_negatives=mined,
        seconds=0.0,
        log=log,
    )
    if not trainer.is_world_process_zero():
        return result
    model.model_card_data.training_logs = []  # the final evaluation below is not a training-log row
    if validation is not None:
        stage(f"Choosing hybrid search's BM25 weight per size on the {len(validation.queries)} validation questions.")
        weights = choose_bm25_weights(model, validation, dims=recipe.matryoshka_dims)
        chosen_on = (
            f"nDCG@10 of {len(validation.queries)} validation questions held out of training; {BM25_WEIGHT:g} unless "
            f"another weight was clearly better; BM25 k1 {BM25_PARAMETERS['k1']:g}, b {BM25_PARAMETERS['b']:g}"
        )
        attach_bm25_weights(model, weights, chosen_on=chosen_on)
    stage(
        f"Evaluating on {task.name}: the model per dimension" + (", Catalan BM25 and the hybrid." if baseline else ".")
    )
    result.report = report = evaluate(model, task, dims=recipe.matryoshka_dims, baseline=baseline)
    details = training_details(model, result, train_pairs)
    stage(f"Writing the model folder and its card to {output}.")
    result.output = _write(model, output, report.results(), details)
    result.seconds = time.perf_counter() - started
    return result


def _with_min_steps(recipe: Preset, pairs: int) -> Preset:
    """`recipe` with enough whole epochs for its `min_steps` optimizer steps on `pairs` (over every process)."""
    per_step = recipe.batch_size * recipe.gradient_accumulation_steps * int(os.environ.get("WORLD_SIZE", "1"))
    epochs = math.ceil(recipe.min_steps / max(1, math.ceil(pairs / per_step)))
    return dataclasses.replace(recipe, epochs=epochs) if epochs > recipe.epochs else recipe


def _split(pairs: Pairs, eval_data: str | Path | IRTask | None, recipe: Preset) -> tuple[Pairs, IRTask | None, IRTask]:
    """(training pairs, validation task or None, reported task): the reported task is `eval_data` or the
    `held_out` share of the pairs; the validation task is the `validation` share of the rest (split by positive
    both times), which chooses the epoch and the BM25 weight. Too few positives: no validation split."""
    if isinstance(eval_data, IRTask):
        rest, task = pairs, eval_data
    elif eval_data is not None:
        rest, task = pairs, load_ir_folder(eval_data)
    else:
        rest, held_out = split_pairs(pairs, test_size=recipe.held_out, seed=recipe.seed)
        task = ir_task_from_pairs(held_out, rest.positive)
    if not recipe.validation or len(set(rest.positive)) < 4:
        return rest, None, task
    train_pairs, validation = split_pairs(rest, test_size=recipe.validation, seed=recipe.seed)
    return train_pairs, ir_task_from_pairs(validation, train_pairs.positive, name="validation"), task


def _check_output(output: Path) -> None:
    """Refuse, before training, an output that save_model would refuse at the end."""
    try:
        check_output_folder(output)
    except ModelFolderError as error:
        raise DataError(f"--output: {error}") from error


def _prompts(recipe: Preset, base: Base) -> dict[str, str]:
    """The model's prompts: the recipe's where it sets them, else the base's (e5: "query: " / "passage: ")."""
    prompts = dict(base.prompts or {})
    for name, text in (("query", recipe.query_prompt), ("document", recipe.document_prompt)):
        if text is not None:
            prompts[name] = text
    return {name: text for name, text in prompts.items() if text}


def _training_arguments(
    recipe: Preset, output_dir: Path, columns: Sequence[str], prompts: Mapping[str, str | None]
) -> SentenceTransformerTrainingArguments:
    import torch
    from sentence_transformers import SentenceTransformerTrainingArguments

    cuda = torch.cuda.is_available() and not recipe.extra_args.get("use_cpu")  # --device cpu: no bf16 either
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


def _write(model: SentenceTransformer, output: Path, results: Mapping[str, float], training: Mapping[str, Any]) -> Path:
    """Save the model folder and write its card, `README.md`, from the package's template."""
    from ..card import framework_versions, write_folder_card
    from ..persistence import save_model

    folder = save_model(model, output)
    versions = {"framework_versions": framework_versions()}
    # the evaluator cut each size itself: a tie at every size is a small held-out set's, not a missed cut
    write_folder_card(folder, results, training={**training, **versions}, each_size_measured=True)
    return folder
