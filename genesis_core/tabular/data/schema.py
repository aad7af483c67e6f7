"""Column types of a table, decided with evidence and explained: numerical, categorical, boolean, datetime,
id, text, pii. Each column also records how its values are written (integers, 0/1, "yes"/"no", a date
format, a decimal comma, tokens such as "?" that mean missing), its point masses (a large share of one
exact value) and, for dates, the grid they sit on, so synthetic values come back written the same way.

Every inference can be overridden (`apply_overrides`); `prepare` turns a frame into typed values (numbers
as floats, booleans, datetimes, categories as text) for models and metrics; `sdv_metadata` describes the
typed frame to SDV and SDMetrics.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

KINDS = ("numerical", "categorical", "boolean", "datetime", "id", "text", "pii")
NOT_SYNTHESISED = ("id", "text", "pii")  # written by the codec (new ids, fake values) or left out, not modelled
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
                "%d/%m/%Y", "%m/%d/%Y", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d.%m.%Y", "%d.%m.%Y %H:%M",
                "%Y/%m/%d", "%d-%m-%Y", "%Y%m%d", "%Y-%m", "%b %d, %Y", "%d %b %Y", "%B %d, %Y", "%d %B %Y",
                "%b %Y", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%SZ")
MISSING_TOKENS = {"?", "-", "--", ".", "n/a", "na", "nan", "null", "none", "missing", "unknown", "nd", "n.d.", "#n/a",
                  "#value!", "#div/0!", "inf", "-inf", "infinity"}
BOOLEAN_PAIRS = ({"true", "false"}, {"yes", "no"}, {"y", "n"}, {"t", "f"}, {"0", "1"}, {"on", "off"},
                 {"1.0", "0.0"})
EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
PHONE = re.compile(r"^(\+|00)?[\d\s().-]{7,20}$")
NAME_COLUMN = re.compile(r"^(first|last|full|sur|given|family|middle|customer|patient|person|employee|contact|"
                         r"user|client|maiden)?[ _-]?(name|names|surname|forename|lastname|firstname)$", re.I)
PERSON_NAME = re.compile(r"^[^\W\d_][^\W\d_'’.-]*(['’.-][^\W\d_]+)*\.?( [^\W\d_][^\W\d_'’.-]*(['’.-][^\W\d_]+)*\.?){0,3}$")
ID_NAME = re.compile(r"(^|[_\s-])(id|key|uuid|guid|number|no|nr|code)$|^id[_\s-]|^(index|unnamed: ?\d+)$", re.I)
DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
CODE = re.compile(r"^(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9_.:/-]+$")  # letters and digits together: N1A1, AB-1234


@dataclass
class ColumnSpec:
    """One column: its kind, why, and how its values are written."""

    name: str
    kind: str
    missing_rate: float
    datetime_format: str = ""
    pii: str = ""  # "", "email", "phone", "name", "first_name", "last_name"
    note: str = ""  # why the kind was chosen, in words
    dtype: str = ""  # the input's dtype (int64, float64, bool, object, datetime64[ns], ...)
    integer: bool = False  # numerical: whole numbers, rounded on output
    decimals: int = -1  # numerical: decimal places seen (output rounded to them); -1: not limited
    decimal_comma: bool = False  # numerical written as text with a decimal comma ("1,5")
    thousands: str = ""  # numerical written with a thousands separator ("1,234", "1.234,5", "1 234")
    prefix: str = ""  # numerical written with a prefix ("$", "€") or
    suffix: str = ""  # a suffix ("%", " kg")
    true_value: Any = None  # boolean: how true and false are written (True/False, 1/0, "yes"/"no", ...)
    false_value: Any = None
    levels: list = field(default_factory=list)  # numerical: the few values a discrete column takes (sorted)
    point_masses: list = field(default_factory=list)  # numerical: exact values with a large share of the rows
    grid: str = ""  # datetime: year | month | weekday | day | hour | minute | second | "" (any instant)
    missing_tokens: list = field(default_factory=list)  # numerical: text read as missing ("?", "n/a", ...)
    places: int = -1  # numerical: digits written after the point ("0.0": 1; for `scientific`, the mantissa's)
    scientific: bool = False  # numerical: written in scientific notation ("61e3"), with `exponent`
    exponent: int = 0
    step: float = 0.0  # numerical: values lie on a grid of this step (61e3, 62e3: 1000); 0: none beyond `integer`
    negative_zero: float = 0.0  # numerical: share of the zeros written as -0.0
    pii_action: str = "replace"  # pii columns: replace (realistic fake values) | drop
    text_model: bool = False  # text columns: written by a language model (tabular/text/columns.py)
    text_note: str = ""  # text columns: why not, when they are left out


# ---------------------------------------------------------------------------------------------------
# evidence


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def date_format(values: pd.Series) -> str:
    """The first format that parses > 95% of a text column's values; "" when none does."""
    sample = values.dropna().astype(str).str.strip().head(300)
    sample = pd.Series([str(v) for v in sample])  # plain str: numpy.str_ trips pandas' parser
    if sample.empty or not sample.str.contains(r"\d").all():
        return ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in DATE_FORMATS:
            if pd.to_datetime(sample, format=fmt, errors="coerce").notna().mean() > 0.95:
                return fmt
        if not sample.str.match(r"^[\d\s:./TZ+-]+$").all() or sample.str.len().min() < 6:
            return ""
        dayfirst = bool(sample.str.extract(r"^(\d{1,2})[./-]\d{1,2}[./-]\d{2,4}")[0].dropna().astype(int).gt(12).any())
        if pd.to_datetime(sample, format="mixed", dayfirst=dayfirst, errors="coerce").notna().mean() > 0.95:
            return "mixed-dayfirst" if dayfirst else "mixed"  # several formats; written back as ISO dates
    return ""


