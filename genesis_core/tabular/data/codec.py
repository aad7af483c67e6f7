"""Between the user's table and a generator, both ways, the same for every generator.

  encode   the user's frame -> the typed frame a generator models: numbers as floats, booleans, datetimes,
           categories as text; a numerical column with point masses gets a companion column naming the
           mass each row sits on (or "rest"), and its own value on mass rows is drawn from its other rows,
           so the model sees the continuous part alone; ids, free text and personal data are left out
  decode   generated rows -> the user's representation: point masses put back, numbers rounded to the
           decimals seen and kept within the range seen, integers as integers, booleans written as in the
           input (True/False, 0/1, "yes"/"no"), integer categories as integers, dates on their grid (years,
           months, weekdays, days) in their own format, decimal commas and missing tokens as in the input;
           new ids for id columns and realistic fake values (Faker) for personal data, never copies
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from genesis_core.tabular.data.schema import (
    NOT_SYNTHESISED,
    ColumnSpec,
    category_text,
    prepare,
    schema_from_dicts,
    schema_to_dicts,
    to_boolean,
    to_datetimes,
    to_numbers,
)

MASS_PREFIX = "__mass__"
IMPUTE_ROWS = 2000  # rows a point-mass column's imputation model is fit on
LONG_CELL = 40  # characters from which a value that occurs once in its column identifies its row
REST = "rest"


def mass_column(name: str) -> str:
    return MASS_PREFIX + name


def _mass_label(value: float) -> str:
    return f"{value:.12g}"


@dataclass
class TableCodec:
    """What `encode` learned from the training frame (JSON-serialisable: bounds, id formats; no rows)."""

    schema: list[ColumnSpec]
    bounds: dict[str, list[float]] = field(default_factory=dict)  # numerical and datetime: observed [min, max]
    ids: dict[str, dict[str, Any]] = field(default_factory=dict)  # id columns: how new ids are written
    # categorical columns: SHA-256 of the long values (LONG_CELL characters or more) that occur on one row only;
    # such a value identifies its row, so it is never written back (only its hash is kept, never the text)
    withheld: dict[str, list[str]] = field(default_factory=dict)

    # -- learning ----------------------------------------------------------------------------------
    @classmethod
    def fit(cls, frame: pd.DataFrame, schema: list[ColumnSpec], private: bool = False) -> TableCodec:
        """With `private` (a differentially private generator), nothing is learned from the rows: no observed
        bounds, levels or point masses, and new ids count from 1; only how values are written (integers,
        decimals, formats, the date grid) is kept, and the generator's DP statement declares it public."""
        schema = [c for c in schema if c.name in frame.columns]
        if private:
            schema = [replace(c, levels=[], point_masses=[]) for c in schema]
            return cls(schema, ids={c.name: {"kind": "integer", "start": 1} if pd.api.types.is_numeric_dtype(frame[c.name])
                                    else {"kind": "token", "width": 8} for c in schema if c.kind == "id"})
        codec = cls(schema)
        typed = prepare(frame, schema)
        for c in schema:
            if c.kind == "numerical" and typed[c.name].notna().any():
                codec.bounds[c.name] = [float(typed[c.name].min()), float(typed[c.name].max())]
            elif c.kind == "datetime" and typed[c.name].notna().any():
                codec.bounds[c.name] = [float(typed[c.name].min().value), float(typed[c.name].max().value)]
            elif c.kind == "id":
                codec.ids[c.name] = _id_format(frame[c.name])
            elif c.kind == "categorical" and frame[c.name].dtype == object:
                counts = frame[c.name].dropna().astype(str).value_counts()
                unique_long = [v for v, k in counts.items() if k == 1 and len(v) >= LONG_CELL]
                if unique_long:
                    codec.withheld[c.name] = sorted(_digest(v) for v in unique_long)
        return codec

    def model_schema(self) -> list[ColumnSpec]:
        """Specs of the columns a generator sees: the modelled columns and a categorical column per column
        with point masses."""
        out = []
        for c in self.schema:
            if c.kind in NOT_SYNTHESISED:
                continue
            out.append(c)
            if c.kind == "numerical" and c.point_masses:
                out.append(ColumnSpec(mass_column(c.name), "categorical", 0.0,
                                      note=f"which point mass of {c.name} a row sits on"))
        return out

    # -- both ways ---------------------------------------------------------------------------------
    def encode(self, frame: pd.DataFrame, seed: int = 0, row_local: bool = False,
               imputer: str = "boosted") -> pd.DataFrame:
        """The typed frame. On point-mass rows a column's own value is imputed: from the other columns of the
        row (a regression fit on the other rows, plus one of their residuals; `imputer` boosted or linear), so the rest
        keeps its relations to the other columns; with `row_local` (differential privacy: no row may
        depend on another) uniformly within the column's range instead."""
        typed = prepare(frame, self.schema).reset_index(drop=True)
        rng = np.random.default_rng(seed)
        features = None
        for c in self.schema:
            if c.kind != "numerical" or not c.point_masses:
                continue
            x = typed[c.name].to_numpy(dtype=float).copy()
            labels = np.full(len(x), REST, dtype=object)
            for v in c.point_masses:
                labels[x == v] = _mass_label(v)
            on_mass = labels != REST
            rest = ~on_mass & ~np.isnan(x)
            if rest.sum() >= 2 and on_mass.any():
                lo, hi = float(x[rest].min()), float(x[rest].max())
                if row_local:
                    x[on_mass] = rng.uniform(lo, hi, int(on_mass.sum()))
                else:
                    if features is None:  # the input's own values, once: each column is predicted from the others
                        features = numeric_features(typed)
                    x[on_mass] = np.clip(_impute(features.drop(columns=[c.name]), x, rest, on_mass, rng, imputer),
                                         lo, hi)
            typed[c.name] = x
            typed[mass_column(c.name)] = labels
        return typed

    def encode_conditions(self, conditions: dict[str, Any]) -> dict[str, Any]:
        """Condition values in the user's representation -> the typed values a generator sees."""
        specs = {c.name: c for c in self.schema}
        out = {}
        for col, value in conditions.items():
            spec = specs[col]
            s = pd.Series([value])
            if spec.kind == "numerical":
                out[col] = float(to_numbers(s, spec).iloc[0])
            elif spec.kind == "boolean":
                out[col] = to_boolean(s, spec).iloc[0]
            elif spec.kind == "datetime":
                out[col] = to_datetimes(s, spec).iloc[0]
            else:
                out[col] = category_text(s).iloc[0]
        return out

    def decode(self, model_frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
        frame = model_frame.reset_index(drop=True)
        n = len(frame)
        rng = np.random.default_rng(seed)
        out: dict[str, Any] = {}
        for c in self.schema:
            if c.kind == "numerical":
                out[c.name] = self._numbers(c, frame, rng)
            elif c.kind == "boolean":
                out[c.name] = _booleans(c, frame[c.name])
            elif c.kind == "datetime":
                out[c.name] = self._dates(c, frame[c.name])
            elif c.kind == "categorical":
                out[c.name] = _categories(c, frame[c.name])
                if c.name in self.withheld:
                    out[c.name] = _without(out[c.name], set(self.withheld[c.name]), rng)
            elif c.kind == "id":
                out[c.name] = _new_ids(self.ids.get(c.name, {}), n)
            elif c.kind == "pii" and c.pii_action == "replace":
                out[c.name] = fake_values(c.pii, n, int(rng.integers(2**31)))
        return pd.DataFrame(out)

    def _numbers(self, c: ColumnSpec, frame: pd.DataFrame, rng: np.random.Generator | None = None) -> pd.Series:
        x = pd.to_numeric(frame[c.name], errors="coerce").to_numpy(dtype=float).copy()
        if c.point_masses and mass_column(c.name) in frame:
            labels = frame[mass_column(c.name)].astype(str).to_numpy()
            for v in c.point_masses:
                x[(labels == _mass_label(v)) & ~np.isnan(x)] = v
        if c.name in self.bounds:
            low, high = self.bounds[c.name]
            x = np.clip(x, low, high)
        if c.levels:
            x = snap_to_levels(x, c.levels)
        elif c.integer:
            x = np.round(x)
        elif c.decimals >= 0:
            x = np.round(x, c.decimals)
        if c.step > 0 and not c.levels:  # 61e3, 62e3: on the grid of 1000s the input's values lie on
            x = np.round(x / c.step) * c.step
        missing = np.isnan(x)
        if c.negative_zero > 0:  # zeros written as -0.0 in the input, in the same share
            zeros = np.flatnonzero(x == 0)
            flip = (rng or np.random.default_rng(0)).random(len(zeros)) < c.negative_zero
            x[zeros] = np.where(flip, -0.0, 0.0)
        huge = c.integer and bool(np.nanmax(np.abs(x), initial=0) >= 2.0**63)  # beyond int64: written as text
        if (c.decimal_comma or c.thousands or c.prefix or c.suffix or c.places >= 0 or c.scientific or huge
                or (c.missing_tokens and missing.any())):
            text = [None if m else _number_text(v, c) for v, m in zip(x, missing)]
            fill = c.missing_tokens[0] if c.missing_tokens else None
            return pd.Series([fill if t is None else t for t in text], dtype=object)
        if c.integer:
            s = pd.Series(x).astype("Int64")
            return s.astype("int64") if c.dtype.startswith("int") and not missing.any() else s
        return pd.Series(x, dtype=float)

    def _dates(self, c: ColumnSpec, s: pd.Series) -> pd.Series:
        d = pd.to_datetime(s, errors="coerce")
        if c.name in self.bounds:
            lo, hi = (pd.Timestamp(int(v)) for v in self.bounds[c.name])
            d = d.clip(lo, hi)
        d = snap_to_grid(d, c.grid)
        if c.datetime_format and not c.dtype.startswith("datetime"):
            fmt = c.datetime_format if not c.datetime_format.startswith("mixed") else (
                "%Y-%m-%d" if c.grid in ("day", "weekday", "month", "year") else "%Y-%m-%d %H:%M:%S")
            return pd.Series([None if pd.isna(v) else v.strftime(fmt) for v in d], dtype=object)
        return d

    # -- saving ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema": schema_to_dicts(self.schema), "bounds": self.bounds, "ids": self.ids,
                "withheld": self.withheld}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableCodec:
        return cls(schema_from_dicts(data["schema"]), dict(data.get("bounds", {})), dict(data.get("ids", {})),
                   dict(data.get("withheld", {})))


