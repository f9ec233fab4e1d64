"""Index speed and scale, measured: build time and query latency (p50 / p95) of `sitges_retriever.index.Index`.

1. The XQuAD-ca corpus (or the packaged demo procedures, `--data demo`) with the model: build time (embedding
   included), then one question at a time for dense-384 (direct), the 64 -> 384 funnel, BM25 and hybrid, after
   a warm-up (the model stays loaded).
2. Growth in local mode: synthetic procedures (random words of that corpus) and random unit vectors in
   place of the model, so the curve shows Qdrant's side; embedding time is documents / the throughput of 1.

Writes benchmarks/index_speed.json.

    python benchmarks/index_speed.py --model MODEL                                   # the full run
    python benchmarks/index_speed.py --model MODEL --limit 20 --sizes 200 500        # a quick check of the script
    python benchmarks/index_speed.py --model MODEL --data demo --sizes --output benchmarks/index_speed_demo.json
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sitges_retriever.corpus import Procedure, load_procedures  # noqa: E402
from sitges_retriever.data import load_ir_folder  # noqa: E402
from sitges_retriever.index import Index  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "xquad_ca_eval" / "sentence"
#: (name, search options) of each measured query kind.
KINDS: list[tuple[str, dict[str, Any]]] = [
    ("dense-384", {"mode": "dense", "dim": 384, "prefetch": 0}),
    ("funnel-64-384", {"mode": "dense", "dim": 384}),
    ("bm25", {"mode": "bm25"}),
    ("hybrid", {"mode": "hybrid"}),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model folder or Hub id")
    parser.add_argument(
        "--data", default=str(DATA), help="an evaluation folder (default: XQuAD-ca sentences), or `demo`"
    )
    parser.add_argument("--limit", type=int, default=200, help="questions timed per kind (default: 200)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000], help="growth sizes")
    parser.add_argument("--url", help="also time a Qdrant server (QDRANT_API_KEY from the environment)")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("index_speed.json"))
    return parser.parse_args(argv)


def latencies(index: Index, questions: list[str], options: dict[str, Any]) -> dict[str, float]:
    index.search_many(questions[:3], **options)  # warm-up: model loaded, caches filled
    times = []
    for question in questions:
        started = time.perf_counter()
        index.search(question, **options)
        times.append(time.perf_counter() - started)
    return {"p50_ms": 1000 * float(np.percentile(times, 50)), "p95_ms": 1000 * float(np.percentile(times, 95))}


def measure(index: Index, model: Any, corpus: list[Procedure], questions: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    index.build(model, corpus)
    build = time.perf_counter() - started
    info = index.info()
    row = {"documents": len(corpus), "build_seconds": build, "size_on_disk": info["size_on_disk"]}
    for name, options in KINDS:
        row[name] = latencies(index, questions, options)
    print(json.dumps(row))
    return row


class RandomEncoder:
    """Stands in for the model in the growth runs: random unit vectors, so only the index's cost is timed."""

    prompts: dict[str, str] = {}

    def __init__(self, dim: int = 384, seed: int = 0):
        self.dim, self.random = dim, np.random.default_rng(seed)

    def get_embedding_dimension(self) -> int:
        return self.dim

    def encode(self, texts, **_: Any) -> np.ndarray:
        vectors = self.random.standard_normal((len(texts), self.dim)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class SyntheticIndex(Index):
    def _load(self, model, revision):
        return RandomEncoder()


def synthetic(words: list[str], size: int, seed: int = 0) -> list[Procedure]:
    rng = random.Random(seed)
    return [
        Procedure(id=f"s{n}", title=f"Tràmit {n}", text=" ".join(rng.choices(words, k=rng.randint(15, 60))))
        for n in range(size)
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    name, corpus, questions = read_corpus(args.data)
    questions = questions[: args.limit]
    result: dict[str, Any] = {"model": str(args.model), "data": str(args.data), "questions_timed": len(questions)}
    with tempfile.TemporaryDirectory(prefix="index-speed-") as work:
        with Index(Path(work) / name) as index:
            result[f"{name}_local"] = measure(index, args.model, corpus, questions)
        if args.url:
            with Index(url=args.url, collection=f"index-speed-{name}") as index:
                result[f"{name}_server"] = measure(index, args.model, corpus, questions)
        words = sorted({word for procedure in corpus for word in procedure.text.split()})
        result["growth_local"] = []
        for size in args.sizes:
            with SyntheticIndex(Path(work) / f"synthetic-{size}") as index:
                result["growth_local"].append(measure(index, "random", synthetic(words, size), questions))
    embedding = result[f"{name}_local"]["documents"] / result[f"{name}_local"]["build_seconds"]
    result["embedding_documents_per_second"] = embedding
    result["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    result["machine"] = f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(result))
    print(f"Results written to {args.output}")
    return 0


def read_corpus(data: str) -> tuple[str, list[Procedure], list[str]]:
    """(name, procedures, questions): the packaged demo set for `demo`, else an evaluation folder (XQuAD-ca)."""
    if data == "demo":
        procedures = load_procedures()
        return "demo", procedures, [question for procedure in procedures for question in procedure.questions]
    task = load_ir_folder(data)
    corpus = [Procedure(id=key, title="", text=text) for key, text in task.corpus.items()]  # text alone, as scored
    return "xquad", corpus, list(task.queries.values())


def table(result: dict[str, Any]) -> str:
    """The markdown table for benchmarks/README.md: build time and p50 / p95 per query kind."""
    kinds = " | ".join(f"{name} p50 / p95 (ms)" for name, _ in KINDS)
    header = f"| corpus | documents | build (s) | size on disk (MB) | {kinds}"
    lines = [header + " |", "|:--|--:|--:|--:|" + "--:|" * len(KINDS)]
    labels = {"demo_local": "demo, local", "xquad_local": "XQuAD-ca, local", "xquad_server": "XQuAD-ca, server"}
    labels["demo_server"] = "demo, server"
    rows = [(label, result[key]) for key, label in labels.items() if key in result]
    rows += [("synthetic, local", row) for row in result["growth_local"]]
    for name, row in rows:
        size = f"{row['size_on_disk'] / 1e6:.1f}" if row["size_on_disk"] else "–"
        cells = " | ".join(f"{row[n]['p50_ms']:.1f} / {row[n]['p95_ms']:.1f}" for n, _ in KINDS)
        lines.append(f"| {name} | {row['documents']:,} | {row['build_seconds']:.1f} | {size} | {cells} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