def date_grid(dates: pd.Series) -> str:
    """The coarsest grid every date sits on: year (1 January), month (the 1st), weekday (no Saturdays or
    Sundays, among at least 20 days), day (midnight), hour, minute, second; "" for finer instants."""
    d = pd.to_datetime(dates.dropna())
    if d.empty:
        return ""
    if (d.dt.nanosecond != 0).any() or (d.dt.microsecond != 0).any():
        return ""
    if (d.dt.second != 0).any():
        return "second"
    if (d.dt.minute != 0).any():
        return "minute"
    if (d.dt.hour != 0).any():
        return "hour"
    if ((d.dt.month == 1) & (d.dt.day == 1)).all() and d.nunique() > 1:
        return "year"
    if (d.dt.day == 1).all() and d.nunique() > 1:
        return "month"
    if d.nunique() >= 20 and (d.dt.dayofweek < 5).all():
        return "weekday"
    return "day"


def _split_affix(text: pd.Series) -> tuple[str, str, pd.Series]:
    """A prefix and a suffix (currency signs, %, units) shared by at least 95% of the values, and the rest."""
    parts = text.str.extract(r"^([^\d+\-.]*?\s*)([+-]?[\d.,' ]*\d)(\s*[^\d]*)$")
    if parts[1].isna().mean() > 0.05:
        return "", "", text
    pre, suf = parts[0].fillna("").mode(), parts[2].fillna("").mode()
    pre, suf = (pre.iloc[0] if len(pre) else ""), (suf.iloc[0] if len(suf) else "")
    shared = (parts[0].fillna("") == pre) & (parts[2].fillna("") == suf)
    if (pre or suf) and shared.mean() >= 0.95:
        return pre, suf, parts[1].where(shared, text)
    return "", "", text


