"""Benchmark the training recipes: nDCG@10 per Matryoshka dimension on XQuAD-ca, and training wall time.

Trains on ViquiQuAD pairs (../shared/data/viquiquad_train/) with each preset, then evaluates on the
XQuAD-ca sentence-retrieval task (../shared/data/xquad_ca_eval/sentence/), beside the zero-shot base and
BM25. The best checkpoint of each run is chosen on a held-out slice of the *training* pairs (split by
positive), never on the test set. Writes benchmarks/results.json and the table in benchmarks/README.md.

    python benchmarks/run_benchmark.py                       # the full run (about an hour on 2 cores)
    python benchmarks/run_benchmark.py --limit 40 --max-steps 2 --no-write   # a quick check of the script
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sitges_retriever import MATRYOSHKA_DIMS, build_model  # noqa: E402
from sitges_retriever.bases import DEFAULT_BASE, resolve_base  # noqa: E402
from sitges_retriever.data import IRTask, load_ir_folder, read_pairs  # noqa: E402
from sitges_retriever.evaluation import bm25_baseline, evaluate  # noqa: E402
from sitges_retriever.training import get_preset, parse_settings, train  # noqa: E402

METRIC = "cosine_ndcg@10"
START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-root",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="the shared data folder (default: ../shared/data from the repo root)",
    )
    parser.add_argument("--pairs", default="pairs_sentence.jsonl", help="the pairs file in viquiquad_train/")
    parser.add_argument("--eval", default="sentence", choices=("sentence", "paragraph"), help="xquad_ca_eval task")
    parser.add_argument("--base", default=DEFAULT_BASE, help="base model (folder or Hub id; resolved offline)")
    parser.add_argument("--presets", nargs="+", default=["published", "default"])
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PRESET:KEY=VALUE",
        help="override a preset value for one preset (published:lr=1e-4) or all (lr=1e-4)",
    )
    parser.add_argument("--limit", type=int, help="a quick check: only this many training pairs and test queries")
    parser.add_argument("--max-steps", type=int, help="stop each training after N optimizer steps")
    parser.add_argument("--work", type=Path, help="where the trained models go (default: a temporary folder)")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--readme", type=Path, default=ROOT / "benchmarks" / "README.md")
    parser.add_argument(
        "--all-pairs",
        action="store_true",
        help="train on every pair for the preset's epochs, keeping the last epoch (no held-out tenth, "
        "no best-epoch choice)",
    )
    parser.add_argument("--no-write", action="store_true", help="print the table, write neither file")
    return parser.parse_args(argv)


def sliced(task: IRTask, limit: int) -> IRTask:
    """The first `limit` queries against their relevant documents plus some others (a quick check only)."""
    queries = dict(list(task.queries.items())[:limit])
    relevant = {qid: task.relevant_docs[qid] for qid in queries if qid in task.relevant_docs}
    keep = {doc for docs in relevant.values() for doc in docs} | set(list(task.corpus)[: 4 * limit])
    return IRTask(queries, {d: t for d, t in task.corpus.items() if d in keep}, relevant, name=f"{task.name}[:{limit}]")


def overrides_for(preset: str, settings: list[str]) -> dict[str, str]:
    mine = [s.split(":", 1)[1] for s in settings if re.match(r"^\w+:", s) and s.split(":", 1)[0] == preset]
    common = [s for s in settings if not re.match(r"^\w+:", s)]
    return parse_settings([*common, *mine])


def ndcg(report) -> dict[str, float]:
    return {str(dim): round(values[METRIC], 4) for dim, values in report.metrics.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    train_file = args.data_root / "viquiquad_train" / args.pairs
    task = load_ir_folder(args.data_root / "xquad_ca_eval" / args.eval)
    pairs = read_pairs(train_file)
    if args.limit:
        task = sliced(task, args.limit)
        pairs = dataclasses.replace(pairs, positive=pairs.positive[: args.limit], anchor=pairs.anchor[: args.limit])
    print(
        f"Test: {task.name}, {len(task.queries)} queries, {len(task.corpus)} documents. "
        f"Training: {train_file.name}, {len(pairs)} pairs.",
        flush=True,
    )

    bm25 = round(bm25_baseline(task)[METRIC], 4)
    rows: dict[str, dict] = {"BM25": {"ndcg@10": {str(dim): bm25 for dim in MATRYOSHKA_DIMS}}}
    base = resolve_base(args.base)
    zero_shot = build_model(base.path, prompts=base.prompts or {})
    rows["zero-shot"] = {"ndcg@10": ndcg(evaluate(zero_shot, task, baseline=False))}
    print(f"BM25 {bm25}; zero-shot {rows['zero-shot']['ndcg@10']}", flush=True)

    presets: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="sitges-benchmark-") as scratch:
        for name in args.presets:
            presets[name], rows[name] = run_preset(name, pairs, task, args, args.work or Path(scratch))

    results = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "base": args.base,
        "train": f"viquiquad_train/{args.pairs}" + (f"[:{args.limit}]" if args.limit else ""),
        "test": f"xquad_ca_eval/{args.eval}" + (f"[:{args.limit}]" if args.limit else ""),
        "max_steps": args.max_steps,
        "model_selection": "last epoch, all pairs" if args.all_pairs else "best epoch on a held-out tenth of the pairs",
        "presets": presets,
        "rows": rows,
    }
    if "published" in rows and "default" in rows:
        results["time_ratio_default_over_published"] = round(
            rows["default"]["train_seconds"] / rows["published"]["train_seconds"], 3
        )
    table = markdown_table(results)
    print("\n" + table)
    if not args.no_write:
        args.results.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        write_readme(args.readme, table)
        print(f"\nWrote {args.results} and the table in {args.readme}.")
    return 0


def run_preset(name: str, pairs, task: IRTask, args: argparse.Namespace, work: Path) -> tuple[dict, dict]:
    """Train with one preset (timed), evaluate the result on the test task; return (preset values, row)."""
    overrides = overrides_for(name, args.set)
    if args.all_pairs:
        overrides = {**overrides, "eval_strategy": "no"}
    values = {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(get_preset(name, overrides)).items()
    }
    started = time.perf_counter()
    result = train(
        pairs,
        preset=name,
        base=args.base,
        output=work / name,
        overrides=overrides,
        max_steps=args.max_steps,
        eval_data=task if args.all_pairs else None,  # only the final report, after training, reads the test set
        baseline=False,
    )
    seconds = round(time.perf_counter() - started, 1)
    row = {
        "ndcg@10": ndcg(result.report if args.all_pairs else evaluate(result.output, task, baseline=False)),
        "train_seconds": seconds,
        "train_pairs": result.train_pairs,
        "with_hard_negatives": result.with_hard_negatives,
    }
    print(f"{name}: {row['ndcg@10']} in {seconds:.0f} s", flush=True)
    return values, row


def markdown_table(results: dict) -> str:
    dims = [str(dim) for dim in MATRYOSHKA_DIMS]
    lines = [
        f"| model | {' | '.join(f'nDCG@10 @{d}' for d in dims)} | mean | training time |",
        f"|:--|{'--:|' * len(dims)}--:|--:|",
    ]
    for name, row in results["rows"].items():
        values = [row["ndcg@10"][d] for d in dims]
        seconds = row.get("train_seconds")
        time_cell = f"{seconds / 60:.1f} min" if seconds is not None else "–"
        label = f"`{name}` preset" if name in results["presets"] else name
        cells = " | ".join(f"{v:.3f}" for v in values)
        lines.append(f"| {label} | {cells} | {sum(values) / len(values):.3f} | {time_cell} |")
    notes = [
        "",
        f"Trained on `{results['train']}`, tested on `{results['test']}` ({results['date']}, "
        f"{results['machine']['cpus']} CPUs); base `{results['base']}`; model kept: {results['model_selection']}.",
    ]
    if "time_ratio_default_over_published" in results:
        notes.append(f"Training time `default` / `published`: {results['time_ratio_default_over_published']:.2f}.")
    return "\n".join(lines + notes)


def write_readme(path: Path, table: str) -> None:
    """Put the table between the markers of `path` (created with a short introduction if missing)."""
    text = path.read_text(encoding="utf-8") if path.exists() else INTRO
    if START not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{START}\n{END}\n"
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    path.write_text(f"{before}{START}\n{table}\n{END}{after}", encoding="utf-8")


INTRO = """# Benchmarks

`run_benchmark.py` trains the model with each recipe preset on ViquiQuAD (native Catalan Wikipedia
questions, `../shared/data/viquiquad_train/`) and measures retrieval on XQuAD-ca
(`../shared/data/xquad_ca_eval/sentence/`: each question against all 1,242 sentences of the 240
passages), at every Matryoshka dimension, beside the zero-shot base model and BM25. The two data sets
share no passage and no question. Each run keeps its best epoch by a held-out tenth of the *training*
pairs, so the test set is never used to choose a model.

    python benchmarks/run_benchmark.py            # writes results.json and the table below
"""


if __name__ == "__main__":
    sys.exit(main())
