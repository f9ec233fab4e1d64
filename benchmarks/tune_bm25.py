"""Choose BM25's k1 and b without the test set: nDCG@10 of Catalan BM25 on every ViquiQuAD question and on the demo's
questions outside the tenth the main job reports, for each (k1, b) of a grid.

BM25 learns nothing from the pairs, so every training question can score it. Writes benchmarks/bm25.json: each
setting's nDCG@10 and gain over the usual k1 1.2, b 0.75 on both sets, and the setting with the best mean gain
(what `retrieval.BM25_PARAMETERS` holds), with paired-bootstrap intervals. XQuAD-ca, the test set, is never read.

    python benchmarks/tune_bm25.py
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ir_stats import USUAL_BM25, held_out_split, paired_bootstrap, per_query_ndcg  # noqa: E402

from sitges_retriever.data import IRTask, demo_pairs, ir_task_from_pairs, read_pairs  # noqa: E402
from sitges_retriever.retrieval import BM25  # noqa: E402

USUAL = (USUAL_BM25["k1"], USUAL_BM25["b"])
K1 = (0.9, 1.2, 1.5, 1.8, 2.0, 2.5)
B = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "bm25.json")
    args = parser.parse_args(argv)
    unreported_demo, _ = held_out_split(demo_pairs())  # as `train` splits
    tasks = {
        "viquiquad": ir_task_from_pairs(
            read_pairs(args.data_root / "viquiquad_train" / "pairs_sentence.jsonl"), name="all"
        ),
        "demo (not the reported tenth)": ir_task_from_pairs(unreported_demo, name="all"),
    }
    scores = {
        (k1, b): {name: ndcg(task, k1, b) for name, task in tasks.items()}
        for k1, b in [USUAL, *itertools.product(K1, B)]
    }
    gains = {
        setting: {name: float(values[name].mean() - scores[USUAL][name].mean()) for name in tasks}
        for setting, values in scores.items()
    }
    best = max(gains, key=lambda setting: sum(gains[setting].values()))
    intervals = {name: paired_bootstrap(scores[best][name], scores[USUAL][name]) for name in tasks}
    print(" | ".join(["k1", "b", *tasks, "mean gain"]))
    for (k1, b), gain in sorted(gains.items(), key=lambda item: -sum(item[1].values()))[:10]:
        print(
            f"{k1} | {b} | "
            + " | ".join(f"{scores[k1, b][n].mean():.4f} ({gain[n]:+.4f})" for n in tasks)
            + f" | {sum(gain.values()) / len(gain):+.4f}"
        )
    print(
        f"Best mean gain: k1 {best[0]}, b {best[1]}; intervals "
        + ", ".join(f"{name} {d:+.4f} [{lo:+.4f}, {hi:+.4f}]" for name, (d, lo, hi) in intervals.items())
    )
    result = {
        "questions": {name: len(task.queries) for name, task in tasks.items()},
        "usual": {"k1": USUAL[0], "b": USUAL[1], **{n: round(float(scores[USUAL][n].mean()), 4) for n in tasks}},
        "grid": [
            {"k1": k1, "b": b, **{n: round(float(v[n].mean()), 4) for n in tasks}} for (k1, b), v in scores.items()
        ],
        "best": {"k1": best[0], "b": best[1], "gain": {n: [round(x, 4) for x in intervals[n]] for n in tasks}},
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"Wrote {args.out}")
    return 0


def ndcg(task: IRTask, k1: float, b: float):
    corpus, queries = list(task.corpus.values()), list(task.queries.values())
    return per_query_ndcg(BM25(corpus, k1=k1, b=b).scores(queries), task)


if __name__ == "__main__":
    sys.exit(main())