# ---------------------------------------------------------------------------------------------------
# per kind


def numeric_features(typed: pd.DataFrame) -> pd.DataFrame:
    """Every column as floats for a regression: dates as nanoseconds, categories and booleans as codes."""
    out = {}
    for col in typed.columns:
        s = typed[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.astype("int64").where(s.notna()).astype(float)
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            out[col] = s.astype(float)
        else:
            out[col] = pd.Categorical(s.astype(str)).codes.astype(float)
    return pd.DataFrame(out, index=typed.index)


def _impute(features: pd.DataFrame, x: np.ndarray, known: np.ndarray, wanted: np.ndarray,
            rng: np.random.Generator, imputer: str = "boosted") -> np.ndarray:
    """x on the `wanted` rows predicted from the other columns' `features` (fit on the `known` rows), plus a
    residual: `boosted` (gradient-boosted trees: non-linear relations, for the neural generators) or `linear`
    (ridge regression: the linear relations a Gaussian copula models, at a hundredth of the cost)."""
    if features.shape[1] == 0:
        return rng.choice(x[known], int(wanted.sum()))
    # fit on at most IMPUTE_ROWS of the known rows: the imputed values only need the rest's relation to the other
    # columns, and a full fit per point-mass column made wide tables 3x slower than SDV
    fit_rows = np.flatnonzero(known)
    if len(fit_rows) > IMPUTE_ROWS:
        fit_rows = np.sort(rng.choice(fit_rows, IMPUTE_ROWS, replace=False))
    if imputer == "linear":
        f = features.to_numpy(dtype=float)
        f = np.where(np.isnan(f), np.nanmedian(f, axis=0, keepdims=True), f)
        f = np.nan_to_num(f)
        mu, sd = f[fit_rows].mean(0), f[fit_rows].std(0) + 1e-12
        z = (f - mu) / sd
        a, y = z[fit_rows], x[fit_rows]
        coef = np.linalg.solve(a.T @ a + np.eye(a.shape[1]), a.T @ (y - y.mean()))  # ridge, alpha 1
        residuals = y - (y.mean() + a @ coef)
        return y.mean() + z[wanted] @ coef + rng.choice(residuals, int(wanted.sum()))
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "openmp"):  # on a few thousand rows threads cost more CPU than they save
        model = HistGradientBoostingRegressor(max_iter=40, max_leaf_nodes=15, early_stopping=len(fit_rows) >= 400,
                                              random_state=0).fit(features.iloc[fit_rows], x[fit_rows])
        residuals = x[fit_rows] - model.predict(features.iloc[fit_rows])
        return model.predict(features[wanted]) + rng.choice(residuals, int(wanted.sum()))


