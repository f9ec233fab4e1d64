"""Benchmark bases x recipes on XQuAD-ca: the model alone (dense), BM25 and the hybrid at each Matryoshka size.

Trains each base (multilingual-e5-small, all-MiniLM-L6-v2) with each preset on ViquiQuAD pairs
(../shared/data/viquiquad_train/), then ranks the XQuAD-ca sentence task (../shared/data/xquad_ca_eval/) with
the zero-shot base and every trained model, alone and fused with Catalan BM25, beside the BM25s it replaced.
Each run keeps its best epoch by a held-out tenth of the *training* pairs; the fusion weight and the recipe
were chosen on that held-out tenth too (tune_recipe.py). The test set chooses nothing.

Per-query nDCG@10 gives 95% bootstrap intervals and the paired `default` - `published` differences.
results.json is rewritten after every system, so an interrupted run keeps what it measured.

    python benchmarks/run_benchmark.py                                   # everything (about 65 min on 2 quiet cores)
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
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ir_stats import USUAL_BM25, interval, paired_bootstrap, per_query_ndcg, read_fusion_weights  # noqa: E402

from sitges_retriever import MATRYOSHKA_DIMS, build_model, load, truncate  # noqa: E402
from sitges_retriever.bases import E5_SMALL, MINILM, resolve_base  # noqa: E402
from sitges_retriever.data import IRTask, load_ir_folder, read_pairs  # noqa: E402
from sitges_retriever.evaluation import encode  # noqa: E402
from sitges_retriever.retrieval import BM25, CATALAN, PLAIN, KeywordAnalyzer, hybrid_scores  # noqa: E402
from sitges_retriever.training import get_preset, parse_settings, train  # noqa: E402

BASES = {"e5": E5_SMALL, "minilm": MINILM}
START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"
#: name -> (analyzer, BM25 parameters; {} for the package's): the package's Catalan BM25 and what it replaced.
KEYWORD: dict[str, tuple[KeywordAnalyzer, dict[str, float]]] = {
    "BM25, words, k1 1.2, b 0.75 (as before)": (PLAIN, USUAL_BM25),
    "BM25, Catalan stemmer, k1 1.2, b 0.75": (CATALAN, USUAL_BM25),
    "BM25, Catalan stemmer + stop words, k1 1.2, b 0.75": (KeywordAnalyzer(stem=True, stopwords=True), USUAL_BM25),
    "BM25, Catalan stemmer, k1 1.5, b 0.3 (the package's)": (CATALAN, {}),
}
#: (what, system, side, dim, threshold) of issue #9.
TARGETS = [
    ("`default` dense at 384", "e5 / default", "dense", "384", 0.84),
    ("`default` dense at 64", "e5 / default", "dense", "64", 0.74),
    ("Catalan BM25", "BM25, Catalan stemmer, k1 1.5, b 0.3 (the package's)", "bm25", "all", 0.81),
    ("hybrid at 384", "e5 / default", "hybrid", "384", 0.87),
    ("hybrid at 64", "e5 / default", "hybrid", "64", 0.85),
]


#: Each base's fusion weights, from tune_fusion.py on its own `default` model trained on the other nine tenths.
FUSION_FILES = {"e5": ROOT / "benchmarks" / "fusion.json", "minilm": ROOT / "benchmarks" / "fusion-minilm.json"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--pairs", default="pairs_sentence.jsonl", help="the pairs file in viquiquad_train/")
    parser.add_argument("--eval", default="sentence", choices=("sentence", "paragraph"), help="xquad_ca_eval task")
    parser.add_argument("--bases", nargs="+", default=list(BASES), choices=list(BASES))
    parser.add_argument("--presets", nargs="+", default=["default", "published"])
    parser.add_argument("--skip", nargs="*", default=[], metavar="BASE/PRESET", help="e.g. e5/published")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="[PRESET:]KEY=VALUE",
        help="override a preset value for one preset (published:max_seq_length=128) or all",
    )
    parser.add_argument("--limit", type=int, help="a quick check: only this many training pairs and test queries")
    parser.add_argument("--max-steps", type=int, help="stop each training after N optimizer steps")
    parser.add_argument("--work", type=Path, help="where the trained models go (default: a temporary folder)")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--readme", type=Path, default=ROOT / "benchmarks" / "README.md")
    parser.add_argument("--no-write", action="store_true", help="print the table, write neither file")
    parser.add_argument(
        "--fusion",
        action="append",
        default=[],
        metavar="BASE=FILE",
        help="tune_fusion.py's output for a base: its hybrid's BM25 weight per size, chosen on held-out ViquiQuAD "
        f"with that base's `default` model (default: {', '.join(f'{k}={v.name}' for k, v in FUSION_FILES.items())})",
    )
    return parser.parse_args(argv)


def fusion_files(given: list[str]) -> dict[str, Path]:
    """--fusion BASE=FILE options as {base: file}; a malformed one stops the run with a one-line reason."""
    files = {}
    for option in given:
        key, _, file = option.partition("=")
        if key not in BASES or not file:
            raise SystemExit(f"--fusion {option!r}: give BASE=FILE with BASE one of {', '.join(BASES)}.")
        files[key] = Path(file)
    return files


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


class Bench:
    """The test task, its BM25 scores, and the rows measured so far (written after each system)."""

    def __init__(self, args: argparse.Namespace, task: IRTask, train_file: Path):
        self.args, self.task = args, task
        self.queries, self.corpus = list(task.queries.values()), list(task.corpus.values())
        self.keyword = BM25(self.corpus, analyzer=CATALAN).scores(self.queries)
        files = {**FUSION_FILES, **fusion_files(args.fusion)}
        self.weights = {key: read_fusion_weights(files[key]) for key in args.bases}
        self.per_query: dict[str, dict[str, np.ndarray]] = {}
        self.results: dict[str, Any] = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "train": f"viquiquad_train/{train_file.name}" + (f"[:{args.limit}]" if args.limit else ""),
            "test": f"xquad_ca_eval/{args.eval}" + (f"[:{args.limit}]" if args.limit else ""),
            "queries": len(task.queries),
            "documents": len(task.corpus),
            "fusion": "weighted min-max, BM25 weight "
            + "; ".join(
                f"{key} {' / '.join(f'{weights[dim]:g}' for dim in MATRYOSHKA_DIMS)} ({files[key].name})"
                for key, weights in self.weights.items()
            )
            + " at "
            + " / ".join(map(str, MATRYOSHKA_DIMS))
            + " (chosen on held-out ViquiQuAD with the base's own `default`), top-100 candidates of each side",
            "model_selection": "best epoch on a held-out tenth of the training pairs",
            "max_steps": args.max_steps,
            "presets": {},
            "rows": {},
            "complete": False,
        }

    def add_keyword(self, name: str, analyzer: KeywordAnalyzer, parameters: dict[str, float]) -> None:
        if analyzer == CATALAN and not parameters:
            scores = self.keyword
        else:
            scores = BM25(self.corpus, analyzer=analyzer, **parameters).scores(self.queries)
        self._add(name, {"bm25": {"all": per_query_ndcg(scores, self.task)}}, {})

    def add_model(self, name: str, key: str, model: Any, facts: dict[str, Any]) -> None:
        """Encode the test set with `model` (of base `key`), score it dense and fused at each size."""
        started = time.perf_counter()
        documents = encode(model, self.corpus, "document", batch_size=64)
        facts["encode_corpus_seconds"] = round(time.perf_counter() - started, 2)
        queries = encode(model, self.queries, "query", batch_size=64)
        sides: dict[str, dict[str, np.ndarray]] = {"dense": {}, "hybrid": {}}
        for dim in MATRYOSHKA_DIMS:
            dense = truncate(queries, dim) @ truncate(documents, dim).T
            sides["dense"][str(dim)] = per_query_ndcg(dense, self.task)
            fused = hybrid_scores(dense, self.keyword, weight=self.weights[key][dim])
            sides["hybrid"][str(dim)] = per_query_ndcg(fused, self.task)
        self._add(name, sides, facts)

    def _add(self, name: str, sides: dict[str, dict[str, np.ndarray]], facts: dict[str, Any]) -> None:
        row: dict[str, Any] = dict(facts)
        for side, by_dim in sides.items():
            row[side] = {dim: round(float(values.mean()), 4) for dim, values in by_dim.items()}
            row[f"{side}_interval"] = {dim: [round(v, 4) for v in interval(values)] for dim, values in by_dim.items()}
            self.per_query.update({f"{name}|{side}|{dim}": values for dim, values in by_dim.items()})
        self.results["rows"][name] = row
        print(f"{name}: {json.dumps({k: v for k, v in row.items() if not k.endswith('interval')})}", flush=True)
        self.write()

    def summarize(self) -> None:
        """The derived figures (paired differences, ratios, targets) from the rows measured so far."""
        rows = self.results["rows"]
        for key in BASES:
            if f"{key} / default" in rows and f"{key} / published" in rows:
                self.results.setdefault("default_minus_published", {})[key] = {
                    dim: [
                        round(v, 4)
                        for v in paired_bootstrap(
                            self.per_query[f"{key} / default|dense|{dim}"],
                            self.per_query[f"{key} / published|dense|{dim}"],
                        )
                    ]
                    for dim in map(str, MATRYOSHKA_DIMS)
                }
                self.results.setdefault("time_ratio_default_over_published", {})[key] = round(
                    rows[f"{key} / default"]["train_seconds"] / rows[f"{key} / published"]["train_seconds"], 3
                )
        if "e5 / zero-shot" in rows and "minilm / zero-shot" in rows:
            self.results["encode_ratio_e5_over_minilm"] = round(
                rows["e5 / zero-shot"]["encode_corpus_seconds"] / rows["minilm / zero-shot"]["encode_corpus_seconds"], 2
            )
        self.results["targets"] = [
            {
                "target": what,
                "value": rows[system][side][dim],
                "interval": rows[system][f"{side}_interval"][dim],
                "threshold": threshold,
                "met": rows[system][side][dim] >= threshold,
            }
            for what, system, side, dim, threshold in TARGETS
            if system in rows
        ]

    def write(self) -> None:
        """results.json and the README table as they stand (so an interrupted run keeps what it measured)."""
        self.summarize()
        if not self.args.no_write:
            self.args.results.write_text(json.dumps(self.results, indent=2, ensure_ascii=False) + "\n", "utf-8")
            write_readme(self.args.readme, markdown_table(self.results))


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
    bench = Bench(args, task, train_file)
    for name, (analyzer, parameters) in KEYWORD.items():
        bench.add_keyword(name, analyzer, parameters)
    for key in args.bases:
        base = resolve_base(BASES[key])
        bench.add_model(
            f"{key} / zero-shot", key, build_model(base.path, prompts=base.prompts or {}), {"base": base.name}
        )
    runs = [(key, preset) for preset in args.presets for key in args.bases if f"{key}/{preset}" not in args.skip]
    runs.sort(key=lambda run: run == ("e5", "published"))  # the longest (5 epochs of the 12-layer base) last
    with tempfile.TemporaryDirectory(prefix="sitges-benchmark-") as scratch:
        for key, preset in runs:
            # validation=0: the held-out tenth already is the validation split here (XQuAD is the test), and the
            # hybrid's BM25 weights are the ones tune_fusion.py chose on it
            overrides = {"validation": 0, **overrides_for(preset, args.set)}
            values = dataclasses.asdict(get_preset(preset, overrides).for_base(BASES[key]))  # the scale trained
            bench.results["presets"][f"{key} / {preset}"] = {
                k: list(v) if isinstance(v, tuple) else v for k, v in values.items()
            }
            started = time.perf_counter()
            result = train(
                pairs,
                preset=preset,
                base=BASES[key],
                output=(args.work or Path(scratch)) / f"{key}-{preset}",
                overrides=overrides,
                max_steps=args.max_steps,
                baseline=False,
            )
            seconds = round(time.perf_counter() - started, 1)
            facts = {
                "base": BASES[key],
                "preset": preset,
                "train_seconds": seconds,
                "train_pairs": result.train_pairs,
            }
            bench.add_model(f"{key} / {preset}", key, load(result.output), facts)
    bench.results["complete"] = True
    bench.write()
    print("\n" + markdown_table(bench.results))
    if not args.no_write:
        print(f"\nWrote {args.results} and the table in {args.readme}.")
    return 0


def markdown_table(results: dict[str, Any]) -> str:
    dims = [str(dim) for dim in MATRYOSHKA_DIMS]
    lines = [
        "| system | " + " | ".join([*(f"dense @{d}" for d in dims), *(f"hybrid @{d}" for d in dims)]) + " | training |",
        f"|:--|{'--:|' * (2 * len(dims))}--:|",
    ]
    for name, row in results["rows"].items():
        if "bm25" in row:
            cells = [f"{row['bm25']['all']:.3f}"] + [""] * (2 * len(dims) - 1)
        else:
            cells = [f"{row['dense'][d]:.3f}" for d in dims] + [f"{row['hybrid'][d]:.3f}" for d in dims]
        seconds = row.get("train_seconds")
        lines.append(f"| {name} | {' | '.join(cells)} | {f'{seconds / 60:.1f} min' if seconds else '–'} |")
    notes = [
        "",
        f"nDCG@10 on `{results['test']}` ({results['queries']} queries, {results['documents']} documents); "
        f"trained on `{results['train']}`; {results['date']}, {results['machine']['cpus']} CPUs. "
        f"Hybrid: {results['fusion']}. Model kept: {results['model_selection']}. BM25 rows: one score, "
        "no dimension.",
    ]
    if "encode_ratio_e5_over_minilm" in results:
        notes.append(
            f"Encoding the test corpus: e5-small / MiniLM-L6 time ratio {results['encode_ratio_e5_over_minilm']}."
        )
    for key, ratio in results.get("time_ratio_default_over_published", {}).items():
        notes.append(f"Training time `default` / `published` ({key}): {ratio:.2f}.")
    if results.get("targets"):
        notes += ["", "| target | value | 95% interval | threshold | met |", "|:--|--:|:--|--:|:--|"]
        notes += [
            f"| {t['target']} | {t['value']:.3f} | [{t['interval'][0]:.3f}, {t['interval'][1]:.3f}] | "
            f"{t['threshold']:.2f} | {'yes' if t['met'] else 'no'} |"
            for t in results["targets"]
        ]
    for key, diffs in results.get("default_minus_published", {}).items():
        notes += [
            "",
            f"`default` − `published` ({key}, dense, paired bootstrap):",
            "",
            "| dim | difference | 95% interval |",
            "|--:|--:|:--|",
        ]
        notes += [f"| {dim} | {d[0]:+.3f} | [{d[1]:+.3f}, {d[2]:+.3f}] |" for dim, d in diffs.items()]
    return "\n".join(lines + notes)


def write_readme(path: Path, table: str) -> None:
    """Put the table between the markers of `path`."""
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{START}\n{END}\n"
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    path.write_text(f"{before}{START}\n{table}\n{END}{after}", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
