"""Comparing runs: overlaid curves on three x-axes, config differences, latest metrics; fast at 100 runs."""

import time

import numpy as np

from genesis_core.store.compare import config_table, curves, ema, metric_table
from genesis_core.store.metrics import MetricsWriter


def make_runs(workspace, n, steps=300):
    runs = []
    for i in range(n):
        run = workspace.create_run("image_autoencoder", {"task": "image_autoencoder", "trainer": {"lr": 0.001 * (i + 1),
                                                                                                 "steps": steps}})
        w = MetricsWriter(run.metrics_path)
        for step in range(1, steps + 1):
            w.log_scalars(step, {"loss": 1.0 / (step + i), "tokens": step * 64.0}, wall=1000.0 + step * 0.5)
        w.log_scalars(steps, {"eval/psnr_db": 10.0 + i})
        w.close()
        runs.append(run)
    return runs


def test_curves_configs_and_metrics_of_several_runs(workspace):
    runs = make_runs(workspace, 3)
    frame = curves(runs, "loss", "step", smoothing=0.0, max_points=50)
    assert frame["id"].nunique() == 3 and frame.groupby("id").size().max() <= 51
    assert frame.groupby("id")["x"].max().eq(300).all()  # the last step is always kept
    by_tokens = curves(runs, "loss", "tokens")
    assert by_tokens["x"].max() == 300 * 64
    by_time = curves(runs, "loss", "wall time (s)")
    assert by_time["x"].min() == 0 and by_time["x"].max() == 149.5
    table = config_table(runs)
    assert list(table.columns) == ["run", "id", "trainer.lr"]  # the only key that differs
    assert metric_table(runs)["eval/psnr_db"].tolist() == [10.0, 11.0, 12.0]
    smoothed = ema(np.array([0.0, 10.0, 10.0, 10.0]), 0.5)
    assert smoothed[0] == 0 and 9 < smoothed[-1] < 10  # debiased: no pull towards zero at the start


def test_a_hundred_runs_compare_in_seconds(workspace):
    runs = make_runs(workspace, 100, steps=200)
    t0 = time.perf_counter()
    frame = curves(runs, "loss", "step", smoothing=0.6)
    metric_table(runs)
    config_table(runs)
    assert frame["id"].nunique() == 100 and time.perf_counter() - t0 < 10
