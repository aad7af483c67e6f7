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
