"""Comparing runs (up to a hundred at once), as W&B's and Aim's run explorers do: curves of several metrics on a
shared x (step, wall time, tokens, relative time) with the raw series faint under the smoothed one; runs grouped
by a config key into a mean with a min-max band; final metrics against hyperparameters (parallel coordinates, a
scatter); a query over config values and final metrics; the config keys that differ; tables ready for CSV.
Figure builders live here, beside the run store; the Runs page and `genesis runs compare` lay them out."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

import numpy as np
import pandas as pd

from genesis_core.store.metrics import MetricsReader
from genesis_core.store.workspace import Run

MAX_RUNS = 100
X_AXES = ("step", "wall time (s)", "tokens", "relative time (%)")
MIN_SMOOTHED_POINTS = 50  # a shorter series (an evaluation every few hundred steps) is drawn unsmoothed
LEGEND_RUNS = 20  # more runs than this: no legend (a hovered line names its run)
POINTS_PER_PANEL = 20_000  # points of all runs together that one panel draws (see points_per_run)


T = TypeVar("T")
READERS = 4  # SQLite reads release the GIL: a hundred runs' files are read four at a time


def per_run(fn: Callable[[Run], T], runs: list[Run]) -> list[T]:
    """`fn` of each run, in the runs' order, read by READERS threads."""
    if len(runs) < 4:
        return [fn(r) for r in runs]
    with ThreadPoolExecutor(READERS) as pool:
        return list(pool.map(fn, runs))


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
    latest = per_run(lambda r: MetricsReader(r.metrics_path).latest(), runs)
    return pd.DataFrame([{"run": r.name or r.id, "id": r.id, "task": r.task,
                          **{k: v for k, v in sorted(values.items()) if k.startswith(prefix)}}
                         for r, values in zip(runs, latest)])


def common_keys(runs: list[Run]) -> list[str]:
    """Metric keys logged by at least one of the runs, the most shared first."""
    counts: dict[str, int] = {}
    for keys in per_run(lambda r: MetricsReader(r.metrics_path).keys(), runs):
        for k in keys:
            counts[k] = counts.get(k, 0) + 1
    return sorted(counts, key=lambda k: (-counts[k], k))