def _number_text(v: float, c: ColumnSpec) -> str:
    """A number written as the column writes them: decimals, separators, prefix and suffix; whole numbers
    written with a point ("0.0"), scientific notation with the column's exponent ("61e3")."""
    if c.scientific:
        return f"{c.prefix}{v / 10.0 ** c.exponent:.{max(c.places, 0)}f}e{c.exponent}{c.suffix}"
    if c.places >= 0 and (c.integer or c.decimals < 0 or c.places > c.decimals):
        text = f"{v:,.{c.places}f}" if c.thousands else f"{v:.{c.places}f}"
    elif c.integer:
        text = f"{int(v):,}" if c.thousands else str(int(v))
    elif c.decimals >= 0:
        text = f"{v:,.{c.decimals}f}" if c.thousands else f"{v:.{c.decimals}f}"
    else:
        text = f"{v:,}" if c.thousands else f"{v:.12g}"
    if c.thousands or c.decimal_comma:  # "," and "." as Python writes them, then the column's marks
        text = text.replace(",", "\0").replace(".", "," if c.decimal_comma else ".").replace("\0", c.thousands)
    return f"{c.prefix}{text}{c.suffix}"


def _booleans(c: ColumnSpec, s: pd.Series) -> pd.Series:
    flags = to_boolean(s, ColumnSpec(c.name, "boolean", 0.0, true_value=True, false_value=False))
    values = [None if v is None or pd.isna(v) else (c.true_value if v else c.false_value) for v in flags]
    missing = any(v is None for v in values)
    if isinstance(c.true_value, bool):
        return pd.Series(values, dtype=object if missing else bool)
    if isinstance(c.true_value, (int, np.integer)):
        return pd.Series(values, dtype="Int64" if missing or not c.dtype.startswith("int") else "int64")
    return pd.Series(values, dtype=object)