def _separators(core: pd.Series) -> tuple[str, bool]:
    """(thousands separator or "", decimal comma?) of numbers written as text."""
    core = core.dropna()
    for sep in (" ", "'"):
        if core.str.contains(sep, regex=False).any() and core.str.match(rf"^[+-]?\d{{1,3}}({sep}\d{{3}})+([.,]\d+)?$|^[+-]?\d{{1,3}}([.,]\d+)?$").all():
            return sep, bool(core.str.contains(",", regex=False).any())
    commas, dots = core.str.contains(",", regex=False), core.str.contains(".", regex=False)
    if commas.any() and dots.any():  # the one that comes last is the decimal mark
        comma_last = (core.str.rfind(",") > core.str.rfind(".")).where(commas & dots).dropna()
        return (".", True) if comma_last.mean() > 0.5 else (",", False)
    if commas.any():
        grouped = core[commas].str.match(r"^[+-]?\d{1,3}(,\d{3})+$").all()
        return ("", True) if not grouped or core[commas].str.match(DECIMAL_COMMA).mean() == 1 and \
            not core[commas].str.match(r"^[+-]?\d{1,3},\d{3}$").all() else (",", False)
    if (core.str.count(r"\.") > 1).any() and core[dots].str.match(r"^[+-]?\d{1,3}(\.\d{3})+$").all():
        return ".", False
    return "", False


def parse_numbers(values: pd.Series) -> tuple[pd.Series, dict[str, Any], list[str]]:
    """Text -> numbers. Returns (floats, how they are written: decimal_comma, thousands, prefix, suffix; the
    missing tokens found). Infinities (numbers beyond float range) count as text."""
    text = values.astype(str).str.strip()
    tokens_mask = text.str.lower().isin(MISSING_TOKENS) | (text == "")
    prefix, suffix, core = _split_affix(text[~tokens_mask])
    thousands, comma = _separators(core)
    clean = core.str.replace(thousands, "", regex=False) if thousands else core
    clean = clean.str.replace(",", ".", regex=False) if comma else clean
    parsed = pd.to_numeric(clean, errors="coerce").reindex(text.index)
    parsed = parsed.where(np.isfinite(parsed.astype(float)))
    tokens = sorted({t for t in text[parsed.isna()] if t.lower() in MISSING_TOKENS or t == ""})
    places = core.str.extract(r"[.,](\d+)$")[0].dropna().str.len() if (comma or "." in "".join(core.head(200))) \
        else pd.Series(dtype=int)
    if thousands:  # "1,234" has no decimals: its last group is thousands
        places = core.str.extract(rf"{'[,]' if comma else '[.]'}(\d+)$")[0].dropna().str.len()
    fmt = {"decimal_comma": comma, "thousands": thousands, "prefix": prefix, "suffix": suffix,
           "decimals": int(places.max()) if len(places) else 0}
    return parsed.astype(float), fmt, tokens


def _decimals(x: np.ndarray) -> int:
    """Decimal places needed to write every value exactly (at most 6)."""
    for d in range(7):
        if np.allclose(x, np.round(x, d), rtol=0, atol=10.0 ** -(d + 3)):
            return d
    return -1


def _grid_step(values: np.ndarray, decimals: int) -> float:
    """The coarsest grid through 0 that every value lies on, beyond its decimals (body masses in 25 g: 25;
    prices in 0.05: 0.05), or 0 when it is the decimals' own (1, 0.1, ...) or the values are not written exactly."""
    if decimals < 0 or len(values) < 3:
        return 0.0
    scaled = np.round(values * 10.0 ** decimals)
    if np.abs(scaled).max() >= 2**53:
        return 0.0
    g = int(np.gcd.reduce(np.abs(scaled).astype(np.int64)))
    points = (scaled.max() - scaled.min()) / max(g, 1) + 1
    # a grid the values fill (at least 1 point in 20 taken), not an accident of a few exact values
    return g / 10.0 ** decimals if g > 1 and points <= 20 * len(values) else 0.0


