"""`card update` / `card check`, and `push` a model folder to the Hub."""

from __future__ import annotations

import argparse
import sys

from .common import COMMON, note


def add_card_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`card update` (write evaluation output into the card) and `card check` (exit 1 when it finds problems)."""
    card = subparsers.add_parser("card", parents=[COMMON], help="Write or check the model card's metrics.")
    commands = card.add_subparsers(dest="card_command", required=True)

    def update(args: argparse.Namespace) -> int:
        import json
        from pathlib import Path

        from ..card import update_card
        from ..errors import CardError

        training = None
        if args.training:
            try:
                training = json.loads(Path(args.training).read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise CardError(f"Cannot read the training details {args.training}: {error}.") from error
        path = update_card(
            args.card, args.results, model_name=args.model_name, training=training, from_template=args.from_template
        )
        note(args, f"Updated {path}")
        return 0

    def check(args: argparse.Namespace) -> int:
        from ..card import check_card

        problems = check_card(args.card)
        for problem in problems:
            print(f"{args.card}: {problem}")
        if problems:
            print(f"{args.card}: {len(problems)} problem(s) found.", file=sys.stderr)
            return 1
        print(f"{args.card}: OK")
        return 0

    parser = commands.add_parser(
        "update", parents=[COMMON], help="Regenerate the card's metrics from evaluator output."
    )
    parser.add_argument("--results", help="evaluator output: a CSV file, a folder of CSV files, or a JSON file")
    parser.add_argument("--card", default="model_card.md", help="the card to update (default: model_card.md)")
    parser.add_argument("--training", help="a JSON file of training details (see sitges_retriever.card)")
    parser.add_argument("--model-name", help="the model-index name (default: keep the card's)")
    parser.add_argument(
        "--from-template", action="store_true", help="re-render the card's prose from the package's template"
    )
    parser.set_defaults(handler=update)
    parser = commands.add_parser(
        "check", parents=[COMMON], help="Report what is wrong in a card; exit 1 when something is."
    )
    parser.add_argument("card", nargs="?", default="model_card.md", help="the card to check (default: model_card.md)")
    parser.set_defaults(handler=check)


def add_push_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`push`: upload a model folder and its card as one Hub commit."""

    def push(args: argparse.Namespace) -> int:
        from ..hub import push_to_hub

        url = push_to_hub(
            args.folder,
            args.repo_id,
            private=args.private,
            revision=args.revision,
            create_pr=args.create_pr,
            commit_message=args.message,
            card=args.card,
        )
        print(url)
        return 0

    parser = subparsers.add_parser(
        "push",
        parents=[COMMON],
        help="Upload a model folder (weights, tokenizer, layout files, card as README.md) to the Hub.",
    )
    parser.add_argument("folder", help="a model folder written by `sitges-retriever train` or save_model")
    parser.add_argument("repo_id", metavar="REPO_ID", help="the Hub repo to push to, e.g. your-org/sitges-retriever")
    parser.add_argument(
        "--card", help="the card to push as README.md (default: the folder's README.md or model_card.md)"
    )
    parser.add_argument("--revision", help="the branch to push to (created when missing)")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument("--private", action="store_true", help="create the repo private when it does not exist")
    parser.add_argument("--message", help="the commit message")
    parser.set_defaults(handler=push)
