"""Column types of a table: numerical, categorical, boolean, datetime (with its format), id, text; the
missing-value rate of each column; likely personal data flagged (emails, phone numbers, names). Every
inference can be overridden, and the schema becomes SDV metadata."""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

KINDS = ("numerical", "categorical", "boolean", "datetime", "id", "text")
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y",
                "%Y/%m/%d", "%d-%m-%Y", "%Y%m%d")
EMAIL = re.compile(r"^[\w.+-]+@[\w-]+\.[\w.-]+$")
PHONE = re.compile(r"^\+?[\d\s().-]{7,}$")
NAME_COLUMNS = re.compile(r"(^|_|\b)(first|last|full|sur|given|family)?_?name(s)?($|_|\b)", re.I)


@dataclass
class ColumnSpec:
    name: str
    kind: str
    missing_rate: float
    datetime_format: str = ""
    pii: str = ""  # "", "email", "phone", "name"
    note: str = ""


def _date_format(values: pd.Series) -> str:
    sample = values.dropna().head(200).map(lambda v: str(v))  # plain str: numpy.str_ trips pandas' parser
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if parsed.notna().mean() > 0.95:
            return fmt
    return ""


def infer_column(name: str, s: pd.Series) -> ColumnSpec:
    missing = float(s.isna().mean())
    values = s.dropna()
    n, unique = len(values), values.nunique()
    spec = ColumnSpec(name, "categorical", missing)
    as_str = values.astype(str)
    if n and as_str.str.match(EMAIL).mean() > 0.9:
        spec.pii = "email"
    elif n and not pd.api.types.is_numeric_dtype(s) and as_str.str.match(PHONE).mean() > 0.9:
        spec.pii = "phone"
    elif NAME_COLUMNS.search(name):
        spec.pii = "name"
    if pd.api.types.is_bool_dtype(s) or (unique <= 2 and set(as_str.str.lower()) <= {"true", "false", "0", "1", "yes", "no"}):
        spec.kind = "boolean"
    elif pd.api.types.is_numeric_dtype(s):
        integer = pd.api.types.is_integer_dtype(s) or (n and np.allclose(values, np.round(values)))
        if integer and unique == n and n > 20 and re.search(r"(^|_)(id|key|number|no)$", name, re.I):
            spec.kind = "id"
        elif unique <= min(20, max(2, n // 10)):
            spec.kind, spec.note = "categorical", f"{unique} distinct values: treated as categories"
        else:
            spec.kind = "numerical"
    else:
        numeric = pd.to_numeric(values, errors="coerce")
        share = float(numeric.notna().mean()) if n else 0.0
        fmt = _date_format(values)
        if fmt:
            spec.kind, spec.datetime_format = "datetime", fmt
        elif 0.5 < share < 1.0:
            bad = values[numeric.isna()].astype(str).head(3).tolist()
            spec.kind = "categorical"
            spec.note = (f"mixes numbers and text ({int((1 - share) * n)} non-numeric values, e.g. "
                         f"{', '.join(repr(b) for b in bad)}); treated as categorical, correct it if needed")
        elif spec.pii in ("email", "phone") or (unique == n and n > 20 and as_str.str.len().mean() < 40):
            spec.kind = "id"
        elif as_str.str.len().mean() > 40 and unique > 0.5 * n:
            spec.kind = "text"
        else:
            spec.kind = "categorical"
    return spec


def infer_schema(df: pd.DataFrame) -> list[ColumnSpec]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [infer_column(c, df[c]) for c in df.columns]


def apply_overrides(schema: list[ColumnSpec], overrides: dict[str, dict]) -> list[ColumnSpec]:
    """overrides: column -> {"kind": ..., "datetime_format": ...}; unknown columns or kinds are errors."""
    by_name = {c.name: c for c in schema}
    for col, change in overrides.items():
        if col not in by_name:
            raise ValueError(f"no column {col!r} in the table")
        kind = change.get("kind", by_name[col].kind)
        if kind not in KINDS:
            raise ValueError(f"column {col!r}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
        by_name[col].kind = kind
        if "datetime_format" in change:
            by_name[col].datetime_format = change["datetime_format"]
    return schema


def prepare(df: pd.DataFrame, schema: list[ColumnSpec]) -> pd.DataFrame:
    """The frame the generators see: ids and free text dropped (they are not synthesised), types coerced."""
    out = {}
    for c in schema:
        s = df[c.name]
        if c.kind in ("id", "text"):
            continue
        if c.kind == "numerical":
            out[c.name] = pd.to_numeric(s, errors="coerce")
        elif c.kind == "datetime":
            out[c.name] = pd.to_datetime(s, format=c.datetime_format or None, errors="coerce")
        elif c.kind == "boolean":
            out[c.name] = s.astype(str).str.lower().map({"true": True, "1": True, "yes": True, "1.0": True,
                                                         "false": False, "0": False, "no": False, "0.0": False})
        else:
            out[c.name] = s.astype("string").astype(object).where(s.notna(), None)
    return pd.DataFrame(out)


def sdv_metadata(schema: list[ColumnSpec], table: str = "table"):
    from sdv.metadata import Metadata

    columns = {}
    for c in schema:
        if c.kind in ("id", "text"):
            continue
        if c.kind == "datetime":
            columns[c.name] = {"sdtype": "datetime", "datetime_format": c.datetime_format or "%Y-%m-%d"}
        else:
            columns[c.name] = {"sdtype": c.kind}
    return Metadata.load_from_dict({"tables": {table: {"columns": columns}}, "METADATA_SPEC_VERSION": "V1"})


def schema_to_dicts(schema: list[ColumnSpec]) -> list[dict]:
    return [asdict(c) for c in schema]
