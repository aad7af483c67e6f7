"""Comparing 100 runs of 10,000 logged points each (issue 37): how long each view of the comparison takes to build,
server side, in the functions the Runs page and `genesis runs compare` call, and the whole Runs page under
Streamlit's AppTest with all 100 selected (the script's run; not a browser's paint).

The runs: 5 latent sizes x 2 learning rates x 10 seeds, each logging `loss` at 10,000 steps and `eval/psnr_db` at
50, written through the run store's own MetricsWriter.

    .venv/bin/python bench/runs_compare.py [--runs 100] [--points 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.common import report  # noqa: E402


def make_runs(ws, n: int, points: int) -> list:
    from genesis_core.store.metrics import MetricsWriter

    runs, rng = [], np.random.default_rng(0)
    for i in range(n):
        width, lr, seed = (4, 8, 16, 32, 64)[i % 5], (1e-3, 3e-3)[(i // 5) % 2], i // 10
        run = ws.create_run("image_autoencoder", {"task": "image_autoencoder", "model": {"latent_dim": width},
                                                  "trainer": {"lr": lr, "seed": seed, "best_metric": "eval/psnr_db"}})
        w = MetricsWriter(run.metrics_path)
        steps = np.arange(1, points + 1)
        loss = 1.0 / np.sqrt(steps) * (1 + 8 / width) + rng.normal(0, 0.01, points)
        for s, v in zip(steps, loss):
            w.log_scalars(int(s), {"loss": float(v)}, wall=1000.0 + s * 0.05)
        for k, s in enumerate(np.linspace(points / 50, points, 50).astype(int)):
            w.log_scalars(int(s), {"eval/psnr_db": 10 + np.log2(width) + k / 10 + seed / 20})
        w.close()
        runs.append(run)
    return runs


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--points", type=int, default=10_000)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="genesis-bench-compare-")
    os.environ["GENESIS_HOME"] = home
    from genesis_core.store.compare import (curves, final_table, group_curves, group_of, panels_figure,
                                            parallel_figure)
    from genesis_core.store.run_query import filter_runs
    from genesis_core.store.workspace import Workspace

    ws = Workspace(home)
    runs, write_s = timed(lambda: make_runs(ws, args.runs, args.points))
    rows = []
    frame, s = timed(lambda: curves(runs, "loss", "step", 0.6))
    rows.append({"view": "curves of one metric (smoothed, raw kept)", "seconds": s, "points drawn": len(frame)})
    grouped, s = timed(lambda: group_curves(frame, group_of(runs, "model.latent_dim")))
    rows.append({"view": "grouping by model.latent_dim (mean, band)", "seconds": s, "points drawn": len(grouped)})
    _, s = timed(lambda: panels_figure(runs, ["eval/psnr_db", "loss"], "step", 0.6))
    rows.append({"view": "two panels, every run", "seconds": s, "points drawn": None})
    _, s = timed(lambda: panels_figure(runs, ["eval/psnr_db", "loss"], "step", 0.6, by="model.latent_dim"))
    rows.append({"view": "two panels, grouped", "seconds": s, "points drawn": None})
    finals, s = timed(lambda: final_table(runs))
    rows.append({"view": "final table (config + final metrics)", "seconds": s, "points drawn": len(finals)})
    _, s = timed(lambda: parallel_figure(finals, ["model.latent_dim", "trainer.lr", "trainer.seed", "eval/psnr_db"],
                                         "eval/psnr_db"))
    rows.append({"view": "parallel coordinates", "seconds": s, "points drawn": len(finals)})
    chosen, s = timed(lambda: filter_runs(runs, "eval/psnr_db > 15 and model.latent_dim <= 16"))
    rows.append({"view": "query (2 clauses)", "seconds": s, "points drawn": len(chosen)})

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=600)
    at.switch_page("app_pages/runs.py")
    at.session_state["runs_table"] = {"selection": {"rows": list(range(len(runs))), "columns": []}}
    _, s = timed(at.run)
    rows.append({"view": "Runs page script, 100 selected (AppTest)", "seconds": s, "points drawn": None})
    _, s = timed(lambda: at.selectbox(key="cmp_by").set_value("model.latent_dim").run())
    rows.append({"view": "Runs page script, a change of grouping", "seconds": s, "points drawn": None})
    assert not at.exception, at.exception
    report("runs_compare", rows, {"runs": args.runs, "points_per_run": args.points, "write_s": write_s})


if __name__ == "__main__":
    main()
