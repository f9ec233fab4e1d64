"""Is one trained model really better than another? Paired bootstrap of nDCG@10 per Matryoshka dimension.

Encodes the XQuAD-ca test task once per model, scores every query at each dimension and resamples the
queries (the same resample for both models) to give the mean difference with a 95% interval. Written by
hand because sentence-transformers' evaluators report only the mean, not per-query scores.

    python benchmarks/compare.py WORK/default WORK/published      # models saved by run_benchmark.py --work WORK
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sitges_retriever import MATRYOSHKA_DIMS, load, truncate  # noqa: E402
from sitges_retriever.data import IRTask, load_ir_folder  # noqa: E402


def per_query_ndcg(model_path: str, task: IRTask, dims=MATRYOSHKA_DIMS, k: int = 10) -> dict[int, np.ndarray]:
    """nDCG@k of every query at each dimension, binary relevance (as InformationRetrievalEvaluator computes it)."""
    model = load(model_path)
    doc_ids, query_ids = list(task.corpus), list(task.queries)
    docs = model.encode([task.corpus[d] for d in doc_ids], batch_size=64, show_progress_bar=True)
    queries = model.encode([task.queries[q] for q in query_ids], batch_size=64, show_progress_bar=True)
    discounts = 1 / np.log2(np.arange(2, k + 2))
    scores = {}
    for dim in dims:
        ranked = np.argsort(-(truncate(queries, dim) @ truncate(docs, dim).T), axis=1)[:, :k]
        values = []
        for qid, top in zip(query_ids, ranked, strict=True):
            relevant = task.relevant_docs.get(qid, set())
            gains = np.array([doc_ids[i] in relevant for i in top], dtype=float)
            ideal = discounts[: min(len(relevant), k)].sum()
            values.append(float(gains @ discounts / ideal) if ideal else 0.0)
        scores[dim] = np.array(values)
    return scores


def paired_bootstrap(a: np.ndarray, b: np.ndarray, rounds: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b and its 95% percentile interval over query resamples."""
    rng = np.random.default_rng(seed)
    diff = a - b
    means = diff[rng.integers(0, len(diff), size=(rounds, len(diff)))].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_a", help="model folder (e.g. the default preset's)")
    parser.add_argument("model_b", help="model folder to compare against (e.g. the published preset's)")
    parser.add_argument("--task", type=Path, default=ROOT.parent / "shared" / "data" / "xquad_ca_eval" / "sentence")
    args = parser.parse_args(argv)
    task = load_ir_folder(args.task)
    a, b = per_query_ndcg(args.model_a, task), per_query_ndcg(args.model_b, task)
    print(f"\n{len(task.queries)} queries; A = {args.model_a}, B = {args.model_b}\n")
    print("| dim | A nDCG@10 | B nDCG@10 | A - B | 95% interval |\n|--:|--:|--:|--:|:--|")
    for dim in a:
        mean, low, high = paired_bootstrap(a[dim], b[dim])
        print(f"| {dim} | {a[dim].mean():.3f} | {b[dim].mean():.3f} | {mean:+.3f} | [{low:+.3f}, {high:+.3f}] |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
