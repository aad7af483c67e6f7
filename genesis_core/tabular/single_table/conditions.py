"""Conditions: synthetic rows drawn given column values ("guided conditional generation").

    "smoker=yes"            every row has smoker = yes
    "target=1@0.3"          30% of the rows have target = 1 (also "@30%"); the others are drawn unconditioned
    "a=x" "b=y@0.5"         half the rows have a = x and b = y, the other half a = x

The rows are drawn given the values by the generator (SDV's conditional sampling: imposed where its model can,
rejection inside the model otherwise), never filtered out of unconditioned rows afterwards; `rows_met` counts
the rows of the output that hold them, for the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from genesis_core.errors import WorkbenchError

_SHARE = re.compile(r"^(?P<value>.*)@(?P<share>\d+(?:\.\d+)?)(?P<percent>%?)$")


class ConditionError(WorkbenchError, ValueError):
    """A condition that cannot be used: malformed, or naming a column or value the table does not have."""


@dataclass(frozen=True)
class ConditionGroup:
    values: dict[str, str]  # column -> value as the user wrote it
    share: float  # of the rows

    def text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values.items()) or "(no condition)"


def parse_conditions(items) -> tuple[dict[str, str], list[tuple[dict[str, str], float]]]:
    """("column=value[@share]", ...) -> (values for every row, [(values, share) for each shared condition])."""
    common: dict[str, str] = {}
    shared: list[tuple[dict[str, str], float]] = []
    for item in items:
        column, sep, rest = str(item).partition("=")
        if not sep or not column.strip():
            raise ConditionError(f"condition {item!r}: write column=value or column=value@share (e.g. target=1@0.3)")
        m = _SHARE.match(rest)
        value = (m.group("value") if m else rest).strip()
        if m:
            share = float(m.group("share")) / (100 if m.group("percent") else 1)
            if not 0 < share <= 1:
                raise ConditionError(f"condition {item!r}: the share must lie in (0, 1] (or 0-100%)")
            shared.append(({column.strip(): value}, share))
        else:
            common[column.strip()] = value
    if sum(s for _, s in shared) > 1 + 1e-9:
        raise ConditionError("the shares of the conditions add up to more than all of the rows")
    return common, shared


def plan(items, rows: int) -> list[tuple[ConditionGroup, int]]:
    """The groups of rows to draw: each shared condition's rows, then the rest, every group with the common
    values; rows are counted so that they add up to `rows`."""
    common, shared = parse_conditions(items)
    out, used = [], 0
    for values, share in shared:
        n = int(round(share * rows))
        n = min(n, rows - used)
        if n > 0:
            out.append((ConditionGroup({**common, **values}, share), n))
            used += n
    if rows - used > 0:
        out.append((ConditionGroup(dict(common), (rows - used) / max(rows, 1)), rows - used))
    return out


def check_against(items, frame: pd.DataFrame, modelled: list[str]) -> None:
    """Every condition names a synthesised column of the table and a value it has (one sentence otherwise)."""
    common, shared = parse_conditions(items)
    for values in [common, *(v for v, _ in shared)]:
        for column, value in values.items():
            if column not in frame.columns:
                raise ConditionError(f"condition on {column!r}: the table has no such column")
            if column not in modelled:
                raise ConditionError(f"condition on {column!r}: that column is not synthesised (an id, free text "
                                     "or personal data), so rows cannot be drawn given it")


def rows_met(frame: pd.DataFrame, values: dict[str, str]) -> int:
    """Rows of `frame` (as written) that hold every value (compared as written, numbers by value)."""
    hit = pd.Series(True, index=frame.index)
    for column, value in values.items():
        cells = frame[column]
        as_text = cells.astype(str).str.strip() == value
        number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        as_number = pd.to_numeric(cells, errors="coerce") == number if pd.notna(number) else False
        hit &= as_text | as_number
    return int(hit.sum())


def report(groups: list[tuple[ConditionGroup, int]], frames: list[pd.DataFrame]) -> list[dict[str, Any]]:
    return [{"condition": g.text(), "share": round(g.share, 6), "rows_asked": n,
             "rows_met": rows_met(f, g.values) if g.values else len(f)} for (g, n), f in zip(groups, frames)]
