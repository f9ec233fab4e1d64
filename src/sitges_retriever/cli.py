"""The `sitges-retriever` command: a thin layer over the package's API."""

from __future__ import annotations

import argparse
import os
import sys

from .console import configure_output, output_restored
from .errors import SitgesError

#: Options every subcommand takes, so they may follow the subcommand too (`sitges-retriever train -q`).
_COMMON = argparse.ArgumentParser(add_help=False)
_COMMON.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _add_card_commands(subparsers) -> None:
    """`card update` (write evaluation output into the card) and `card check` (exit 1 when it finds problems)."""
    card = subparsers.add_parser("card", parents=[_COMMON], help="Write or check the model card's metrics.")
    commands = card.add_subparsers(dest="card_command", required=True)

    def update(args) -> int:
        import json
        from pathlib import Path

        from .card import update_card
        from .errors import CardError

        training = None
        if args.training:
            try:
                training = json.loads(Path(args.training).read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise CardError(f"Cannot read the training details {args.training}: {error}.") from error
        path = update_card(args.card, args.results, model_name=args.model_name, training=training)
        _note(args, f"Updated {path}")
        return 0

    def check(args) -> int:
        from .card import check_card

        problems = check_card(args.card)
        for problem in problems:
            print(f"{args.card}: {problem}")
        if problems:
            print(f"{args.card}: {len(problems)} problem(s) found.", file=sys.stderr)
            return 1
        print(f"{args.card}: OK")
        return 0

    parser = commands.add_parser(
        "update", parents=[_COMMON], help="Regenerate the card's metrics from evaluator output."
    )
    parser.add_argument("--results", help="evaluator output: a CSV file, a folder of CSV files, or a JSON file")
    parser.add_argument("--card", default="model_card.md", help="the card to update (default: model_card.md)")
    parser.add_argument("--training", help="a JSON file of training details (see sitges_retriever.card)")
    parser.add_argument("--model-name", help="the model-index name (default: keep the card's)")
    parser.set_defaults(handler=update)
    parser = commands.add_parser(
        "check", parents=[_COMMON], help="Report what is wrong in a card; exit 1 when something is."
    )
    parser.add_argument("card", nargs="?", default="model_card.md", help="the card to check (default: model_card.md)")
    parser.set_defaults(handler=check)


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    """Where a model is loaded from and onto: --device, --revision, --offline."""
    parser.add_argument("--device", help="where to run the model, e.g. cpu, cuda, cuda:1, mps (default: the best one)")
    parser.add_argument("--revision", help="a branch, tag or commit of a Hub model (default: main)")
    parser.add_argument(
        "--offline", action="store_true", default=None, help="load from the local Hugging Face cache only"
    )


def _load(args):
    from .hub import load

    return load(args.model, revision=args.revision, device=args.device, offline=args.offline)


def _add_train_commands(subparsers) -> None:
    """`train` (the main job), `evaluate` a model folder, `search` procedures with a question."""

    def train(args) -> int:
        from .training import parse_settings
        from .training import train as run

        if args.offline:
            _go_offline()
        result = run(
            args.data,
            eval_data=args.eval_data,
            preset=args.preset,
            base=args.base,
            output=args.output,
            overrides=parse_settings(args.set),
            max_steps=args.max_steps,
        )
        if result.output is not None:  # the main process; the others of a torchrun job print nothing
            print(f"\n{result.report}\n")
            print(
                f"Model folder and card written to {result.output} ({result.train_pairs} training pairs, "
                f"{result.with_hard_negatives} with a mined hard negative, {result.duplicates_dropped} duplicates "
                f"dropped, {result.seconds:.0f} s)."
            )
        return 0

    def evaluate(args) -> int:
        import json
        from pathlib import Path

        from .data import ir_task_from_pairs, load_ir_folder, read_pairs
        from .evaluation import evaluate as run

        if args.results and not Path(args.results).resolve().parent.is_dir():  # say so before a long evaluation
            raise NotADirectoryError(0, "no such folder to write the results in", str(Path(args.results).parent))
        folder = len(args.data) == 1 and Path(args.data[0]).is_dir()
        task = load_ir_folder(args.data[0]) if folder else ir_task_from_pairs(read_pairs(args.data), name="pairs")
        report = run(_load(args), task, dims=args.dims, batch_size=args.batch_size)
        results = json.dumps(report.results(), indent=2) + "\n"
        if args.json:
            sys.stdout.write(results)
        else:
            print(report)
        if args.results:
            Path(args.results).write_text(results, encoding="utf-8")
            _note(args, f"Evaluator results written to {args.results} (for `sitges-retriever card update`).")
        return 0

    def search(args) -> int:
        import json

        from .search import _check_questions
        from .search import search as run

        _check_questions(args.question)  # before loading the model
        hits = run(_load(args), args.question, procedures=args.corpus, dim=args.dim, top_k=args.top_k)
        if args.json:
            rows = [
                {"rank": rank, "score": hit.score, "id": hit.procedure.id, "title": hit.procedure.title}
                for rank, hit in enumerate(hits, start=1)
            ]
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return 0
        for rank, hit in enumerate(hits, start=1):
            print(f"{rank}. {hit.score:.4f}  {hit.procedure.title}")
        return 0

    from .architecture import MATRYOSHKA_DIMS

    parser = subparsers.add_parser(
        "train",
        parents=[_COMMON],
        help="Fine-tune on pairs, evaluate per dimension beside BM25, write "
        "the model folder and its card (no arguments: the demo data, offline base).",
    )
    parser.add_argument(
        "--data",
        nargs="+",
        metavar="FILE",
        help="pairs (positive, anchor): .jsonl/.json/.csv/"
        ".parquet files; default: the Catalan demo procedures shipped in the package",
    )
    parser.add_argument(
        "--eval-data",
        metavar="FOLDER",
        help="queries.json, corpus.json, relevant_docs.json; default: hold out ~10%% of the pairs, split by positive",
    )
    parser.add_argument("--preset", default="default", choices=("default", "published"), help="the recipe")
    parser.add_argument("--base", help="base model folder or Hub id (default: the offline copy of the base)")
    parser.add_argument("--output", default="sitges-retriever-model", metavar="DIR", help="the model folder to write")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a preset value or a trainer argument, e.g. --set lr=2e-5 (repeatable)",
    )
    parser.add_argument("--max-steps", type=int, metavar="N", help="stop after N optimizer steps (a quick check)")
    parser.add_argument("--offline", action="store_true", help="use the local Hugging Face cache only")
    parser.set_defaults(handler=train)

    parser = subparsers.add_parser("evaluate", parents=[_COMMON], help="Retrieval metrics per dimension beside BM25.")
    parser.add_argument("model", help="model folder or Hub id")
    parser.add_argument(
        "--data",
        nargs="+",
        required=True,
        metavar="PATH",
        help="an evaluation folder (queries.json, corpus.json, relevant_docs.json) or pair files",
    )
    parser.add_argument("--dims", nargs="+", type=int, default=list(MATRYOSHKA_DIMS), help="dimensions to evaluate")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--results", metavar="FILE.json", help="also write the evaluator's results as JSON")
    parser.add_argument("--json", action="store_true", help="print the evaluator's results as JSON, nothing else")
    _add_model_options(parser)
    parser.set_defaults(handler=evaluate)

    parser = subparsers.add_parser("search", parents=[_COMMON], help="The procedures that best answer a question.")
    parser.add_argument("model", help="model folder or Hub id")
    parser.add_argument("question")
    parser.add_argument("--dim", type=int, choices=MATRYOSHKA_DIMS, help="embedding size (default: full)")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument(
        "--corpus",
        metavar="FILE",
        help="procedures (.jsonl with title/text, pair files or a corpus.json); default: the demo procedures",
    )
    parser.add_argument("--json", action="store_true", help="print the hits as JSON (rank, score, id, title)")
    _add_model_options(parser)
    parser.set_defaults(handler=search)


