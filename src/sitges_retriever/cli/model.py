"""`train` (the main job), `evaluate` a model, `search` procedures with a question."""

from __future__ import annotations

import argparse
import sys

from ..retrieval import BM25_WEIGHT, MODES
from .common import COMMON, add_model_options, go_offline, load_model, note


def add_model_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`train` (the main job), `evaluate` a model folder, `search` procedures with a question."""

    def train(args: argparse.Namespace) -> int:
        from ..training import parse_settings
        from ..training import train as run

        if args.offline:
            go_offline()
        overrides = parse_settings(args.set)
        if args.device is not None:
            overrides["use_cpu"] = str(_training_device(args.device) == "cpu").lower()
        result = run(
            args.data,
            eval_data=args.eval_data,
            preset=args.preset,
            base=args.base,
            revision=args.revision,
            output=args.output,
            overrides=overrides,
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

    def evaluate(args: argparse.Namespace) -> int:
        import json
        from pathlib import Path

        from ..data import ir_task_from_pairs, load_ir_folder, read_pairs
        from ..evaluation import evaluate as run

        if args.results and not Path(args.results).resolve().parent.is_dir():  # say so before a long evaluation
            raise NotADirectoryError(0, "no such folder to write the results in", str(Path(args.results).parent))
        folder = len(args.data) == 1 and Path(args.data[0]).is_dir()
        task = load_ir_folder(args.data[0]) if folder else ir_task_from_pairs(read_pairs(args.data), name="pairs")
        report = run(
            load_model(args),
            task,
            dims=args.dims,
            batch_size=args.batch_size,
            fusion=args.fusion,
            bm25_weight=args.bm25_weight,
        )
        results = json.dumps(report.results(), indent=2) + "\n"
        if args.json:  # the model (dense), BM25 and the hybrid side by side
            sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
        else:
            print(report)
        if args.results:
            Path(args.results).write_text(results, encoding="utf-8")
            note(args, f"Evaluator results written to {args.results} (for `sitges-retriever card update`).")
        return 0

    def search(args: argparse.Namespace) -> int:
        import json

        from ..search import _check_questions
        from ..search import search as run

        _check_questions(args.question)  # before loading the model
        model = None if args.mode == "bm25" else load_model(args)
        hits = run(model, args.question, procedures=args.corpus, dim=args.dim, top_k=args.top_k, mode=args.mode)
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

    from ..architecture import MATRYOSHKA_DIMS

    parser = subparsers.add_parser(
        "train",
        parents=[COMMON],
        help="Fine-tune on pairs, evaluate per dimension beside BM25 and the hybrid, write "
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
    parser.add_argument("--base", help="base folder or Hub id (default: multilingual-e5-small, Hub or offline copy)")
    add_model_options(parser)  # the base's revision; --device cpu, cuda or mps (training takes no index)
    parser.add_argument("--output", default="sitges-retriever-model", metavar="DIR", help="the model folder to write")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a preset value or a trainer argument, e.g. --set lr=2e-5 (repeatable)",
    )
    parser.add_argument("--max-steps", type=int, metavar="N", help="stop after N optimizer steps (a quick check)")
    parser.set_defaults(handler=train)

    parser = subparsers.add_parser(
        "evaluate", parents=[COMMON], help="Retrieval metrics per dimension: the model, Catalan BM25 and the hybrid."
    )
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
    parser.add_argument(
        "--json", action="store_true", help="print {dense, bm25, hybrid} metrics per dimension as JSON, nothing else"
    )
    parser.add_argument("--fusion", default="weighted", choices=("weighted", "rrf"), help="hybrid fusion")
    parser.add_argument(
        "--bm25-weight",
        type=float,
        help=f"BM25 share in weighted fusion (default: the model's own per size, in hybrid.json; else {BM25_WEIGHT})",
    )
    add_model_options(parser)
    parser.set_defaults(handler=evaluate)

    parser = subparsers.add_parser("search", parents=[COMMON], help="The procedures that best answer a question.")
    parser.add_argument("model", help="model folder or Hub id")
    parser.add_argument("question")
    parser.add_argument("--dim", type=int, choices=MATRYOSHKA_DIMS, help="embedding size (default: full)")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument(
        "--corpus",
        metavar="FILE",
        help="procedures (.jsonl with title/text, pair files or a corpus.json); default: the demo procedures",
    )
    parser.add_argument("--mode", default="hybrid", choices=MODES, help="default: hybrid")
    parser.add_argument("--json", action="store_true", help="print the hits as JSON (rank, score, id, title)")
    add_model_options(parser)
    parser.set_defaults(handler=search)


def _training_device(device: str) -> str:
    """`--device` for training: the trainer runs on the CPU or on every visible accelerator, not on one by index."""
    import torch

    from ..errors import PresetError

    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if device not in available:
        hint = " (pick GPUs with CUDA_VISIBLE_DEVICES, e.g. CUDA_VISIBLE_DEVICES=1)" if ":" in device else ""
        raise PresetError(f"Training runs on --device cpu, cuda or mps, not {device!r}{hint}.")
    if not available[device]:
        raise PresetError(f"--device {device}: this machine has no {device} device; use --device cpu.")
    return device
