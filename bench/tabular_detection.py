"""Do synthetic rows pass for real? The classifier two-sample test on real tables that ship offline, each split
80/20: a gradient-boosted classifier (3-fold, out of fold) telling real training rows from synthetic rows, its
ROC AUC beside the same test of real training rows against the held-out real rows (the floor: what passing for
real looks like), with SDMetrics' quality and the DCR share (synthetic rows closer to a training row than to a
held-out one; its ideal beside it, 1 is copying) and the exact copies of training rows beside the share of
held-out real rows that equal a training row (on tables of few distinct values real rows repeat too). Side by side in one run, seeds
interleaved:

  autoregressive   the lab's column-autoregressive transformer (genesis_core/tabular/single_table/autoregressive.py)
  gaussian_copula  the lab's GaussianCopula (what `auto` chose on most of these tables before)
  sdv_gc           SDV's GaussianCopula used directly (its own metadata detection, defaults)
  sdv_tvae         SDV's TVAE used directly, --epochs epochs

    .venv/bin/python bench/tabular_detection.py [--tables penguins,fair,anes96,randhie,grunfeld] [--seeds 3]
        [--generators autoregressive,gaussian_copula,sdv_gc] [--epochs 300]

Prints a row per table, generator and seed, then the median and range over seeds; writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402
from bench.tabular_lab import load  # noqa: E402


def one(table: str, generator: str, seed: int, epochs: int) -> dict:
    import numpy as np

    from genesis_core.tabular.data import schema as sch
    from genesis_core.tabular.single_table.base import make_generator
    from genesis_core.tabular.single_table.sdv import sdv_used_directly
    from genesis_core.tabular.pipeline import schema_for, split_holdout
    from genesis_core.tabular.evaluation.privacy import dcr_share
    from genesis_core.tabular.evaluation.quality import column_kinds, detection_auc, fidelity

    raw = load(table)
    train, holdout = split_holdout(raw, 0.2, seed)
    schema = schema_for(train)
    t0 = time.perf_counter()
    if generator.startswith("sdv_"):
        synth = sdv_used_directly(train, {"sdv_gc": "gaussian_copula", "sdv_tvae": "tvae",
                                          "sdv_ctgan": "ctgan"}[generator], len(train), seed, epochs)
    else:
        synth = make_generator(generator, seed=seed, epochs=epochs).fit(train, schema).sample(len(train), seed=seed)
    seconds = time.perf_counter() - t0
    t_train, t_hold, t_synth = (sch.prepare(f, schema) for f in (train, holdout, synth))
    cols = [c for c in t_train.columns if c in t_synth.columns]
    kinds = column_kinds(schema, cols)
    auc = detection_auc(t_train[cols], t_synth[cols], kinds, seed)
    floor = detection_auc(t_train[cols], t_hold[cols], kinds, seed)
    quality = fidelity(t_train, t_synth, schema, seed)["quality_score"]
    dcr = dcr_share(t_train, t_hold, t_synth, schema)
    seen = set(map(tuple, t_train[cols].astype(str).to_numpy()))
    copies = float(np.mean([tuple(r) in seen for r in t_synth[cols].astype(str).to_numpy()]))
    natural = float(np.mean([tuple(r) in seen for r in t_hold[cols].astype(str).to_numpy()]))  # real rows repeat too
    return {"table": table, "rows": len(train), "columns": raw.shape[1], "generator": generator, "seed": seed,
            "detection_auc": round(auc, 3), "held_out_auc": round(floor, 3), "quality": round(quality, 3),
            "dcr_share": round(dcr["dcr_share_closer_to_train"], 3), "dcr_ideal": round(dcr["dcr_share_ideal"], 3),
            "exact_copies": round(copies, 4), "held_out_copies": round(natural, 4), "seconds": round(seconds, 1)}


def summary(rows: list[dict]) -> list[dict]:
    out = []
    for table in dict.fromkeys(r["table"] for r in rows):
        for gen in dict.fromkeys(r["generator"] for r in rows):
            mine = [r for r in rows if r["table"] == table and r["generator"] == gen]
            if not mine:
                continue

            def med(key):
                values = [r[key] for r in mine]
                return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"

            out.append({"table": table, "generator": gen, "seeds": len(mine), "detection_auc": med("detection_auc"),
                        "held_out_auc": med("held_out_auc"), "quality": med("quality"), "dcr_share": med("dcr_share"),
                        "exact_copies": med("exact_copies"), "held_out_copies": med("held_out_copies"),
                        "seconds": med("seconds")})
    return out


def main() -> None:
    warnings.filterwarnings("ignore")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", default="penguins,fair,anes96,randhie,grunfeld")
    p.add_argument("--generators", default="autoregressive,gaussian_copula,sdv_gc")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=300)
    args = p.parse_args()
    rows = []
    for table in args.tables.split(","):
        for seed in range(args.seeds):
            for gen in args.generators.split(","):  # interleaved: the machine's noise falls on every side
                rows.append(one(table, gen, seed, args.epochs))
                print(rows[-1], flush=True)
    report("tabular_detection", summary(rows), {"rows": rows})


if __name__ == "__main__":
    main()
