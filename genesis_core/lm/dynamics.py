"""What the loss-dynamics page shows, read from the store: curves of one run on a chosen x-axis, its
events, bits per byte per language, and a table of the hyperparameters that differ between runs."""

from __future__ import annotations

import pandas as pd

from genesis_core.store.compare import config_table
from genesis_core.store.metrics import MetricsReader
from genesis_core.store.workspace import Run

CURVES = ("loss", "loss_ema", "loss_min", "loss_max", "loss_slope", "lr", "lr_multiplier", "stagnation",
          "mask_rate", "wwm_share", "tokens", "grad_norm")
X_AXES = {"step": "step", "tokens": "tokens", "wall time": "wall_s"}
EVENT_KINDS = ("stagnation", "stun", "spike", "resume", "cancelled", "early_stopped")


def run_curves(run: Run) -> pd.DataFrame:
    """Wide frame, one row per logged step: step, wall_s (seconds since the first log), tokens and CURVES."""
    long = MetricsReader(run.metrics_path).scalars(CURVES)
    if long.empty:
        return pd.DataFrame(columns=["step", "wall_s", *CURVES])
    wide = long.pivot_table(index="step", columns="key", values="value", aggfunc="last").reset_index()
    wall = long.groupby("step")["wall"].max().reset_index(drop=True)
    wide["wall_s"] = wall.values - float(long["wall"].min())
    for c in CURVES:
        if c not in wide:
            wide[c] = float("nan")
    return wide


def run_events(run: Run, curves: pd.DataFrame | None = None) -> pd.DataFrame:
    """Events worth drawing on the curves, with their x positions for every axis."""
    ev = MetricsReader(run.metrics_path).events()
    ev = ev[ev["kind"].isin(EVENT_KINDS)].copy() if not ev.empty else ev
    if ev.empty:
        return pd.DataFrame(columns=["step", "kind", "message", "tokens", "wall_s"])
    curves = run_curves(run) if curves is None else curves
    lookup = curves.set_index("step")[["tokens", "wall_s"]].sort_index()
    ev = ev.sort_values("step")
    pos = pd.merge_asof(ev[["step"]], lookup.reset_index(), on="step", direction="nearest")
    ev["tokens"], ev["wall_s"] = pos["tokens"].values, pos["wall_s"].values
    return ev[["step", "kind", "message", "tokens", "wall_s"]].reset_index(drop=True)


def language_bpb(run: Run) -> pd.DataFrame:
    """Latest bits per byte per language and the unigram baseline."""
    latest = MetricsReader(run.metrics_path).latest()
    rows = [{"language": k.split("/", 2)[2], "bpb": v, "unigram_bpb": latest.get(f"eval/unigram_bpb/{k.split('/', 2)[2]}")}
            for k, v in latest.items() if k.startswith("eval/bpb/")]
    return pd.DataFrame(rows, columns=["language", "bpb", "unigram_bpb"])


def hyperparameter_table(runs: list[Run], always: tuple[str, ...] = ("objective", "model.n_layer", "model.d_model",
                                                                     "model.context", "trainer.lr", "trainer.steps")
                         ) -> pd.DataFrame:
    """One row per run: the config keys that differ between the runs, plus a few always shown."""
    return config_table(runs, differences_only=True, always=always).drop(columns=["id"])