def _add_hub_commands(subparsers) -> None:
    """`push`: upload a model folder and its card as one Hub commit."""

    def push(args) -> int:
        from .hub import push_to_hub

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
        parents=[_COMMON],
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


def _add_index_commands(subparsers) -> None:
    """`index build` (embed a corpus into a Qdrant index), `index search` (one or many questions), `index info`."""

    def open_index(location: str, collection: str):
        from .index import Index

        if location.startswith(("http://", "https://")):
            return Index(url=location, collection=collection)
        return Index(location, collection=collection)

    def build(args) -> int:
        from .index import Index

        if (args.path is None) == (args.url is None):
            raise SearchIndexError("Give the index as --path DIR (a local folder) or --url URL (a Qdrant server).")
        with Index(args.path, url=args.url, collection=args.collection) as index:
            report = index.build(
                args.model,
                args.corpus,
                revision=args.revision,
                dims=args.dims,
                recreate=args.recreate,
                batch_size=args.batch_size,
            )
        print(report)
        return 0

    def search(args) -> int:
        import json
        from pathlib import Path

        if args.questions:
            source = sys.stdin if args.questions == "-" else None
            try:
                text = source.read() if source else Path(args.questions).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise SearchIndexError(f"Cannot read the questions file {args.questions}: {error}.") from None
            questions = [line.strip() for line in text.splitlines() if line.strip()]
        elif args.question is not None:
            questions = [args.question]
        elif not sys.stdin.isatty():
            questions = [line.strip() for line in sys.stdin if line.strip()]
        else:
            raise SearchIndexError("Give a question, --questions FILE (one a line), or questions on stdin.")
        with open_index(args.index, args.collection) as index:
            results = index.search_many(questions, mode=args.mode, dim=args.dim, top_k=args.top_k)
        if args.json:
            rows = [[hit.to_dict() for hit in hits] for hits in results]
            print(json.dumps(rows[0] if args.question is not None and not args.questions else rows, ensure_ascii=False))
            return 0
        for question, hits in zip(questions, results, strict=True):
            if len(questions) > 1:
                print(f"# {question}")
            for rank, hit in enumerate(hits, start=1):
                print(f"{rank}. {hit.score:.4f}  {hit.title}  [{hit.id}]")
        return 0

    def info(args) -> int:
        with open_index(args.index, args.collection) as index:
            details = index.info()
        size = details["size_on_disk"]
        details["size_on_disk"] = "n/a (server or memory)" if size is None else f"{size / 1e6:.1f} MB"
        for key, value in details.items():
            print(f"{key}: {value}")
        return 0

    from .architecture import MATRYOSHKA_DIMS
    from .errors import SearchIndexError
    from .index import COLLECTION, DEFAULT_DIMS, MODES

    index = subparsers.add_parser("index", help="A persistent search index of procedures (Qdrant).")
    commands = index.add_subparsers(dest="index_command", required=True)
    parser = commands.add_parser("build", help="Embed a corpus and store it; a rebuild embeds only what changed.")
    parser.add_argument("--model", required=True, help="model folder or Hub id")
    parser.add_argument("--revision", help="the Hub revision (branch, tag or commit) to pin")
    parser.add_argument("--corpus", metavar="FILE", help="procedures as `search --corpus` reads them (default: demo)")
    parser.add_argument("--path", metavar="DIR", help="a local index folder (Qdrant's embedded mode)")
    parser.add_argument("--url", help="a Qdrant server instead (api key from QDRANT_API_KEY)")
    parser.add_argument("--collection", default=COLLECTION, help=f"collection (alias) name (default: {COLLECTION})")
    parser.add_argument(
        "--dims",
        nargs="+",
        type=int,
        default=list(DEFAULT_DIMS),
        choices=MATRYOSHKA_DIMS,
        help="the Matryoshka cuts to store (default: 64 384; --dim searches only stored ones)",
    )
    parser.add_argument("--recreate", action="store_true", help="rebuild from scratch, also with another model")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.set_defaults(handler=build)

    parser = commands.add_parser("search", help="The procedures that best answer one or many questions.")
    parser.add_argument("index", metavar="DIR", help="the index folder, or a Qdrant server URL (http://...)")
    parser.add_argument("question", nargs="?", help="a question (or use --questions, or stdin)")
    parser.add_argument("--questions", metavar="FILE", help="questions, one a line ('-': stdin)")
    parser.add_argument("--mode", default="hybrid", choices=MODES, help="default: hybrid")
    parser.add_argument("--dim", type=int, choices=MATRYOSHKA_DIMS, help="dense size (default: the largest stored)")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON hits (id, score, title, payload)")
    parser.add_argument("--collection", default=COLLECTION)
    parser.set_defaults(handler=search)

    parser = commands.add_parser("info", help="Documents, model, dims and size on disk of an index.")
    parser.add_argument("index", metavar="DIR", help="the index folder, or a Qdrant server URL (http://...)")
    parser.add_argument("--collection", default=COLLECTION)
    parser.set_defaults(handler=info)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitges-retriever",
        description="Train, evaluate, document and publish the Sitges procedures retrieval model.",
        epilog="Exit codes: 0 success, 1 an error or a failed check, 2 a usage error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes, only results and errors")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_train_commands(subparsers)
    _add_card_commands(subparsers)
    _add_hub_commands(subparsers)
    _add_index_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand: exit 0 on success, 1 on an error (one line on stderr, no traceback), 2 on a usage error."""
    args = build_parser().parse_args(argv)
    try:
        with output_restored():
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


def _note(args, message: str) -> None:
    """A remark beside the results: on stderr, and not at all with --quiet."""
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def _fail(args, message: str, code: int = 1) -> int:
    print(f"sitges-retriever {args.command}: error: {message}", file=sys.stderr)
    return code


def _go_offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"  # for libraries imported later
    if "huggingface_hub" in sys.modules:  # read at import; later reads go through the constant
        sys.modules["huggingface_hub"].constants.HF_HUB_OFFLINE = True


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sitges-retriever")
    except PackageNotFoundError:  # run from a source tree without installing
        from . import __version__

        return __version__


if __name__ == "__main__":
    sys.exit(main())
