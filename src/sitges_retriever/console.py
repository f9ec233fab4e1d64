"""What the command line shows on the terminal: progress bars only where they render, quiet on request."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO


def configure_output(quiet: bool = False, stream: TextIO | None = None) -> bool:
    """Show progress bars only on a terminal (`stream`, default stderr) and without --quiet; return whether shown.

    Without bars, transformers', datasets', huggingface_hub's and any other tqdm bar is off (for libraries
    imported later too, through their environment variables), so piped output has no cursor codes.
    With `quiet`, library logs are kept to errors.
    """
    stream = sys.stderr if stream is None else stream
    bars = not quiet and stream.isatty()
    if not bars:
        os.environ.update(TQDM_DISABLE="1", HF_HUB_DISABLE_PROGRESS_BARS="1", HF_DATASETS_DISABLE_PROGRESS_BARS="1")
        if "huggingface_hub" in sys.modules:
            sys.modules["huggingface_hub"].utils.disable_progress_bars()
        if "transformers" in sys.modules:
            sys.modules["transformers"].utils.logging.disable_progress_bar()
        if "datasets" in sys.modules:
            sys.modules["datasets"].disable_progress_bars()
        _tqdm_off()
    if quiet:
        os.environ.update(TRANSFORMERS_VERBOSITY="error", DATASETS_VERBOSITY="error")
        if "transformers" in sys.modules:
            sys.modules["transformers"].utils.logging.set_verbosity_error()
    return bars


def _tqdm_off() -> None:
    """Every tqdm bar made from now on is off: tqdm reads TQDM_DISABLE only when first imported, and libraries
    (sentence-transformers' card, for one) may have imported it before the command line knew where it writes."""
    from tqdm import std

    original = std.tqdm.__init__
    if hasattr(original, "bars_on"):
        return

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **(kwargs if len(args) > 10 else {**kwargs, "disable": True}))  # 11th: disable

    init.bars_on = original  # type: ignore[attr-defined]
    std.tqdm.__init__ = init


def _tqdm_restored() -> None:
    from tqdm import std

    std.tqdm.__init__ = getattr(std.tqdm.__init__, "bars_on", std.tqdm.__init__)


_OUTPUT_VARIABLES = (
    "TQDM_DISABLE",
    "HF_HUB_DISABLE_PROGRESS_BARS",
    "HF_DATASETS_DISABLE_PROGRESS_BARS",
    "TRANSFORMERS_VERBOSITY",
    "DATASETS_VERBOSITY",
)


@contextlib.contextmanager
def output_restored() -> Iterator[None]:
    """Put back the progress-bar and log settings `configure_output` changed (main() run in a notebook or a test)."""
    saved = {name: os.environ.get(name) for name in _OUTPUT_VARIABLES}
    hub, transformers = sys.modules.get("huggingface_hub"), sys.modules.get("transformers")
    hub_bars = hub is None or not hub.utils.are_progress_bars_disabled()
    transformers_bars = transformers is None or transformers.utils.logging.is_progress_bar_enabled()
    verbosity = transformers.utils.logging.get_verbosity() if transformers else None
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _tqdm_restored()
        if hub_bars and "huggingface_hub" in sys.modules:
            sys.modules["huggingface_hub"].utils.enable_progress_bars()
        if "transformers" in sys.modules:
            logging = sys.modules["transformers"].utils.logging
            if transformers_bars:
                logging.enable_progress_bar()
            logging.set_verbosity(verbosity if verbosity is not None else logging.WARNING)