def _numeric_kind(name: str, x: pd.Series, spec: ColumnSpec, first: bool = False) -> None:
    """Numbers: numerical unless the evidence says codes or ids; sets the representation and the note."""
    x = x.dropna()
    n, unique = len(x), x.nunique()
    values = np.sort(x.unique())
    integer = bool(n) and bool(np.all(values == np.round(values)))
    spec.integer, spec.decimals = integer, (0 if integer else _decimals(values))
    if unique <= 1:
        spec.kind, spec.note = "categorical", "a single value"
        return
    if unique == 2 and set(values.tolist()) <= {0, 1}:
        spec.kind, spec.true_value, spec.false_value = "boolean", 1, 0
        spec.note = "two values, 0 and 1: boolean, written as 0/1"
        return
    if integer and unique == n and n > 20:
        consecutive = bool(np.all(np.diff(values) == 1))
        if ID_NAME.search(name) or (consecutive and first):
            spec.kind = "id"
            spec.note = "unique consecutive integers: a row number" if consecutive else "unique integers named like an id"
            return
    if unique == 2:
        spec.kind, spec.note = "categorical", f"two values ({_plain(values[0])}, {_plain(values[1])}): categories"
        return
    if integer:
        steps = np.diff(values).astype(np.int64)
        step = int(np.gcd.reduce(steps)) if len(steps) else 1
        coverage = unique / ((values[-1] - values[0]) / max(step, 1) + 1)
        if unique <= 20 and coverage < 0.5:
            spec.kind = "categorical"
            spec.note = (f"{unique} integer codes spread unevenly ({', '.join(format(v, 'g') for v in values[:5])}"
                         f"{', …' if unique > 5 else ''}): categories")
            return
        spec.kind = "numerical"
        spec.note = (f"whole numbers, {unique} distinct in {values[0]:g}–{values[-1]:g}: numerical, "
                     "rounded and kept within the range")
    else:
        spec.kind = "numerical"
        spec.note = f"{unique} distinct numbers" + (f", {spec.decimals} decimal places" if spec.decimals >= 0 else "")
    if unique <= 20 and n >= 3 * unique:  # a discrete column: its values are kept, their order modelled
        spec.levels = [float(v) for v in values]
        spec.note += f"; {unique} levels"
        return
    spec.step = _grid_step(values, spec.decimals)
    if spec.step:  # a classifier tells a value off the grid from one on it: synthetic values come back on it
        spec.note += f"; every value a multiple of {_plain(spec.step):g}"
    masses = _point_masses(x, unique)
    if masses:
        spec.point_masses = masses
        counts = x.value_counts(normalize=True)
        spec.note += "; point mass" + ("es" if len(masses) > 1 else "") + " at " + ", ".join(
            f"{_plain(v):g} ({counts[v]:.0%})" for v in masses)


def _point_masses(x: pd.Series, unique: int, share: float = 0.01, lift: float = 20.0, most: int = 2) -> list[float]:
    """Exact values of a column with a continuum of other values that hold at least `share` of the rows and at
    least `lift` times the rows of a typical value of the column (the median count): a credit balance of exactly 0
    in 5% of the rows, where every other balance occurs once, is a point mass a classifier finds at once; a value
    of a column whose values all repeat is not."""
    if unique < 6:
        return []
    counts = x.value_counts()
    typical = float(counts.median())
    return [float(v) for v, c in counts.head(most).items() if c >= share * len(x) and c >= lift * typical]


def _looks_like_person_names(text: pd.Series) -> bool:
    sample = text.head(500)
    return bool(len(sample)) and sample.str.match(PERSON_NAME).mean() > 0.8


_WHOLE = re.compile(r"^[+-]?\d+$")


def _beyond_float(text: pd.Series) -> bool:
    """Every value is a whole number written in digits, and one has more significant digits than a float holds
    exactly (above 2**53): as floats they would lose their last digits, or all of them collapse into one."""
    if not len(text) or not text.str.match(_WHOLE).all():
        return False
    return bool((text.str.lstrip("+-").str.lstrip("0").str.len() > 15).any() and
                any(abs(int(v)) > 2**53 for v in text))


