"""One encoding of table rows as numbers, shared by the detection and utility classifiers and by the
distance-based privacy measures: numbers scaled by the reference's 1-99% range (missing -> its median),
categories one-hot over the reference's 50 most common values, scaled by 1/sqrt(2) so that a mismatch
adds 1 to a squared distance."""

from __future__ import annotations

import numpy as np
import pandas as pd


def numeric(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.astype("int64").where(s.notna()) / 1e9
    return pd.to_numeric(s, errors="coerce")


class TableEncoder:
    def __init__(self, reference: pd.DataFrame, kinds: dict[str, str]):
        self.kinds = kinds
        self.scales, self.medians, self.categories = {}, {}, {}
        for col, kind in kinds.items():
            if kind == "numerical":
                x = numeric(reference[col])
                q1, q99 = np.nanquantile(x, [0.01, 0.99]) if x.notna().any() else (0.0, 1.0)
                self.scales[col] = max(q99 - q1, 1e-9)
                self.medians[col] = float(np.nanmedian(x)) if x.notna().any() else 0.0
            else:
                self.categories[col] = reference[col].astype(str).value_counts().index[:50].tolist()

    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        parts = []
        for col, kind in self.kinds.items():
            if kind == "numerical":
                x = numeric(df[col]).fillna(self.medians[col]).to_numpy(dtype=float)
                parts.append((x / self.scales[col])[:, None])
            else:
                s = df[col].astype(str)
                parts.append(np.stack([(s == c).to_numpy() for c in self.categories[col]], 1).astype(float) / np.sqrt(2))
        return np.hstack(parts).astype(np.float32) if parts else np.zeros((len(df), 1), np.float32)

    @property
    def width(self) -> int:
        return sum(1 if k == "numerical" else len(self.categories[c]) for c, k in self.kinds.items())
