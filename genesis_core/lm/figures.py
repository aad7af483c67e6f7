"""The loss-dynamics figures (plotly), built from what lm/dynamics.py reads out of the store; the page only
lays them out. Long runs are drawn from at most `max_points` points per curve, each standing for a bucket
of consecutive steps and keeping that bucket's lowest and highest loss in the min/max envelope."""

from __future__ import annotations

import numpy as np
import pandas as pd

from genesis_core.lm import dynamics
from genesis_core.store.workspace import Run

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
EVENT_STYLE = {"stagnation": ("circle-open", "#bcbd22"), "stun": ("triangle-down", "#e377c2"),
               "spike": ("x", "#d62728"), "resume": ("diamond", "#7f7f7f"), "cancelled": ("square", "#7f7f7f"),
               "early_stopped": ("square", "#7f7f7f")}
MAX_POINTS = 2000


def downsample(df: pd.DataFrame, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """At most `max_points` rows: buckets of consecutive rows, each the bucket's last row, with loss_min and
    loss_max the bucket's extremes (of loss_min / loss_max, or of the raw loss when those are missing)."""
    if len(df) <= max_points:
        return df
    bucket = np.arange(len(df)) * max_points // len(df)
    grouped = df.groupby(bucket)
    out = grouped.last()
    low = df["loss_min"].fillna(df["loss"]) if "loss_min" in df else df["loss"]
    high = df["loss_max"].fillna(df["loss"]) if "loss_max" in df else df["loss"]
    out["loss_min"] = low.groupby(bucket).min().values
    out["loss_max"] = high.groupby(bucket).max().values
    return out.reset_index(drop=True)


def curves_figure(runs: list[Run], axis: str, max_points: int = MAX_POINTS):
    """(loss and slope figure, LR and mask-rate figure) of the runs, events drawn as markers."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    x = dynamics.X_AXES[axis]
    masked = any(r.config().get("objective") == "masked" for r in runs)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.08,
                        subplot_titles=("Loss (nats per byte): raw, EMA, min/max envelope; events as markers",
                                        "Slope of the loss (per step, over the slope window)"))
    side = make_subplots(rows=1, cols=2 if masked else 1,
                         subplot_titles=("Learning rate", "Mask rate and whole-word share") if masked
                         else ("Learning rate",))
    for i, run in enumerate(runs):
        color, label = COLORS[i % len(COLORS)], run.name or run.id
        full = dynamics.run_curves(run, max_points).dropna(subset=["loss"])  # bucketed in SQLite when long
        if full.empty:
            continue
        df = downsample(full, max_points)
        fig.add_trace(go.Scatter(x=df[x], y=df["loss_max"], line={"width": 0}, showlegend=False, hoverinfo="skip",
                                 legendgroup=label), 1, 1)
        fig.add_trace(go.Scatter(x=df[x], y=df["loss_min"], line={"width": 0}, fill="tonexty",
                                 fillcolor="rgba(128,128,128,0.2)", name=f"{label} min/max", legendgroup=label,
                                 showlegend=False), 1, 1)
        fig.add_trace(go.Scatter(x=df[x], y=df["loss"], name=f"{label} raw", line={"color": color, "width": 1},
                                 opacity=0.45, legendgroup=label), 1, 1)
        fig.add_trace(go.Scatter(x=df[x], y=df["loss_ema"], name=f"{label} EMA", line={"color": color, "width": 2.5},
                                 legendgroup=label), 1, 1)
        fig.add_trace(go.Scatter(x=df[x], y=df["loss_slope"], name=f"{label} slope", line={"color": color},
                                 showlegend=False, legendgroup=label), 2, 1)
        ev = dynamics.run_events(run, full)
        for kind, group in ev.groupby("kind"):
            symbol, ecolor = EVENT_STYLE.get(kind, ("circle", "#000"))
            y = full.set_index("step")["loss_ema"].reindex(group["step"], method="nearest")
            fig.add_trace(go.Scatter(x=group[x], y=y.values, mode="markers", name=f"{label} {kind}",
                                     marker={"symbol": symbol, "size": 12, "color": ecolor},
                                     text=group["message"], hovertemplate="%{text}<extra>" + kind + "</extra>",
                                     legendgroup=label), 1, 1)
        side.add_trace(go.Scatter(x=df[x], y=df["lr"], name=f"{label} learning rate", line={"color": color}), 1, 1)
        if masked and df["mask_rate"].notna().any():
            side.add_trace(go.Scatter(x=df[x], y=df["mask_rate"], name=f"{label} mask rate", line={"color": color}), 1, 2)
            side.add_trace(go.Scatter(x=df[x], y=df["wwm_share"], name=f"{label} whole-word share",
                                      line={"color": color, "dash": "dot"}), 1, 2)
    fig.add_hline(y=0, line={"color": "grey", "width": 1}, row=2, col=1)
    fig.update_xaxes(title_text=axis, row=2, col=1)
    fig.update_yaxes(title_text="nats per byte", row=1, col=1)
    fig.update_layout(height=600, margin={"l": 10, "r": 10, "t": 50, "b": 10}, legend={"orientation": "h", "y": -0.15})
    side.update_xaxes(title_text=axis)
    side.update_layout(height=280, margin={"l": 10, "r": 10, "t": 50, "b": 10}, showlegend=False)
    return fig, side


def bpb_figure(runs: list[Run]):
    """Bits per byte per language on held-out text for each run, beside the unigram baseline (None before the
    first evaluation)."""
    import plotly.graph_objects as go

    bar = go.Figure()
    first = None
    for i, run in enumerate(runs):
        table = dynamics.language_bpb(run)
        if table.empty:
            continue
        first = table if first is None else first
        bar.add_trace(go.Bar(x=table["language"], y=table["bpb"], name=run.name or run.id,
                             marker_color=COLORS[i % len(COLORS)]))
    if first is None:
        return None
    bar.add_trace(go.Scatter(x=first["language"], y=first["unigram_bpb"], mode="markers", name="unigram baseline",
                             marker={"symbol": "line-ew-open", "size": 28, "color": "black"}))
    bar.update_layout(title="Bits per byte on held-out text (lower is better)", yaxis_title="bits per byte",
                      height=340, margin={"l": 10, "r": 10, "t": 50, "b": 10}, barmode="group")
    return bar


def morpheme_figure(summary: pd.DataFrame):
    """Per language: how many bits more the model expects a real suffix than a control string on novel
    pseudo-words, beside the byte-trigram baseline's gain (higher is better; 0 is no preference)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Bar(x=summary["language"], y=summary["gain_bits"], name="model", marker_color=COLORS[0]))
    fig.add_trace(go.Bar(x=summary["language"], y=summary["trigram_gain_bits"], name="byte trigram (baseline)",
                         marker_color="#aaaaaa"))
    fig.add_hline(y=0, line={"color": "grey", "width": 1})
    fig.update_layout(title="Suffix gain on novel stem + suffix pseudo-words (bits; higher: the suffix is expected)",
                      yaxis_title="control bits − suffix bits", barmode="group", height=320,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig
