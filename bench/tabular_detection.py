"""Do synthetic rows pass for real? The classifier two-sample test on real tables that ship offline, each split
80/20: a gradient-boosted classifier (5-fold, out of fold) telling real training rows from synthetic rows, its
ROC AUC beside the same test of real training rows against the held-out real rows (the floor: what passing for
real looks like), with SDMetrics' quality and the DCR share (synthetic rows closer to a training row than to a
held-out one; its ideal beside it, 1 is copying) and the exact copies of training rows beside the share of
held-out real rows that equal a training row (on tables of few distinct values real rows repeat too). Side by side
in one run, seeds interleaved:

  autoregressive   the lab's column-autoregressive transformer (genesis_core/tabular/single_table/autoregressive.py)
  gaussian_copula  the lab's GaussianCopula (what `auto` chose on most of these tables before)
  sdv_gc           SDV's GaussianCopula used directly (its own metadata detection, defaults)
  sdv_ctgan        SDV's CTGAN used directly, epochs sized to the time budget (see below)
  sdv_tvae         SDV's TVAE used directly, epochs sized to the time budget
  mostlyai         MOSTLY AI's open engine (TabularARGN, its defaults) in a process of its own, with the bench-only
                   packages of bench/anchor-requirements.txt (bench/mostlyai_anchor.py)
  auto             the lab's `auto` (its default candidates and budget): which one it picks, and how its rows score

The same wall time for every trained side: with `--budget S` every trained side gets S seconds (the
autoregressive model as its time limit, keeping its best weights so far); without it, the budget of a table and
seed is what the autoregressive model took there (it runs first). MOSTLY AI's engine gets the budget as its training-time
limit (its analysis, encoding and sampling come on top, and are counted in its seconds). SDV's CTGAN and TVAE
take epochs, not a time: each is fit for 2 and for 6 epochs first (the difference is the pace of an epoch, the
rest its fixed costs), and then for as many epochs as the budget holds at that pace (at least 2, at most
--epochs); the probe fits are not counted. GaussianCopulas take what they take.

    .venv/bin/python bench/tabular_detection.py [--tables penguins,anes96,fair,randhie,default] [--seeds 3]
        [--generators autoregressive,gaussian_copula,sdv_gc,sdv_ctgan,sdv_tvae,mostlyai] [--epochs 300]
        [--budget 60]
    .venv/bin/python bench/tabular_detection.py --tables default --seeds 1 --generators auto   # auto's choice

Prints a row per table, generator and seed, then the median and range over seeds; writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402
from bench.tabular_lab import load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ANCHOR = ROOT / ".bench-anchor"
SDV_NAMES = {"sdv_gc": "gaussian_copula", "sdv_tvae": "tvae", "sdv_ctgan": "ctgan"}


def mostlyai(train, rows: int, seed: int, budget_s: float):
    import pandas as pd

    if not (ANCHOR / "mostlyai" / "engine").is_dir():
        raise SystemExit("the mostlyai side needs the bench-only anchor: .venv/bin/python -m pip install --target "
                         ".bench-anchor --no-deps -r bench/anchor-requirements.txt")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "train.csv"), Path(tmp, "synth.csv")
        train.to_csv(src, index=False)
        env = {**os.environ, "PYTHONPATH": str(ANCHOR)}
        cmd = [sys.executable, str(ROOT / "bench" / "mostlyai_anchor.py"), str(src), str(out), "--rows", str(rows),
               "--minutes", f"{budget_s / 60:.4f}", "--seed", str(seed)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=budget_s * 4 + 600)
        if done.returncode:
            raise RuntimeError(f"mostlyai-engine failed: {done.stderr.strip().splitlines()[-1:]}")
        return pd.read_csv(out)


def fit_sample(generator: str, train, schema, seed: int, budget_s: float, epochs: int, fixed: bool = False):
    """One side's rows and what it was given: (frame, seconds, epochs (or auto's choice) or None)."""
    from genesis_core.tabular.single_table.base import make_generator
    from genesis_core.tabular.single_table.sdv import sdv_used_directly

    given = None
    if generator in ("sdv_ctgan", "sdv_tvae"):
        took = []
        for probe in (2, 6):  # the difference is the pace of 4 epochs, without the fixed costs
            t0 = time.perf_counter()
            sdv_used_directly(train, SDV_NAMES[generator], 10, seed, probe)
            took.append(time.perf_counter() - t0)
        per_epoch = max((took[1] - took[0]) / 4, 1e-3)
        given = int(min(epochs, max(2, (budget_s - took[0] + 2 * per_epoch) / per_epoch)))
    t0 = time.perf_counter()
    if generator == "mostlyai":
        synth = mostlyai(train, len(train), seed, budget_s)
    elif generator.startswith("sdv_"):
        synth = sdv_used_directly(train, SDV_NAMES[generator], len(train), seed, given or epochs)
    elif generator == "auto":  # the SDK, as a user calls it; the bench scores, so the pipeline's report is off
        from genesis_core.tabular import SyntheticGenerator

        fitted = SyntheticGenerator(method="auto", seed=seed, options={"report": False}).fit(train)
        synth = fitted.generate(len(train), seed=seed)
        meta = fitted.quality_report()["meta"]
        board = meta["leaderboard"]
        given = (f"{meta['generator']} ({sum(r.get('score') is not None for r in board)}/{len(board)} scored: "
                 + ", ".join(f"{r['generator']} " + (f"{r['score']:.3f}" if r.get("score") is not None else r["status"])
                             + (f" {r['epochs']} epochs" if r.get("epochs") else "") for r in board) + ")")
    else:
        limit = {"time_limit_s": budget_s} if generator == "autoregressive" and fixed else {}
        synth = make_generator(generator, seed=seed, epochs=epochs, **limit).fit(train, schema).sample(len(train),
                                                                                                      seed=seed)
    return synth, time.perf_counter() - t0, given


def score(table: str, raw, train, holdout, schema, synth, seed: int) -> dict:
    import numpy as np

    from genesis_core.tabular.data import schema as sch
    from genesis_core.tabular.evaluation.privacy import dcr_share
    from genesis_core.tabular.evaluation.quality import column_kinds, detection_auc, fidelity

    t_train, t_hold, t_synth = (sch.prepare(f, schema) for f in (train, holdout, synth))
    cols = [c for c in t_train.columns if c in t_synth.columns]
    kinds = column_kinds(schema, cols)
    auc = detection_auc(t_train[cols], t_synth[cols], kinds, seed, folds=5)
    floor = detection_auc(t_train[cols], t_hold[cols], kinds, seed, folds=5)
    quality = fidelity(t_train, t_synth, schema, seed)["quality_score"]
    dcr = dcr_share(t_train, t_hold, t_synth, schema)
    seen = set(map(tuple, t_train[cols].astype(str).to_numpy()))
    copies = float(np.mean([tuple(r) in seen for r in t_synth[cols].astype(str).to_numpy()]))
    natural = float(np.mean([tuple(r) in seen for r in t_hold[cols].astype(str).to_numpy()]))  # real rows repeat too
    return {"table": table, "rows": len(train), "columns": raw.shape[1], "seed": seed,
            "detection_auc": round(auc, 3), "held_out_auc": round(floor, 3), "quality": round(quality, 3),
            "dcr_share": round(dcr["dcr_share_closer_to_train"], 3), "dcr_ideal": round(dcr["dcr_share_ideal"], 3),
            "exact_copies": round(copies, 4), "held_out_copies": round(natural, 4)}


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
    p.add_argument("--tables", default="penguins,anes96,fair,randhie,default")
    p.add_argument("--generators", default="autoregressive,gaussian_copula,sdv_gc,sdv_ctgan,sdv_tvae,mostlyai")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=300, help="most epochs a neural side gets")
    p.add_argument("--budget", type=float, default=0.0,
                   help="seconds for every trained side (0: what the autoregressive model took on that table and seed)")
    args = p.parse_args()
    from genesis_core.tabular.pipeline import schema_for, split_holdout

    generators = args.generators.split(",")
    if "autoregressive" in generators:  # first: its time is the others' budget
        generators = ["autoregressive"] + [g for g in generators if g != "autoregressive"]
    elif not args.budget and {"sdv_ctgan", "sdv_tvae", "mostlyai"} & set(generators):
        p.error("the budgeted sides need the autoregressive side's time, or --budget SECONDS")
    rows = []
    for table in args.tables.split(","):
        raw = load(table)
        for seed in range(args.seeds):
            train, holdout = split_holdout(raw, 0.2, seed)
            schema = schema_for(train)
            budget = args.budget
            for gen in generators:  # interleaved: the machine's noise falls on every side
                synth, seconds, given = fit_sample(gen, train, schema, seed, budget or 60.0, args.epochs,
                                                   fixed=bool(args.budget))
                if gen == "autoregressive" and not args.budget:
                    budget = seconds
                row = score(table, raw, train, holdout, schema, synth, seed)
                rows.append({**row, "generator": gen, "seconds": round(seconds, 1), "epochs": given,
                             "budget_s": round(budget, 1)})
                print(rows[-1], flush=True)
    report("tabular_detection", summary(rows), {"rows": rows})


if __name__ == "__main__":
    main()