def infer_column(name: str, s: pd.Series, first: bool = False) -> ColumnSpec:
    """The kind of one column and why; `first`: it is the table's first column (where row numbers live)."""
    missing = float(s.isna().mean())
    values = s.dropna()
    n, unique = len(values), values.nunique()
    spec = ColumnSpec(name, "categorical", missing, dtype=str(s.dtype))
    if n == 0:
        spec.note = "empty"
        return spec
    if pd.api.types.is_bool_dtype(s) or (s.dtype == object and values.map(type).eq(bool).all()):
        spec.kind, spec.true_value, spec.false_value, spec.note = "boolean", True, False, "true/false values"
        return spec
    if pd.api.types.is_datetime64_any_dtype(s):
        spec.kind, spec.grid = "datetime", date_grid(values)
        spec.note = "dates" + (f" on a {spec.grid} grid" if spec.grid else "")
        return spec
    if pd.api.types.is_numeric_dtype(s):
        _numeric_kind(name, values.astype(float), spec, first)
        return spec
    text = values.astype(str).str.strip()
    lower = set(text.str.lower().unique())
    fmt = date_format(text)
    if fmt:
        spec.kind, spec.datetime_format = "datetime", fmt
        spec.grid = date_grid(to_datetimes(text, spec))
        spec.note = (f"dates written as {fmt}" if not fmt.startswith("mixed") else
                     "dates in several formats (written back as ISO dates)") \
            + (f", on a {spec.grid} grid" if spec.grid else "")
        return spec
    if unique == 2 and any(lower == pair for pair in BOOLEAN_PAIRS):
        first, second = sorted(text.unique(), key=lambda v: v.lower() in ("false", "no", "n", "f", "0", "off", "0.0"))
        spec.kind, spec.true_value, spec.false_value = "boolean", str(first), str(second)
        spec.note = f"two values, {first!r} and {second!r}: boolean"
        return spec
    if text.str.match(EMAIL).mean() > 0.9:
        spec.kind, spec.pii, spec.note = "pii", "email", "email addresses"
        return spec
    phone_like = text.str.match(PHONE) & (text.str.contains(r"[\s().+-]") | text.str.startswith("0"))
    if phone_like.mean() > 0.9 and text.str.count(r"\d").mean() >= 7:
        spec.kind, spec.pii, spec.note = "pii", "phone", "phone numbers"
        return spec
    if _beyond_float(text):
        digits = int(text.str.lstrip("+-").str.lstrip("0").str.len().max())
        if unique == n and n > 20:
            spec.kind = "id"
            spec.note = (f"distinct whole numbers of up to {digits} digits, more than a float holds exactly: an "
                         "identifier (new ones are made, written as whole numbers)")
        else:
            spec.note = (f"whole numbers of up to {digits} digits, more than a float holds exactly: categories, "
                         "written back digit for digit")
        return spec
    numbers, written, tokens = parse_numbers(text)
    share = float(numbers.notna().mean())
    if share > 0.0 and share + text.isin(tokens).mean() >= 0.999 and numbers.notna().sum() >= 2:
        spec.decimal_comma, spec.thousands = written["decimal_comma"], written["thousands"]
        spec.prefix, spec.suffix, spec.missing_tokens = written["prefix"], written["suffix"], tokens
        spec.missing_rate = float((s.isna() | s.astype(str).str.strip().isin(tokens)).mean())
        _numeric_kind(name, numbers, spec, first)
        if not spec.integer and spec.decimals >= 0:
            spec.decimals = max(spec.decimals, written["decimals"])  # "$1,148.50" keeps its two places
        extras = (["decimal comma"] if written["decimal_comma"] else []) \
            + ([f"thousands separated by {written['thousands']!r}"] if written["thousands"] else []) \
            + ([f"written as {written['prefix']}…{written['suffix']}"]
               if written["prefix"] or written["suffix"] else []) \
            + ([f"{', '.join(map(repr, tokens))} read as missing"] if tokens else [])
        spec.note += "".join(f"; {e}" for e in extras)
        return spec
    if NAME_COLUMN.search(name) and _looks_like_person_names(text):
        lowered = name.lower()
        spec.pii = ("first_name" if ("first" in lowered or "given" in lowered or "fore" in lowered) else
                    "last_name" if ("last" in lowered or "sur" in lowered or "family" in lowered) else "name")
        spec.kind, spec.note = "pii", "person names (by the column's name and its values)"
        return spec
    if 0.5 < share < 1.0:
        bad = text[numbers.isna()].head(3).tolist()
        spec.note = (f"mixes numbers and text ({int(round((1 - share) * n))} non-numeric values, e.g. "
                     f"{', '.join(repr(b) for b in bad)}): categories; correct it if needed")
        return spec
    mean_len = float(text.str.len().mean())
    if unique == n and n > 20 and mean_len < 40 and (ID_NAME.search(name) or text.str.match(r"^[\w-]+$").mean() > 0.95):
        spec.kind, spec.note = "id", "a unique short code on every row"
    elif unique >= max(20, 0.5 * n) and mean_len < 24 and text.str.match(CODE).mean() > 0.8:
        spec.kind = "id"
        spec.note = (f"{unique} distinct codes of letters and digits over {n} rows (like {text.iloc[0]!r}): an "
                     "identifier, not copied")
    elif unique > 0.5 * n and (mean_len > 40 or (mean_len > 24 and text.str.split().str.len().mean() >= 4)):
        words = float(text.str.split().str.len().mean())
        spec.kind = "text"
        spec.note = (f"free text: {mean_len:.0f} characters and {words:.0f} words on average, {unique / n:.0%} of "
                     "the values distinct")
    else:
        spec.note = f"{unique} distinct value{'s' if unique != 1 else ''}: categories"
    return spec


