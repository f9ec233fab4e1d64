"""What every subcommand shares: the -q option, model-loading options, notes on stderr, offline mode."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

#: Options every subcommand takes, so they may follow the subcommand too (`sitges-retriever train -q`).
COMMON = argparse.ArgumentParser(add_help=False)
COMMON.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def add_model_options(parser: argparse.ArgumentParser, *, revision: bool = True) -> None:
    """Where a model is loaded from and onto: --device, --revision (unless the model's revision is recorded
    elsewhere, as an index does), --offline."""
    parser.add_argument("--device", help="where to run the model, e.g. cpu, cuda, cuda:1, mps (default: the best one)")
    if revision:
        parser.add_argument("--revision", help="a branch, tag or commit of a Hub model (default: main)")
    parser.add_argument(
        "--offline", action="store_true", default=None, help="load from the local Hugging Face cache only"
    )


def load_model(args: argparse.Namespace) -> Any:
    from ..hub import load

    return load(args.model, revision=args.revision, device=args.device, offline=args.offline)


def note(args: argparse.Namespace, message: str) -> None:
    """A remark beside the results: on stderr, and not at all with --quiet."""
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def go_offline() -> None:
    """--offline for `train` and the index: the Hub is not asked for the rest of this process."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # for libraries imported later
    if "huggingface_hub" in sys.modules:  # read at import; later reads go through the constant
        sys.modules["huggingface_hub"].constants.HF_HUB_OFFLINE = True
