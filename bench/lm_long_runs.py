"""The loss-dynamics page with long runs: 4 runs x 1,000,000 logged steps (loss, EMA, min/max, slope, LR, LR
multiplier, stagnation, tokens, grad norm: 10 values per step, written as the Trainer writes them, a spike and
a few events in each), then the page's script time under Streamlit's AppTest with all four selected, and
the time to read one run whole vs bucketed in SQLite.

    .venv/bin/python bench/lm_long_runs.py [--runs 4] [--steps 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.common import report  # noqa: E402

KEYS = ("loss", "loss_ema", "loss_min", "loss_max", "loss_slope", "lr", "lr_multiplier", "stagnation", "tokens",
        "grad_norm")


def write_run(ws, i: int, steps: int) -> object:
    from genesis_core.store.metrics import MetricsWriter

    run = ws.create_run("language_model", {"task": "language_model", "trainer": {"steps": steps}}, name=f"long {i}")
    w = MetricsWriter(run.metrics_path)  # creates the schema
    w.log_event(steps // 3, "stun", "LR stunned (bench)")
    w.log_event(steps // 2, "spike", "loss spike (bench)")
    w.close()
    rng = np.random.default_rng(i)
    conn = sqlite3.connect(run.metrics_path)
    conn.execute("PRAGMA synchronous=OFF")
    chunk = 100_000
    for start in range(0, steps, chunk):
        s = np.arange(start, min(steps, start + chunk))
        loss = 1.2 + 3 * np.exp(-s / (steps / 10)) + rng.normal(0, 0.05, len(s))
        loss[(s == steps // 2)] = 8.0
        cols = {"loss": loss, "loss_ema": loss - 0.01, "loss_min": loss - 0.05, "loss_max": loss + 0.05,
                "loss_slope": -np.exp(-s / (steps / 10)) * 1e-4, "lr": np.full(len(s), 1e-3),
                "lr_multiplier": np.ones(len(s)), "stagnation": np.zeros(len(s)), "tokens": (s + 1) * 2048.0,
                "grad_norm": np.abs(rng.normal(1, 0.1, len(s)))}
        wall = 1e9 + s * 0.05
        rows = [(int(st), float(wl), k, float(v)) for k in KEYS for st, wl, v in zip(s, wall, cols[k])]
        with conn:
            conn.executemany("INSERT INTO scalars VALUES (?, ?, ?, ?)", rows)
    conn.close()
    return run


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=4)
    p.add_argument("--steps", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["GENESIS_HOME"] = home
        from streamlit.testing.v1 import AppTest

        from genesis_core.lm import dynamics
        from genesis_core.store.workspace import Workspace

        ws = Workspace(home)
        t0 = time.perf_counter()
        runs = [write_run(ws, i, args.steps) for i in range(args.runs)]
        write_s = time.perf_counter() - t0
        print(f"wrote {args.runs} runs x {args.steps:,} steps in {write_s:.0f} s", flush=True)
        t0 = time.perf_counter()
        whole = dynamics.run_curves(runs[0])
        whole_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        fast = dynamics.run_curves(runs[0], 2000)
        fast_s = time.perf_counter() - t0
        page = Path(__file__).resolve().parents[1] / "app_pages" / "lm_dynamics.py"
        times = []
        for _ in range(args.repeats):
            at = AppTest.from_file(str(page), default_timeout=600)
            at.session_state["lm_runs"] = [r.id for r in runs]
            t0 = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t0)
            assert not at.exception, at.exception
        rows = [{"runs": args.runs, "steps_per_run": args.steps, "rows_per_run": args.steps * len(KEYS),
                 "page_script_s_median": round(statistics.median(times), 2), "page_runs": [round(t, 2) for t in times],
                 "read_one_run_whole_s": round(whole_s, 2), "read_one_run_bucketed_s": round(fast_s, 2),
                 "points_per_curve": len(fast), "whole_rows": len(whole)}]
    report("lm_long_runs", rows)


if __name__ == "__main__":
    main()
