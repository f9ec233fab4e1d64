"""Choose the hybrid's fusion without the test set: nDCG@10 on ViquiQuAD's held-out tenth for each setting.

The held-out tenth is the one `train` keeps out (split by positive, seed 42); the model is one trained on the
other nine tenths (e.g. by tune_recipe.py). Prints a table and writes benchmarks/fusion.json, with the BM25
weight per size that the package's own rule (`clear_winner` over `weight_grid_ndcg`, as `choose_bm25_weights` applies
it to `train`'s validation split) picks on that tenth: run_benchmark.py fuses each base's models with those of
its own `default` model.

    python benchmarks/tune_fusion.py benchmarks/runs/tune/default-bm25-k1.5-b0.3
    python benchmarks/tune_fusion.py benchmarks/runs/tune-minilm/default-scale20-bm25neg \
        --out benchmarks/fusion-minilm.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ir_stats import held_out_task, per_query_ndcg  # noqa: E402

from sitges_retriever import MATRYOSHKA_DIMS, load, truncate  # noqa: E402
from sitges_retriever.data import read_pairs  # noqa: E402
from sitges_retriever.evaluation import clear_winner, encode, weight_grid_ndcg  # noqa: E402
from sitges_retriever.retrieval import BM25, hybrid_scores  # noqa: E402

SHOWN = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0)  # the table's rows; the choice looks at all of WEIGHT_GRID


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a model folder trained without the held-out tenth")
    parser.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--pairs", default="pairs_sentence.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "fusion.json")
    args = parser.parse_args(argv)
    task = held_out_task(read_pairs(args.data_root / "viquiquad_train" / args.pairs))
    queries, corpus = list(task.queries.values()), list(task.corpus.values())
    model = load(args.model)
    query_vectors, document_vectors = encode(model, queries, "query"), encode(model, corpus, "document")
    keyword = BM25(corpus).scores(queries)
    grid = weight_grid_ndcg(query_vectors, document_vectors, keyword, task, MATRYOSHKA_DIMS)
    chosen = {str(dim): clear_winner(per_weight) for dim, per_weight in grid.items()}
    rows = {f"weighted {w:g}": {str(dim): round(float(grid[dim][w].mean()), 4) for dim in grid} for w in SHOWN}
    rows["rrf"] = {}
    for dim in MATRYOSHKA_DIMS:
        dense = truncate(query_vectors, dim) @ truncate(document_vectors, dim).T
        rows["rrf"][str(dim)] = round(
            float(per_query_ndcg(hybrid_scores(dense, keyword, method="rrf"), task).mean()), 4
        )
    bm25 = round(float(per_query_ndcg(keyword, task).mean()), 4)
    print(f"held-out: {len(queries)} queries, {len(corpus)} documents; BM25 alone {bm25}")
    print("| fusion | " + " | ".join(f"@{d}" for d in MATRYOSHKA_DIMS) + " | mean |")
    print("|:--|" + "--:|" * (len(MATRYOSHKA_DIMS) + 1))
    for name, values in rows.items():
        mean = sum(values.values()) / len(values)
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in values.values()) + f" | {mean:.4f} |")
    print(f"BM25 weight per size chosen on the held-out tenth: {chosen}")
    result = {
        "model": str(args.model),
        "held_out_queries": len(queries),
        "bm25": bm25,
        "fusion": rows,
        "bm25_weight": chosen,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
