"""Comparing runs (up to a hundred at once): one metric's curves overlaid on a shared x (step, wall time or
tokens), smoothed and drawn from at most a few hundred points each; the config keys that differ; the
latest metrics side by side, ready for CSV."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from genesis_core.store.metrics import MetricsReader
from genesis_core.store.workspace import Run

MAX_RUNS = 100
X_AXES = ("step", "wall time (s)", "tokens")


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config as dotted keys (lists written as text)."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = ", ".join(map(str, v)) if isinstance(v, list) else v
    return out


def config_table(runs: list[Run], differences_only: bool = True, always: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per run: its config keys (only those that differ between the runs, plus `always`)."""
    flat = [flatten(r.config()) for r in runs]
    keys = sorted({k for f in flat for k in f} - {"name"})
    if differences_only:
        differing = [k for k in keys if len({str(f.get(k)) for f in flat}) > 1]
        keys = list(dict.fromkeys([*[k for k in always if k in keys], *differing]))
    return pd.DataFrame([{"run": r.name or r.id, "id": r.id, **{k: f.get(k) for k in keys}} for r, f in zip(runs, flat)])


def metric_table(runs: list[Run], prefix: str = "") -> pd.DataFrame:
    """One row per run: the latest value of every metric (those starting with `prefix`)."""
    rows = []
    for r in runs:
        latest = MetricsReader(r.metrics_path).latest()
        rows.append({"run": r.name or r.id, "id": r.id, "task": r.task,
                     **{k: v for k, v in sorted(latest.items()) if k.startswith(prefix)}})
    return pd.DataFrame(rows)


def common_keys(runs: list[Run]) -> list[str]:
    """Metric keys logged by at least one of the runs, the most shared first."""
    counts: dict[str, int] = {}
    for r in runs:
        for k in MetricsReader(r.metrics_path).keys():
            counts[k] = counts.get(k, 0) + 1
    return sorted(counts, key=lambda k: (-counts[k], k))


def ema(values: np.ndarray, smoothing: float) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard's smoothing); 0 leaves the values as they are."""
    if smoothing <= 0 or len(values) == 0:
        return values
    out, last, weight = np.empty(len(values)), 0.0, 0.0
    for i, v in enumerate(values):
        last = smoothing * last + (1 - smoothing) * v
        weight = smoothing * weight + (1 - smoothing)
        out[i] = last / weight
    return out


def curves(runs: list[Run], key: str, x: str = "step", smoothing: float = 0.0, max_points: int = 500) -> pd.DataFrame:
    """Long frame (run, id, x, value): `key` of each run on the chosen x, smoothed, at most `max_points` rows
    per run (even steps through the run, the last one kept)."""
    if x not in X_AXES:
        raise ValueError(f"x must be one of {', '.join(X_AXES)}")
    parts = []
    for r in runs[:MAX_RUNS]:
        reader = MetricsReader(r.metrics_path)
        s = reader.series(key)
        if s.empty:
            continue
        s = s.assign(value=ema(s["value"].to_numpy(dtype=float), smoothing))
        if x == "wall time (s)":
            s["x"] = s["wall"] - float(s["wall"].min())
        elif x == "tokens":
            tokens = reader.series("tokens").set_index("step")["value"]
            s["x"] = s["step"].map(tokens)
            s = s.dropna(subset=["x"])
        else:
            s["x"] = s["step"]
        if len(s) > max_points:
            idx = np.unique(np.r_[np.linspace(0, len(s) - 1, max_points).astype(int), len(s) - 1])
            s = s.iloc[idx]
        parts.append(pd.DataFrame({"run": r.name or r.id, "id": r.id, "x": s["x"].to_numpy(),
                                   "value": s["value"].to_numpy()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["run", "id", "x", "value"])


def curves_figure(frame: pd.DataFrame, key: str, x: str, log_y: bool = False):
    import plotly.graph_objects as go

    fig = go.Figure()
    for (name, run_id), part in frame.groupby(["run", "id"], sort=False):
        fig.add_trace(go.Scattergl(x=part["x"], y=part["value"], mode="lines+markers" if len(part) <= 30 else "lines",
                                   name=f"{name} · {run_id[-4:]}"))  # markers: a curve of one point shows
    fig.update_layout(title=f"{key} of {frame['id'].nunique()} runs", xaxis_title=x, yaxis_title=key,
                      yaxis_type="log" if log_y else "linear", height=460, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    if log_y:
        from genesis_core.formatting import log_ticks

        fig.update_yaxes(**log_ticks(frame["value"]))
    return fig
