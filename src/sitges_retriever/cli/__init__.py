"""The `sitges-retriever` command: a thin layer over the package's API, one module per group of subcommands."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator

from ..console import configure_output, output_restored
from ..errors import SitgesError
from .model import add_model_commands
from .publish import add_card_commands, add_push_command
from .search_index import add_index_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitges-retriever",
        description="Train, evaluate, document and publish the Sitges procedures retrieval model.",
        epilog="Exit codes: 0 success, 1 an error or a failed check, 2 a usage error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes, only results and errors")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_model_commands(subparsers)
    add_card_commands(subparsers)
    add_push_command(subparsers)
    add_index_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand: exit 0 on success, 1 on an error (one line on stderr, no traceback), 2 on a usage error."""
    args = build_parser().parse_args(argv)
    try:
        with output_restored(), _stage_lines(quiet=args.quiet):
            configure_output(quiet=args.quiet)
            return int(args.handler(args) or 0)
    except SitgesError as error:
        return _fail(args, str(error))
    except OSError as error:  # a file the user named cannot be read or written
        where = f"{error.filename}: " if error.filename else ""
        return _fail(args, f"{where}{error.strerror or error}")
    except ValueError as error:  # a value the libraries refused
        return _fail(args, str(error) or type(error).__name__)
    except KeyboardInterrupt:
        return _fail(args, "interrupted", code=130)


@contextlib.contextmanager
def _stage_lines(*, quiet: bool) -> Iterator[None]:
    """The package's progress lines (logger `sitges_retriever`, INFO) on stderr, none with --quiet."""
    logger = logging.getLogger("sitges_retriever")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _fail(args: argparse.Namespace, message: str, code: int = 1) -> int:
    print(f"sitges-retriever {args.command}: error: {message}", file=sys.stderr)
    return code


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sitges-retriever")
    except PackageNotFoundError:  # run from a source tree without installing
        from .. import __version__

        return __version__
