"""`index build`, `index search` and `index info`: a persistent hybrid index on Qdrant."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..index import Index


def add_index_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`index build` (embed a corpus into a Qdrant index), `index search` (one or many questions), `index info`."""

    def open_index(args: argparse.Namespace) -> Index:
        from ..index import Index

        if getattr(args, "offline", None):
            go_offline()
        options = {"collection": args.collection, "device": getattr(args, "device", None)}
        if args.index.startswith(("http://", "https://")):
            return Index(url=args.index, **options)
        return Index(args.index, **options)

    def build(args: argparse.Namespace) -> int:
        from ..index import Index

        if (args.path is None) == (args.url is None):
            raise SearchIndexError("Give the index as --path DIR (a local folder) or --url URL (a Qdrant server).")
        if args.offline:
            go_offline()
        with Index(args.path, url=args.url, collection=args.collection, device=args.device) as index:
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

    def search(args: argparse.Namespace) -> int:
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
        with open_index(args) as index:
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

    def info(args: argparse.Namespace) -> int:
        with open_index(args) as index:
            details = index.info()
        size = details["size_on_disk"]
        details["size_on_disk"] = "n/a (server or memory)" if size is None else f"{size / 1e6:.1f} MB"
        for key, value in details.items():
            print(f"{key}: {value}")
        return 0

    from ..architecture import MATRYOSHKA_DIMS
    from ..errors import SearchIndexError
    from ..index import COLLECTION, DEFAULT_DIMS
    from ..retrieval import MODES
    from .common import COMMON, add_model_options, go_offline

    index = subparsers.add_parser("index", help="A persistent search index of procedures (Qdrant).")
    commands = index.add_subparsers(dest="index_command", required=True)
    parser = commands.add_parser(
        "build", parents=[COMMON], help="Embed a corpus and store it; a rebuild embeds only what changed."
    )
    add_model_options(parser)  # --revision: the one the index records and searches with
    parser.add_argument("--model", required=True, help="model folder or Hub id")
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

    parser = commands.add_parser(
        "search", parents=[COMMON], help="The procedures that best answer one or many questions."
    )
    add_model_options(parser, revision=False)  # the index records the model's revision
    parser.add_argument("index", metavar="DIR", help="the index folder, or a Qdrant server URL (http://...)")
    parser.add_argument("question", nargs="?", help="a question (or use --questions, or stdin)")
    parser.add_argument("--questions", metavar="FILE", help="questions, one a line ('-': stdin)")
    parser.add_argument("--mode", default="hybrid", choices=MODES, help="default: hybrid")
    parser.add_argument("--dim", type=int, choices=MATRYOSHKA_DIMS, help="dense size (default: the largest stored)")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON hits (id, score, title, payload)")
    parser.add_argument("--collection", default=COLLECTION)
    parser.set_defaults(handler=search)

    parser = commands.add_parser("info", parents=[COMMON], help="Documents, model, dims and size on disk of an index.")
    parser.add_argument("index", metavar="DIR", help="the index folder, or a Qdrant server URL (http://...)")
    parser.add_argument("--collection", default=COLLECTION)
    parser.set_defaults(handler=info)