def _categories(c: ColumnSpec, s: pd.Series) -> pd.Series:
    """Category text back to the input's type: integer codes as integers, numbers as numbers."""
    if c.dtype.startswith(("int", "Int", "float", "uint")):
        x = pd.to_numeric(s, errors="coerce")
        if c.places >= 0 or c.scientific:  # "0.0", "61e3": codes written as the input wrote them
            return pd.Series([None if pd.isna(v) else _number_text(float(v), c) for v in x], dtype=object)
        if c.integer:
            return x.round().astype("Int64") if x.isna().any() or not c.dtype.startswith(("int", "uint")) \
                else x.round().astype("int64")
        return x.astype(float)
    return pd.Series([None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in s],
                     dtype=object)


def snap_to_levels(x: np.ndarray, levels: list[float]) -> np.ndarray:
    """Each value moved to the nearest of a discrete column's levels (missing stays missing)."""
    lv = np.asarray(levels, dtype=float)
    idx = np.clip(np.searchsorted(lv, x), 1, len(lv) - 1) if len(lv) > 1 else np.zeros(len(x), int)
    if len(lv) > 1:
        idx = np.where(np.abs(x - lv[idx - 1]) <= np.abs(lv[idx] - x), idx - 1, idx)
    return np.where(np.isnan(x), np.nan, lv[idx])


