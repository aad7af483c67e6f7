"""Long runs on the loss-dynamics page: a run logged at many steps is read as buckets aggregated in SQLite,
and the buckets keep what the full read shows: the last values and the min/max envelope, spikes included."""

import numpy as np

from genesis_core.lm import dynamics
from genesis_core.lm.figures import downsample
from genesis_core.store.metrics import MetricsWriter


def test_bucketed_curves_match_the_full_read_and_keep_spikes(workspace):
    run = workspace.create_run("language_model", {"task": "language_model"}, name="long")
    rng = np.random.default_rng(0)
    steps = 20_000
    loss = 3 * np.exp(-np.arange(steps) / 5000) + 1 + rng.normal(0, 0.05, steps)
    loss[12_345] = 9.0  # a spike inside one bucket
    w = MetricsWriter(run.metrics_path, flush_every=50_000)
    for s in range(steps):
        w.log_scalars(s, {"loss": loss[s], "loss_ema": loss[max(0, s - 50):s + 1].mean(), "lr": 1e-3,
                          "tokens": 512.0 * (s + 1)}, wall=1000.0 + s * 0.01)
    w.close()
    full = downsample(dynamics.run_curves(run).dropna(subset=["loss"]), 500)
    fast = dynamics.run_curves(run, 500)
    assert len(fast) <= 500 and fast["step"].is_monotonic_increasing and fast["step"].iloc[-1] == steps - 1
    assert fast["loss_max"].max() == 9.0 and fast["loss_min"].min() == full["loss_min"].min()
    assert abs(fast["wall_s"].iloc[-1] - (steps - 1) * 0.01) < 1e-6
    # each bucket's last row is the last logged row before the bucket's end
    at = dynamics.run_curves(run).set_index("step")
    np.testing.assert_allclose(fast["loss"], at.loc[fast["step"], "loss"].to_numpy())
    np.testing.assert_allclose(fast["tokens"], 512.0 * (fast["step"] + 1))
    assert dynamics.run_curves(run, 50_000).shape[0] == steps  # short runs are read whole
