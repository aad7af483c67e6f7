"""The loss-dynamics figures: long runs are drawn from few points without losing a spike or a dip."""

import numpy as np
import pandas as pd

from genesis_core.lm.figures import downsample


def test_downsampling_a_million_steps_keeps_the_envelope():
    n = 1_000_000
    rng = np.random.default_rng(0)
    loss = 3 * np.exp(-np.arange(n) / 2e5) + rng.normal(0, 0.05, n)
    loss[123_457] = 9.0  # one spike
    loss[876_543] = -1.0  # one dip
    df = pd.DataFrame({"step": np.arange(1, n + 1), "loss": loss, "loss_ema": loss, "loss_min": np.nan,
                       "loss_max": np.nan})
    small = downsample(df, 2000)
    assert len(small) == 2000 and small["step"].is_monotonic_increasing and small["step"].iloc[-1] == n
    assert small["loss_max"].max() == 9.0 and small["loss_min"].min() == -1.0
    assert downsample(df.head(50), 2000) is not None and len(downsample(df.head(50), 2000)) == 50
