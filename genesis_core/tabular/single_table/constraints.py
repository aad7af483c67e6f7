"""Constraints synthetic rows must keep: a range, an inequality between two columns, fixed
combinations of categories.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from genesis_core.tabular.data.schema import category_text

if TYPE_CHECKING:
    pass

@dataclass(frozen=True)
class Range:
    column: str
    low: float
    high: float

    def ok(self, df: pd.DataFrame) -> pd.Series:
        x = pd.to_numeric(df[self.column], errors="coerce")
        return x.between(self.low, self.high) | x.isna()


@dataclass(frozen=True)
class Inequality:
    low_column: str
    high_column: str

    def ok(self, df: pd.DataFrame) -> pd.Series:
        a, b = df[self.low_column], df[self.high_column]
        if not (pd.api.types.is_datetime64_any_dtype(a) or pd.api.types.is_datetime64_any_dtype(b)):
            a, b = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
        return (a <= b) | a.isna() | b.isna()


@dataclass(frozen=True)
class FixedCombinations:
    columns: tuple[str, ...]
    allowed: tuple[tuple, ...] = ()  # filled at fit time from the training data, as text

    def ok(self, df: pd.DataFrame) -> pd.Series:
        allowed = set(self.allowed)
        text = pd.DataFrame({c: category_text(df[c]) for c in self.columns})
        return pd.Series([tuple(r) in allowed for r in text.itertuples(index=False)], index=df.index)
