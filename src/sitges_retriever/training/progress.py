"""What a training run shows: one line per stage, a labelled bar, and the trainer's logs as short lines.

Lines go to the `sitges_retriever` logger (the command line prints its INFO lines on stderr, none with
--quiet); bars follow tqdm's own switches (off when piped, see `console.configure_output`).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any

from transformers.trainer_callback import PrinterCallback, ProgressCallback

log = logging.getLogger("sitges_retriever")
_DIM_METRIC = re.compile(r"^eval_dim_(\d+)_cosine_ndcg@10$")


def stage(message: str) -> None:
    """One line saying what the run does now (mining, training, evaluating, writing)."""
    log.info(message)


def short_line(logs: dict[str, Any]) -> str | None:
    """A trainer log dict as one short line: loss and learning rate, or nDCG@10 per dimension; None to skip."""
    epoch = f"epoch {float(logs['epoch']):.2f}" if "epoch" in logs else ""
    ndcg = {int(m.group(1)): float(v) for k, v in logs.items() if (m := _DIM_METRIC.match(k))}
    if ndcg:
        sizes = " · ".join(f"{dim} {value:.4f}" for dim, value in sorted(ndcg.items(), reverse=True))
        return f"{epoch}  validation nDCG@10  {sizes}".strip()  # the split that chooses the epoch
    if "loss" in logs:
        return f"{epoch}  loss {float(logs['loss']):.4f}  lr {float(logs.get('learning_rate', 0)):.2e}".strip()
    if "train_runtime" in logs:
        return f"trained in {float(logs['train_runtime']):.0f} s"
    return None


class ReadableProgress(ProgressCallback):
    """transformers' progress bar, labelled "training", writing each log as a short line instead of a dict.

    Without bars (piped output, --quiet: `console.configure_output` sets TQDM_DISABLE) it draws none at all:
    tqdm reads that variable only when first imported, so the bar is left out here.
    """

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if os.environ.get("TQDM_DISABLE"):
            self.training_bar, self.current_step = None, 0
            return
        super().on_train_begin(args, state, control, **kwargs)  # type: ignore[no-untyped-call]  # untyped upstream
        if self.training_bar is not None:
            self.training_bar.set_description("training")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.training_bar is not None:
            super().on_step_end(args, state, control, **kwargs)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.training_bar is not None:
            super().on_train_end(args, state, control, **kwargs)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        line = short_line(logs or {})
        if state.is_world_process_zero and line:
            if self.training_bar is not None and not self.training_bar.disable:
                self.training_bar.write(line, file=sys.stderr)
            else:
                log.info(line)


def readable(trainer: Any) -> None:
    """Replace the trainer's dict-printing callbacks by `ReadableProgress`."""
    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(ReadableProgress())
