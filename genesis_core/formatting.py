"""How times and durations read, the same in the terminal and on the pages."""

from __future__ import annotations

import time


def format_eta(seconds: float | None) -> str:
    """A remaining time as tqdm writes it (`MM:SS`, `H:MM:SS`); `–` when it is not known yet."""
    if seconds is None:
        return "–"
    from tqdm import tqdm

    return tqdm.format_interval(max(0.0, float(seconds)))


def format_time(ts: float | None) -> str:
    """A wall-clock timestamp in local time; `–` when there is none."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "–"


def log_ticks(values) -> dict:
    """Tick values and labels for a log axis: 1, 2, 5 of each decade the values span, written whole with thousands
    separators (2,000, not Plotly's abbreviated "2"); {} when there is nothing positive to place."""
    import math

    positive = [float(v) for v in values if v is not None and v == v and float(v) > 0]
    if not positive:
        return {}
    lo, hi = math.floor(math.log10(min(positive))), math.ceil(math.log10(max(positive)))
    ticks = [m * 10.0 ** e for e in range(lo, hi + 1) for m in (1, 2, 5)]
    ticks = [t for t in ticks if min(positive) / 2.5 <= t <= max(positive) * 2.5]
    return {"tickvals": ticks, "ticktext": [f"{t:,.0f}" if t >= 1 else f"{t:g}" for t in ticks]}


def number(value, spec: str = ".4g", dash: str = "–") -> str:
    """A figure as every report and the terminal write it: floats with `spec`, numpy scalars as floats or ints,
    `dash` for a missing figure (None or NaN), anything else as text."""
    if value is None:
        return dash
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float):
        return dash if value != value else format(value, spec)
    return str(value)