def snap_to_grid(d: pd.Series, grid: str) -> pd.Series:
    """Dates moved to the nearest point of their grid (a weekday grid moves Saturdays to Friday and Sundays
    to Monday)."""
    if not grid:
        return d
    if grid in ("second", "minute", "hour", "day", "weekday"):
        d = d.dt.round({"second": "s", "minute": "min", "hour": "h"}.get(grid, "D"))
        if grid == "weekday":
            dow = d.dt.dayofweek
            d = d - pd.to_timedelta((dow == 5).astype(int), unit="D") + pd.to_timedelta((dow == 6).astype(int), unit="D")
        return d
    if grid == "month":
        start = d.dt.to_period("M").dt.start_time
        nxt = (d.dt.to_period("M") + 1).dt.start_time
    else:  # year
        start = d.dt.to_period("Y").dt.start_time
        nxt = (d.dt.to_period("Y") + 1).dt.start_time
    return start.where((d - start) <= (nxt - d), nxt).where(d.notna())


def _id_format(s: pd.Series) -> dict[str, Any]:
    values = s.dropna()
    if pd.api.types.is_numeric_dtype(s):
        return {"kind": "integer", "start": int(values.min()) if len(values) else 1}
    text = values.astype(str).str.strip()
    if len(text) and text.str.fullmatch(r"-?[1-9]\d*|0").all():  # whole numbers beyond a float: counted on exactly
        return {"kind": "integer", "start": min(int(v) for v in text)}
    match = text.str.extract(r"^(\D*)(\d+)$")
    if len(text) and match[1].notna().mean() > 0.9:
        prefixes = match[0].dropna()
        return {"kind": "pattern", "prefix": prefixes.mode().iloc[0] if len(prefixes) else "",
                "width": int(match[1].dropna().str.len().max())}
    return {"kind": "token", "width": int(min(max(text.str.len().median() if len(text) else 8, 6), 32))}


def _digest(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _without(values: pd.Series, withheld: set[str], rng: np.random.Generator) -> pd.Series:
    """The column with every withheld value (by hash) replaced by one of its other values (missing when none)."""
    text = values.astype(object)
    bad = np.array([isinstance(v, str) and len(v) >= LONG_CELL and _digest(v) in withheld for v in text], dtype=bool)
    if not bad.any():
        return values
    pool = text[~bad & text.notna()].to_numpy()
    out = text.copy()
    out[bad] = rng.choice(pool, int(bad.sum())) if len(pool) else None
    return out


def _new_ids(fmt: dict[str, Any], n: int) -> pd.Series:
    if fmt.get("kind") == "integer" and not -2**63 <= fmt["start"] < 2**63 - n:  # beyond int64: whole-number text
        return pd.Series([str(fmt["start"] + i) for i in range(n)], dtype=object)
    if fmt.get("kind") == "integer":
        return pd.Series(np.arange(fmt["start"], fmt["start"] + n), dtype="int64")
    if fmt.get("kind") == "pattern":
        return pd.Series([f"{fmt['prefix']}{i:0{fmt['width']}d}" for i in range(1, n + 1)], dtype=object)
    width = fmt.get("width", 8)
    return pd.Series([f"syn{i:0{max(width - 3, 1)}d}" for i in range(1, n + 1)], dtype=object)


def fake_values(kind: str, n: int, seed: int) -> pd.Series:
    """Realistic fake personal data (Faker, seeded): names, first or last names, emails, phone numbers."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    make = {"email": fake.email, "phone": fake.phone_number, "first_name": fake.first_name,
            "last_name": fake.last_name}.get(kind, fake.name)
    return pd.Series([make() for _ in range(n)], dtype=object)


def looks_copied(real: pd.Series, synthetic: pd.Series) -> float:
    """Share of synthetic values that also occur in the real column (for tests and the report)."""
    seen = set(real.dropna().astype(str))
    values = synthetic.dropna().astype(str)
    return float(values.isin(seen).mean()) if len(values) else 0.0