def infer_schema(df: pd.DataFrame) -> list[ColumnSpec]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = [infer_column(c, df[c], first=i == 0) for i, c in enumerate(df.columns)]
    if all(c.kind in NOT_SYNTHESISED for c in schema):  # a row number is only one when there is something else
        for c in schema:
            if c.kind == "id" and pd.api.types.is_numeric_dtype(df[c.name]):
                c.kind, c.levels, c.point_masses = "numerical", [], []
                c.note = (f"unique whole numbers ({c.note}), and no other column to synthesise: modelled as numbers, "
                          "not as a row number")
    return schema


def apply_overrides(schema: list[ColumnSpec], overrides: dict[str, dict]) -> list[ColumnSpec]:
    """overrides: column -> {"kind": ..., "datetime_format": ..., "pii_action": ...}; unknown columns or kinds
    are errors."""
    by_name = {c.name: c for c in schema}
    for col, change in overrides.items():
        if col not in by_name:
            raise ValueError(f"no column {col!r} in the table")
        spec = by_name[col]
        kind = change.get("kind", spec.kind)
        if kind not in KINDS:
            raise ValueError(f"column {col!r}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if kind != spec.kind:
            spec.note = f"set to {kind} by the user (inferred: {spec.kind})"
            if kind == "pii" and not spec.pii:
                spec.pii = "name"
            if kind == "boolean" and spec.true_value is None:
                spec.true_value, spec.false_value = True, False
        spec.kind = kind
        if "datetime_format" in change:
            spec.datetime_format = change["datetime_format"]
        if "pii_action" in change:
            if change["pii_action"] not in ("replace", "drop"):
                raise ValueError(f"column {col!r}: personal data is either replaced or dropped")
            spec.pii_action = change["pii_action"]
    return schema


# ---------------------------------------------------------------------------------------------------
# typed values


def to_boolean(s: pd.Series, spec: ColumnSpec) -> pd.Series:
    text = s.astype(str).str.strip().str.lower()
    truthy = {str(spec.true_value).lower(), "true", "1", "1.0", "yes"}
    falsy = {str(spec.false_value).lower(), "false", "0", "0.0", "no"}
    values = np.full(len(text), None, dtype=object)
    values[text.isin(falsy).to_numpy()] = False
    values[text.isin(truthy).to_numpy()] = True  # truthy first, as before: "1" is true even where false_value is "1"
    out = pd.Series(values, index=s.index, dtype=object)
    return out.where(s.notna(), None)


def to_numbers(s: pd.Series, spec: ColumnSpec) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        x = s.astype(float)
    else:
        text = s.astype(str).str.strip().where(s.notna())
        if spec.missing_tokens:
            text = text.where(~text.isin(spec.missing_tokens))
        if spec.prefix:
            text = text.str.removeprefix(spec.prefix).str.strip()
        if spec.suffix:
            text = text.str.removesuffix(spec.suffix).str.strip()
        if spec.thousands:
            text = text.str.replace(spec.thousands, "", regex=False)
        if spec.decimal_comma:
            text = text.str.replace(",", ".", regex=False)
        x = pd.to_numeric(text, errors="coerce").astype(float)
    return x.where(np.isfinite(x))


def to_datetimes(s: pd.Series, spec: ColumnSpec) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fmt = spec.datetime_format or None
        if fmt and fmt.startswith("mixed"):
            return pd.to_datetime(s.astype(str).str.strip().where(s.notna()), format="mixed",
                                  dayfirst=fmt == "mixed-dayfirst", errors="coerce")
        return pd.to_datetime(s.astype(str).str.strip().where(s.notna()), format=fmt, errors="coerce")


def prepare(df: pd.DataFrame, schema: list[ColumnSpec]) -> pd.DataFrame:
    """The typed frame models and metrics see: numbers as floats, booleans, datetimes, categories as text;
    ids, free text and personal data are left out (they are not modelled)."""
    out = {}
    for c in schema:
        if c.kind in NOT_SYNTHESISED or c.name not in df.columns:
            continue
        s = df[c.name]
        if c.kind == "numerical":
            out[c.name] = to_numbers(s, c)
        elif c.kind == "datetime":
            out[c.name] = to_datetimes(s, c)
        elif c.kind == "boolean":
            out[c.name] = to_boolean(s, c)
        else:
            out[c.name] = category_text(s, numeric=c.dtype.startswith(("int", "Int", "float", "uint")))
    return pd.DataFrame(out, index=df.index)


def category_text(s: pd.Series, numeric: bool = False) -> pd.Series:
    """Categories as text (1.0 written as 1), missing as None. `numeric`: the column's codes are numbers, so the
    text "1.0" (a code written as a CSV writes it) is the code 1 as well."""
    def text(v):
        if numeric and isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                return v.strip()
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    return pd.Series([None if pd.isna(v) else text(v) for v in s], index=s.index, dtype=object)


def sdv_metadata(schema: list[ColumnSpec], table: str = "table", columns=None, model: bool = False):
    """SDV metadata of the typed frame (`columns`: only these, e.g. with the codec's extra columns). With
    `model`, discrete numerical columns are ordinal with their levels in order (SDV's Gaussian copula then
    keeps their exact frequencies and their rank correlations); for scoring they stay numerical."""
    from sdv.metadata import Metadata

    meta: dict[str, dict[str, Any]] = {}
    by_name = {c.name: c for c in schema}
    for c in ([by_name[n] for n in columns if n in by_name] if columns is not None else schema):
        if c.kind in NOT_SYNTHESISED:
            continue
        if c.kind == "datetime":
            meta[c.name] = {"sdtype": "datetime"}
        elif model and c.kind == "numerical" and c.levels:
            meta[c.name] = {"sdtype": "ordinal", "range_values": list(c.levels)}
        else:
            meta[c.name] = {"sdtype": c.kind}
    return Metadata.load_from_dict({"tables": {table: {"columns": meta}}, "METADATA_SPEC_VERSION": "V1"})


def schema_to_dicts(schema: list[ColumnSpec]) -> list[dict]:
    return [{k: _plain(v) for k, v in asdict(c).items()} for c in schema]


def schema_from_dicts(rows: list[dict]) -> list[ColumnSpec]:
    known = set(ColumnSpec.__dataclass_fields__)
    return [ColumnSpec(**{k: v for k, v in r.items() if k in known}) for r in rows]


def column_plan(schema: list[ColumnSpec]) -> list[dict[str, str]]:
    """What happens to each column, in words: every column left out or not modelled is named with why."""
    plan = []
    for c in schema:
        if c.kind == "id":
            what = "new ids written (not synthesised)"
        elif c.kind == "text":
            what = ("written by a byte language model trained on this column, conditioned on the row"
                    if c.text_model else f"left out: {c.text_note or 'free text is not synthesised'}")
        elif c.kind == "pii":
            what = (f"left out: personal data ({c.pii})" if c.pii_action == "drop"
                    else f"replaced by fake {c.pii.replace('_', ' ')}s (personal data is never copied)")
        else:
            what = f"synthesised as {c.kind}"
        plan.append({"column": c.name, "kind": c.kind, "what": what, "why": c.note})
    return plan