def ema(values: np.ndarray, smoothing: float) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard's smoothing); 0 leaves the values as they are. One linear
    filter for the running sum and one for its weight, so 10,000 points cost no Python loop."""
    if smoothing <= 0 or len(values) == 0:
        return values
    from scipy.signal import lfilter

    values = np.asarray(values, dtype=float)
    last = lfilter([1 - smoothing], [1, -smoothing], values)
    weight = 1 - smoothing ** np.arange(1, len(values) + 1)
    return last / weight


def _long_series(reader: MetricsReader, key: str, smoothing: float, max_points: int) -> pd.DataFrame | None:
    """A series longer than `max_points`, read as `max_points` buckets aggregated in SQLite (never every row):
    `raw` is each bucket's last logged value (the run's last value is the last bucket's, so the figure's last
    point is still the last logged one), `value` the EMA of the bucket means with the smoothing of as many steps as
    a bucket holds (smoothing ** rows per bucket), as W&B smooths what it sampled. None when the series is short
    enough to read whole."""
    lo, hi, n = reader.step_range(key)
    if n <= max_points:
        return None
    b = reader.bucket_means(key, max_points, lo, hi)
    raw = b["value"].to_numpy(dtype=float)
    per_bucket = n / max(len(b), 1)
    value = ema(b["mean"].to_numpy(dtype=float), smoothing ** per_bucket) if smoothing else raw
    return pd.DataFrame({"step": b["step"], "wall": b["wall"], "value": value, "raw": raw})


def points_per_run(runs: int) -> int:
    """How many points of each run a panel draws: 500 up to 40 runs, then POINTS_PER_PANEL shared (200 at 100
    runs), never under 100: what a screen's width can show, and what a browser paints within a second or two."""
    return max(100, min(500, POINTS_PER_PANEL // max(runs, 1)))


def curves(runs: list[Run], key: str, x: str = "step", smoothing: float = 0.0,
           max_points: int | None = None) -> pd.DataFrame:
    """Long frame (run, id, x, value, raw): `key` of each run on the chosen x, `value` smoothed (a series of fewer
    than MIN_SMOOTHED_POINTS is left raw), at most `max_points` rows per run (default `points_per_run`; a longer
    series is bucketed inside SQLite: `_long_series`)."""
    if x not in X_AXES:
        raise ValueError(f"x must be one of {', '.join(X_AXES)}")
    max_points = max_points or points_per_run(min(len(runs), MAX_RUNS))
    parts = [p for p in per_run(lambda r: _run_curve(r, key, x, smoothing, max_points), runs[:MAX_RUNS])
             if p is not None]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["run", "id", "x", "value", "raw"])


def _run_curve(r: Run, key: str, x: str, smoothing: float, max_points: int) -> pd.DataFrame | None:
    """One run's rows of `curves`; None when it never logged `key`."""
    reader = MetricsReader(r.metrics_path)
    s = _long_series(reader, key, smoothing, max_points)
    if s is None:
        s = reader.series(key)
        if s.empty:
            return None
        raw = s["value"].to_numpy(dtype=float)
        s = s.assign(raw=raw, value=ema(raw, smoothing) if len(raw) >= MIN_SMOOTHED_POINTS else raw)
    if x == "wall time (s)":
        s["x"] = s["wall"] - float(s["wall"].min())
    elif x == "relative time (%)":
        span = float(s["wall"].max() - s["wall"].min()) or 1.0
        s["x"] = (s["wall"] - float(s["wall"].min())) / span * 100
    elif x == "tokens":
        tokens = reader.series("tokens").set_index("step")["value"]
        s["x"] = s["step"].map(tokens)
        s = s.dropna(subset=["x"])
    else:
        s["x"] = s["step"]
    if len(s) > max_points:
        idx = np.unique(np.r_[np.linspace(0, len(s) - 1, max_points).astype(int), len(s) - 1])
        s = s.iloc[idx]
    return pd.DataFrame({"run": r.name or r.id, "id": r.id, "x": s["x"].to_numpy(),
                         "value": s["value"].to_numpy(), "raw": s["raw"].to_numpy()})


def without(runs: list[Run], key: str) -> list[Run]:
    """The runs that never logged `key` (what a figure of "2 of 3 runs" leaves out, by name): an index seek per run,
    not a read of its series."""
    return [r for r in runs if key not in MetricsReader(r.metrics_path).keys()]


def title_of(key: str, runs: list[Run], frame: pd.DataFrame) -> str:
    """"KEY of N runs", saying which runs are missing and why."""
    shown = frame["id"].nunique() if len(frame) else 0
    if shown == len(runs):
        return f"{key} of {shown} runs"
    missing = [r.name or r.id for r in without(runs, key)]
    why = f"{', '.join(missing[:3])}{' …' if len(missing) > 3 else ''} logged no {key}" if missing else \
        "the others have no value on this x-axis"
    return f"{key} of {shown} of {len(runs)} runs ({why})"


def headline_metric(runs: list[Run], keys: list[str]) -> str:
    """The metric a comparison opens on: the runs' own headline (trainer.best_metric) where they log it, else the
    most shared evaluation figure, else the most shared key."""
    for r in runs:
        best = (r.config().get("trainer") or {}).get("best_metric")
        if best and best in keys:
            return best
    evals = [k for k in keys if k.startswith("eval/")]
    return (evals or keys)[0]


def _curve_traces(part: pd.DataFrame, name: str, color: str, legend: bool = True) -> list:
    """A run's traces: its raw series faint (when smoothing changed it) and the smoothed one (the last logged values
    of all runs are one trace: `_last_values`). SVG lines, not WebGL: a browser without a GPU (a headless Chromium,
    a remote desktop) paints a hundred WebGL traces several times slower (bench/runs_browser.py). Plain trace dicts,
    for a figure built without Plotly's per-property validation (`_figure`): the browser tests check what they draw."""
    x, raw, value = part["x"].to_numpy(), part["raw"].to_numpy(), part["value"].to_numpy()
    traces = []
    if not np.allclose(raw, value, equal_nan=True):
        traces.append({"type": "scatter", "x": x, "y": raw, "mode": "lines", "line": {"color": color, "width": 1},
                       "opacity": 0.25, "name": f"{name} (raw)", "legendgroup": name, "showlegend": False,
                       "hoverinfo": "skip"})
    traces.append({"type": "scatter", "x": x, "y": value, "mode": "lines+markers" if len(part) <= 30 else "lines",
                   "line": {"color": color}, "name": name, "legendgroup": name, "showlegend": legend})
    return traces


def _joined(parts: list[np.ndarray], gap: Any = np.nan) -> np.ndarray:
    """Series laid end to end with `gap` between them (a Plotly line breaks at NaN; None for text)."""
    between = np.array([gap], dtype=float if isinstance(gap, float) else object)
    return np.concatenate([v for p in parts for v in (p, between)][:-1])


def _run_traces(groups: list, colors: dict[str, str], legend: bool = True) -> list:
    """The runs' traces: a run's own (`_curve_traces`) up to LEGEND_RUNS runs; above, one raw and one smoothed trace
    per colour, the runs of that colour laid end to end with gaps (a hovered point still names its run). Each trace
    costs the browser more than its points do: 100 runs drew 200 SVG traces, 56 now."""
    if len(groups) <= LEGEND_RUNS:
        return [t for (name, run_id), part in groups
                for t in _curve_traces(part, f"{name} · {run_id[-4:]}", colors[run_id], legend)]
    by_color: dict[str, list] = {}
    for (name, run_id), part in groups:
        by_color.setdefault(colors[run_id], []).append((f"{name} · {run_id[-4:]}", part))
    traces = []
    for color, members in by_color.items():
        xs, raw, value = (_joined([part[c].to_numpy(dtype=float) for _, part in members]) for c in ("x", "raw", "value"))
        names = _joined([np.full(len(part), label, dtype=object) for label, part in members], None)
        short = max(len(part) for _, part in members) <= 30  # markers, as on a run's own trace
        if not np.allclose(raw, value, equal_nan=True):
            traces.append({"type": "scatter", "x": xs, "y": raw, "mode": "lines", "line": {"color": color, "width": 1},
                           "opacity": 0.25, "name": "raw", "showlegend": False, "hoverinfo": "skip"})
        traces.append({"type": "scatter", "x": xs, "y": value, "mode": "lines+markers" if short else "lines",
                       "line": {"color": color}, "name": f"{len(members)} runs", "showlegend": False, "text": names,
                       "hovertemplate": "%{text}<br>%{y:.4g}<extra></extra>"})
    return traces


def _last_values(frame: pd.DataFrame, colors: dict[str, str]):
    """Each run's last logged value, drawn raw (smoothing never hides where a run ended), in its colour: one trace
    for every run, since each trace costs the browser more than its points do."""
    ends = frame.groupby("id", sort=False).tail(1)
    names = [f"{name} · {run_id[-4:]}" for name, run_id in zip(ends["run"], ends["id"])]
    return {"type": "scatter", "x": ends["x"].to_numpy(), "y": ends["raw"].to_numpy(), "mode": "markers",
            "name": "last logged value", "showlegend": False, "text": names,
            "marker": {"color": [colors[i] for i in ends["id"]], "size": 7},
            "hovertemplate": "%{text}<br>last: %{y:.4g}<extra></extra>"}


def _figure(traces: list):
    """A figure of the runs' own traces, without Plotly's per-property validation (a third of a second for a hundred
    runs, on every rerun of the page)."""
    import plotly.graph_objects as go

    return go.Figure(data=traces, _validate=False)


def _colors(n: int) -> list[str]:
    import plotly.express as px

    palette = px.colors.qualitative.Plotly + px.colors.qualitative.D3 + px.colors.qualitative.Set2
    return [palette[i % len(palette)] for i in range(n)]


def curves_figure(frame: pd.DataFrame, key: str, x: str, log_y: bool = False, title: str | None = None):
    """Each run's smoothed curve over its raw one (faint), its last logged value marked."""
    if "raw" not in frame:
        frame = frame.assign(raw=frame["value"])
    groups = list(frame.groupby(["run", "id"], sort=False)) if len(frame) else []
    colors = {run_id: color for ((_, run_id), _), color in zip(groups, _colors(len(groups)))}
    fig = _figure(_run_traces(groups, colors) + ([_last_values(frame, colors)] if groups else []))
    fig.update_layout(title=title or f"{key} of {frame['id'].nunique() if len(frame) else 0} runs", xaxis_title=x,
                      yaxis_title=key, yaxis_type="log" if log_y else "linear", height=460,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      # a legend of more than LEGEND_RUNS names is a list nobody reads (hovering names each run),
                      # and costs the browser as much as drawing the lines
                      showlegend=len(groups) <= LEGEND_RUNS)
    if log_y:
        from genesis_core.formatting import log_ticks

        fig.update_yaxes(**log_ticks(frame["value"]))
    return fig


def group_of(runs: list[Run], by: str) -> dict[str, str]:
    """Run id -> its value of the config key `by` (dotted, e.g. model.latent_dim), as text; "–" where unset."""
    return {r.id: str(flatten(r.config()).get(by, "–")) for r in runs}


def group_curves(frame: pd.DataFrame, groups: dict[str, str]) -> pd.DataFrame:
    """Per group and x: the mean of its runs' (smoothed) values with the min and max as a band, and how many runs
    had a value there. Runs are interpolated onto the group's shared x within their own range, never beyond it."""
    out = []
    if frame.empty:
        return pd.DataFrame(columns=["group", "x", "mean", "low", "high", "n"])
    frame = frame.assign(group=frame["id"].map(groups))
    for group, part in frame.groupby("group", sort=True):
        grid = np.unique(part["x"].to_numpy(dtype=float))
        rows = []
        for _, run in part.groupby("id"):
            xs, ys = run["x"].to_numpy(dtype=float), run["value"].to_numpy(dtype=float)
            order = np.argsort(xs)
            xs, ys = xs[order], ys[order]
            y = np.interp(grid, xs, ys)
            y[(grid < xs[0]) | (grid > xs[-1])] = np.nan
            rows.append(y)
        stack = np.vstack(rows)
        n = np.sum(~np.isnan(stack), axis=0)
        with np.errstate(all="ignore"):
            mean = np.nanmean(stack, axis=0)
            low, high = np.nanmin(stack, axis=0), np.nanmax(stack, axis=0)
        out.append(pd.DataFrame({"group": group, "x": grid, "mean": mean, "low": low, "high": high, "n": n}))
    return pd.concat(out, ignore_index=True)


def group_figure(grouped: pd.DataFrame, key: str, x: str, by: str, log_y: bool = False, title: str | None = None):
    """Each group's mean line over its min-max band, coloured by group."""
    import plotly.graph_objects as go

    fig = go.Figure(_group_traces(grouped, by))
    fig.update_layout(title=title or f"{key} by {by}", xaxis_title=x, yaxis_title=key, height=460,
                      yaxis_type="log" if log_y else "linear", margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def _group_traces(grouped: pd.DataFrame, by: str, legend: bool = True) -> list:
    """Each group's min-max band and mean line."""
    import plotly.graph_objects as go

    traces = []
    names = list(dict.fromkeys(grouped["group"]))
    for group, color in zip(names, _colors(len(names))):
        g = grouped[grouped["group"] == group]
        runs = int(g["n"].max())
        label = f"{by} = {group} ({runs} run{'s' if runs != 1 else ''})"
        traces.append(go.Scatter(x=np.r_[g["x"], g["x"][::-1]], y=np.r_[g["high"], g["low"][::-1]], fill="toself",
                                 fillcolor=color, opacity=0.2, line={"width": 0}, hoverinfo="skip",
                                 name=f"{label} min-max", legendgroup=label, showlegend=False))
        traces.append(go.Scatter(x=g["x"], y=g["mean"], mode="lines", line={"color": color}, name=label,
                                 legendgroup=label, showlegend=legend))
    return traces


def panels_figure(runs: list[Run], keys: list[str], x: str = "step", smoothing: float = 0.0, by: str = "",
                  log_y: tuple[str, ...] = (), columns: int = 2, max_points: int | None = None):
    """Several metrics at once, a panel each: runs (raw faint, smoothed on top, last value marked) or, with `by`,
    the groups' means and bands."""
    from plotly.subplots import make_subplots

    rows = (len(keys) + columns - 1) // columns
    fig = make_subplots(rows=rows, cols=min(columns, len(keys)), subplot_titles=keys, vertical_spacing=0.12 / rows)
    groups = group_of(runs, by) if by else {}
    colors = dict(zip([r.id for r in runs], _colors(len(runs))))
    for i, key in enumerate(keys):
        row, col = i // columns + 1, i % columns + 1
        frame = curves(runs, key, x, smoothing, max_points)
        if by:
            traces = _group_traces(group_curves(frame, groups), by, legend=i == 0)
        else:
            traces = _run_traces(list(frame.groupby(["run", "id"], sort=False)) if len(frame) else [], colors,
                                 legend=i == 0)
            traces += [_last_values(frame, colors)] if len(frame) else []
        if traces:  # one call per panel, unvalidated (`_figure`): slow at 100 runs otherwise
            fig._validate = False
            fig.add_traces(traces, rows=row, cols=col)
            fig._validate = True
        if key in log_y:
            fig.update_yaxes(type="log", row=row, col=col)
        fig.update_xaxes(title_text=x, row=row, col=col)
    fig.update_layout(height=320 * rows + 60, margin={"l": 10, "r": 10, "t": 60, "b": 10},
                      showlegend=bool(by) or len(runs) <= LEGEND_RUNS)
    return fig


def final_table(runs: list[Run], config_keys: list[str] | None = None, prefix: str = "") -> pd.DataFrame:
    """One row per run: its config keys (default: those that differ) and its final metrics."""
    configs = config_table(runs) if config_keys is None else pd.DataFrame(
        [{"run": r.name or r.id, "id": r.id, **{k: flatten(r.config()).get(k) for k in config_keys}} for r in runs])
    return joined(configs, metric_table(runs, prefix))


def joined(configs: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """A config_table and a metric_table of the same runs as one row per run (each read once by the caller)."""
    return configs.merge(metrics.drop(columns=["run"]), on="id", how="left")


def parallel_figure(table: pd.DataFrame, dimensions: list[str], color: str | None = None):
    """Parallel coordinates (brushable axes) over config keys and final metrics; text columns become ordered
    categories, each tick labelled."""
    import plotly.graph_objects as go

    dims = []
    for d in dimensions:
        values = table[d]
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() == values.notna().sum() and values.notna().any():
            dims.append({"label": d, "values": numeric.to_numpy()})
        else:
            cats = sorted(values.astype(str).unique())
            dims.append({"label": d, "values": values.astype(str).map({c: i for i, c in enumerate(cats)}).to_numpy(),
                         "tickvals": list(range(len(cats))), "ticktext": cats})
    line = {}
    if color and color in table:
        c = pd.to_numeric(table[color], errors="coerce")
        line = {"color": c.to_numpy(), "colorscale": "Viridis", "showscale": True, "colorbar": {"title": color}}
    fig = go.Figure(go.Parcoords(dimensions=dims, line=line))
    fig.update_layout(height=420, margin={"l": 60, "r": 60, "t": 50, "b": 20})
    return fig


def scatter_figure(table: pd.DataFrame, param: str, metric: str):
    """One hyperparameter against one final metric, a point per run (hover: the run)."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=table[param], y=table[metric], mode="markers", text=table["run"],
                               hovertemplate="%{text}<br>" + param + " = %{x}<br>" + metric + " = %{y:.4g}<extra></extra>"))
    fig.update_layout(xaxis_title=param, yaxis_title=metric, height=380, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig


def grouped_final(table: pd.DataFrame, by: str, metric: str) -> pd.DataFrame:
    """The final `metric` per group of `by`: runs, mean, standard deviation, min and max."""
    values = pd.to_numeric(table[metric], errors="coerce")
    frame = pd.DataFrame({by: table[by].astype(str), metric: values}).dropna()
    out = frame.groupby(by)[metric].agg(runs="count", mean="mean", std="std", min="min", max="max").reset_index()
    return out
