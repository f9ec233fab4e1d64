"""The `sitges-retriever` command: a thin layer over the package's API."""

from __future__ import annotations

import argparse
import sys

from .errors import SitgesError


def _add_card_commands(subparsers) -> None:
    """`card update` and `card check` (filled by the card module)."""


def _add_train_commands(subparsers) -> None:
    """`train`, `evaluate` and `search` (filled by the training/evaluation modules)."""


def _add_hub_commands(subparsers) -> None:
    """`push` (filled by the hub module)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitges-retriever",
        description="Train, evaluate, document and publish the Sitges procedures retrieval model.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_train_commands(subparsers)
    _add_card_commands(subparsers)
    _add_hub_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; errors the package raises on purpose print as one clear line, exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except SitgesError as error:
        print(f"sitges-retriever {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
