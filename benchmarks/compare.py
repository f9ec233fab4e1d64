"""Is one trained model really better than another? Paired bootstrap of nDCG@10 per Matryoshka dimension.

Encodes the XQuAD-ca test task once per model, scores every query at each dimension and resamples the
queries (the same resample for both models) to give the mean difference with a 95% interval
(per-query scores from ir_stats.py).

    python benchmarks/compare.py WORK/default WORK/published      # models saved by run_benchmark.py --work WORK
    python benchmarks/compare.py runs/tune/A runs/tune/B --held-out   # on ViquiQuAD's held-out tenth instead
    python benchmarks/compare.py A B --held-out --hybrid        # each fused with Catalan BM25 (weights below)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

sys.path.insert(0, str(ROOT / "benchmarks"))

from ir_stats import held_out_task, paired_bootstrap, per_query_ndcg, read_fusion_weights  # noqa: E402

from sitges_retriever import MATRYOSHKA_DIMS, load, truncate  # noqa: E402
from sitges_retriever.data import IRTask, load_ir_folder, read_pairs  # noqa: E402
from sitges_retriever.evaluation import encode  # noqa: E402
from sitges_retriever.fusion_weights import attach_bm25_weights, bm25_weight_for, bm25_weights_of  # noqa: E402
from sitges_retriever.retrieval import BM25, hybrid_scores  # noqa: E402


def per_query_ndcg_by_dim(
    model_path: str,
    task: IRTask,
    dims: tuple[int, ...] = MATRYOSHKA_DIMS,
    keyword: np.ndarray | None = None,
    fallback_weights: dict[int, float] | None = None,
) -> dict[int, np.ndarray]:
    """nDCG@10 of every query at each dimension (questions and documents encoded with the model's prompts);
    with `keyword` (BM25 scores), of the hybrid: fused at the model's own BM25 weight for each size
    (hybrid.json), or for a model without one (run_benchmark.py's) at `fallback_weights`, as the benchmark does."""
    model = load(model_path)
    queries = encode(model, list(task.queries.values()), "query", batch_size=64)
    docs = encode(model, list(task.corpus.values()), "document", batch_size=64)
    scores = {dim: truncate(queries, dim) @ truncate(docs, dim).T for dim in dims}
    if keyword is not None:
        own = bm25_weights_of(model) is not None
        if not own:
            attach_bm25_weights(model, fallback_weights, chosen_on="fusion.json")
        weights = {dim: bm25_weight_for(model, dim) for dim in dims}
        print(f"{model_path}: BM25 weights {weights} ({'hybrid.json' if own else 'fusion.json'})")
        scores = {dim: hybrid_scores(s, keyword, weight=weights[dim]) for dim, s in scores.items()}
    return {dim: per_query_ndcg(s, task) for dim, s in scores.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_a", help="model folder (e.g. the default preset's)")
    parser.add_argument("model_b", help="model folder to compare against (e.g. the published preset's)")
    parser.add_argument("--task", type=Path, default=ROOT.parent / "shared" / "data" / "xquad_ca_eval" / "sentence")
    parser.add_argument(
        "--held-out",
        action="store_true",
        help="compare on the held-out tenth of ViquiQuAD that tune_recipe.py reports on, not on --task",
    )
    parser.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument(
        "--hybrid",
        action="store_true",
        help="compare the hybrids: each model fused with Catalan BM25 at its own weights (hybrid.json) or, without "
        "them, at --fusion's (a run_benchmark.py model)",
    )
    parser.add_argument("--fusion", type=Path, default=ROOT / "benchmarks" / "fusion.json")
    args = parser.parse_args(argv)
    if args.held_out:
        task = held_out_task(read_pairs(args.data_root / "viquiquad_train" / "pairs_sentence.jsonl"))
    else:
        task = load_ir_folder(args.task)
    keyword = BM25(list(task.corpus.values())).scores(list(task.queries.values())) if args.hybrid else None
    fallback = read_fusion_weights(args.fusion) if args.hybrid else None
    a = per_query_ndcg_by_dim(args.model_a, task, keyword=keyword, fallback_weights=fallback)
    b = per_query_ndcg_by_dim(args.model_b, task, keyword=keyword, fallback_weights=fallback)
    side = "hybrid" if args.hybrid else "dense"
    print(f"\n{len(task.queries)} queries, {side}; A = {args.model_a}, B = {args.model_b}\n")
    print("| dim | A nDCG@10 | B nDCG@10 | A - B | 95% interval |\n|--:|--:|--:|--:|:--|")
    for dim in a:
        mean, low, high = paired_bootstrap(a[dim], b[dim])
        print(f"| {dim} | {a[dim].mean():.3f} | {b[dim].mean():.3f} | {mean:+.3f} | [{low:+.3f}, {high:+.3f}] |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
