"""Quantisation and the Matryoshka funnel, measured: nDCG@10 and bytes per document on XQuAD-ca.

For each Matryoshka size: float32, int8 and binary vectors (sentence-transformers' `quantize_embeddings`, int8
calibrated on the corpus), searched alone and with their top `--rescore` candidates rescored by the float
384-d vectors; and the float 64-d -> 384-d funnel at several prefetch sizes (what `Index` does by default).
Scores are exact (brute force), as in Qdrant's local mode. Writes benchmarks/index_quantization.json.

    python benchmarks/index_quantization.py --model MODEL              # the full run (1,060 questions)
    python benchmarks/index_quantization.py --model MODEL --limit 40   # a quick check of the script
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sitges_retriever.architecture import MATRYOSHKA_DIMS  # noqa: E402
from sitges_retriever.data import load_ir_folder  # noqa: E402
from sitges_retriever.evaluation import st_evaluators  # noqa: E402
from sitges_retriever.hub import load  # noqa: E402
from sitges_retriever.matryoshka import truncate  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "xquad_ca_eval" / "sentence"
BYTES = {"float32": 4.0, "int8": 1.0, "binary": 1 / 8}
TOP = 100  # hits handed to the evaluator per query


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model folder or Hub id")
    parser.add_argument("--revision")
    parser.add_argument("--data", type=Path, default=DATA, help="an evaluation folder (default: XQuAD-ca sentences)")
    parser.add_argument("--limit", type=int, help="use only the first N questions (a quick check)")
    parser.add_argument("--rescore", type=int, default=100, help="candidates rescored by the float 384-d vectors")
    parser.add_argument("--prefetch", type=int, nargs="+", default=[25, 50, 100, 200, 400], help="funnel sizes")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("index_quantization.json"))
    return parser.parse_args(argv)


def quantize(corpus: np.ndarray, queries: np.ndarray, precision: str) -> tuple[np.ndarray, np.ndarray]:
    """(queries, documents) scores of quantised vectors: float dot, int8 dot, or minus the Hamming distance."""
    from sentence_transformers.quantization import quantize_embeddings

    if precision == "float32":
        return queries @ corpus.T
    if precision == "int8":
        docs = quantize_embeddings(corpus, precision="int8", calibration_embeddings=corpus).astype(np.int32)
        query = quantize_embeddings(queries, precision="int8", calibration_embeddings=corpus).astype(np.int32)
        return (query @ docs.T).astype(np.float64)
    docs = np.unpackbits(quantize_embeddings(corpus, precision="ubinary"), axis=-1).astype(np.int32)
    query = np.unpackbits(quantize_embeddings(queries, precision="ubinary"), axis=-1).astype(np.int32)
    # Hamming distance via dot products of ±1 vectors: d = (n - a·b) / 2
    return ((2 * query - 1) @ (2 * docs - 1).T).astype(np.float64)


def rescored(first: np.ndarray, full: np.ndarray, k: int) -> np.ndarray:
    """Keep each query's top `k` by `first`, scored by `full`; every other document ranks below them."""
    out = np.full(full.shape, -np.inf)
    top = np.argpartition(-first, min(k, first.shape[1]) - 1, axis=1)[:, :k]
    np.put_along_axis(out, top, np.take_along_axis(full, top, axis=1), axis=1)
    return out


def ndcg(scorer, scores: np.ndarray) -> float:
    top = np.argsort(-scores, axis=1)[:, :TOP]
    hits = [
        [{"corpus_id": scorer.corpus_ids[d], "score": float(row[d])} for d in docs if np.isfinite(row[d])]
        for docs, row in zip(top, scores, strict=True)
    ]
    return float(scorer.compute_metrics(hits)["ndcg@k"][10])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    task = load_ir_folder(args.data)
    qids = [qid for qid in task.queries if task.relevant_docs.get(qid)][: args.limit]
    queries = {qid: task.queries[qid] for qid in qids}
    scorer = st_evaluators()[0](queries, task.corpus, task.relevant_docs, write_csv=False)
    model = load(args.model, revision=args.revision)
    prompts = model.prompts or {}
    started = time.perf_counter()
    document_prompt, query_prompt = (
        ("document" if prompts.get("document") else None),
        ("query" if prompts.get("query") else None),
    )
    corpus = model.encode(list(scorer.corpus), batch_size=32, prompt_name=document_prompt)
    query = model.encode(list(scorer.queries), batch_size=32, prompt_name=query_prompt)
    encoding = time.perf_counter() - started
    full = query @ corpus.T
    rows = []
    for dim in MATRYOSHKA_DIMS:
        cut_corpus, cut_query = truncate(corpus, dim), truncate(query, dim)
        for precision in BYTES:
            first = quantize(cut_corpus, cut_query, precision)
            row = {"dim": dim, "precision": precision, "bytes_per_document": dim * BYTES[precision]}
            row["ndcg@10"] = ndcg(scorer, first)
            row["ndcg@10_rescored"] = ndcg(scorer, rescored(first, full, args.rescore))
            rows.append(row)
            print(json.dumps(row))
    reference = next(r["ndcg@10"] for r in rows if r["dim"] == max(MATRYOSHKA_DIMS) and r["precision"] == "float32")
    small = min(MATRYOSHKA_DIMS)
    first = truncate(query, small) @ truncate(corpus, small).T
    funnel = [{"prefetch": k, "ndcg@10": ndcg(scorer, rescored(first, full, k))} for k in args.prefetch]
    for row in funnel:
        row["minus_full"] = row["ndcg@10"] - reference
        print(json.dumps(row))
    result = {
        "model": str(args.model),
        "data": str(args.data),
        "queries": len(queries),
        "documents": len(scorer.corpus),
        "rescore": args.rescore,
        "float_384_ndcg@10": reference,
        "quantization": rows,
        "funnel_64_to_384": funnel,
        "encoding_seconds": encoding,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
    }
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(result))
    print(f"Results written to {args.output}")
    return 0


def table(result: dict) -> str:
    """The markdown table for benchmarks/README.md."""
    reference = result["float_384_ndcg@10"]
    lines = [
        f"| dim | precision | bytes / doc | nDCG@10 | rescored top {result['rescore']} (float 384) | kept |",
        "|--:|:--|--:|--:|--:|--:|",
    ]
    for row in result["quantization"]:
        lines.append(
            f"| {row['dim']} | {row['precision']} | {row['bytes_per_document']:g} | {row['ndcg@10']:.3f} | "
            f"{row['ndcg@10_rescored']:.3f} | {row['ndcg@10_rescored'] / reference:.1%} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
