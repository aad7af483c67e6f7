"""Reading a user's table: CSV (delimiter, encoding and header detected) or Parquet, with limits and one
clear sentence for every way a file can be unusable. Nothing is written until a table is known to be good,
and nothing is dropped or changed without a warning naming it."""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genesis_core.errors import WorkbenchError

MAX_BYTES = 200 * 2**20
MAX_COLUMNS = 500
MIN_ROWS = 5  # fewer rows than this cannot be fit (or split) meaningfully
PREFERRED_ENCODINGS = ["cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "mac_roman", "cp437", "cp850"]

_SIGNATURES = (  # (prefix, what the file is): files that are surely not a CSV
    (b"PK\x03\x04", "a zip archive or an Excel/OpenDocument workbook; save the sheet as CSV"),
    (b"%PDF", "a PDF document, not a table"),
    (b"\x1f\x8b", "gzip-compressed; decompress it first"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (xls) workbook; save the sheet as CSV"),
    (b"SQLite format 3", "an SQLite database, not a CSV table"),
)
_TOKENIZE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


class TableError(WorkbenchError, ValueError):
    """A file that is not a usable table; the message is one sentence for the user."""


@dataclass
class TableInfo:
    rows: int
    columns: int
    delimiter: str = ""
    encoding: str = ""
    format: str = "csv"
    warnings: list[str] = field(default_factory=list)
    bom: bool = False  # the file started with a UTF-8 byte-order mark: written back with one
    line_terminator: str = "\n"  # "\r\n" for a file with Windows line endings
    blank_headers: list[str] = field(default_factory=list)  # columns named here that have no name in the file
    number_formats: dict[str, dict] = field(default_factory=dict)  # how numbers are written (see _number_formats)

    def write_options(self) -> dict:
        """What writing a table back as this one was written needs (JSON: stored in a run's report meta, which
        `write_options_of` reads back)."""
        return {"delimiter": self.delimiter or ",", "bom": self.bom, "line_terminator": self.line_terminator,
                "blank_headers": list(self.blank_headers)}


WRITE_OPTIONS = ("delimiter", "bom", "line_terminator", "blank_headers")


def write_options_of(meta: dict) -> dict:
    """The write options a report's meta holds (older reports: the delimiter alone)."""
    return {k: meta[k] for k in WRITE_OPTIONS if k in meta}


def read_written_table(path: str | Path, meta: dict) -> pd.DataFrame:
    """A CSV the workbench wrote with `table_text`, read back with the column names it has inside the workbench
    (`meta`: a run's report meta, which holds its write options)."""
    frame = pd.read_csv(path, sep=meta.get("delimiter", ","), encoding="utf-8-sig")
    blank = list(meta.get("blank_headers") or [])
    if blank:
        unnamed = [c for c in frame.columns if str(c).startswith("Unnamed: ")]
        frame = frame.rename(columns=dict(zip(unnamed, blank)))
    return frame


def table_text(frame: pd.DataFrame, delimiter: str = ",", bom: bool = False, line_terminator: str = "\n",
               blank_headers=()) -> str:
    """A frame as CSV text written like its input: the delimiter, line endings and byte-order mark it had, and
    the columns that had no name in its header written without one again."""
    if blank_headers:
        frame = frame.rename(columns={c: "" for c in blank_headers if c in frame.columns})
    text = frame.to_csv(index=False, sep=delimiter or ",", lineterminator=line_terminator)
    return ("\ufeff" if bom else "") + text


def _refuse_non_tables(raw: bytes) -> None:
    for prefix, what in _SIGNATURES:
        if raw.startswith(prefix):
            raise TableError(f"this looks like {what}.")


def _decode(raw: bytes) -> tuple[str, str]:
    for bom, enc in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(enc), enc
            except UnicodeDecodeError as exc:
                raise TableError("the file starts like UTF-16 text but does not decode as UTF-16.") from exc
    if b"\x00" in raw[:65536]:
        raise TableError("the file looks binary (it contains NUL bytes), not like a CSV table.")
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw[:1_000_000]))
    best = min(matches, key=lambda m: m.chaos) if matches else None
    if best is not None:  # among equally clean decodings, the code pages spreadsheets write most often
        tied = [m for m in matches if m.chaos <= best.chaos + 0.01]
        best = min(tied, key=lambda m: PREFERRED_ENCODINGS.index(m.encoding)
                   if m.encoding in PREFERRED_ENCODINGS else len(PREFERRED_ENCODINGS))
    if best is None or best.encoding is None:
        raise TableError("the file is not text in any encoding we could recognise.")
    try:
        return raw.decode(best.encoding), best.encoding
    except (UnicodeDecodeError, LookupError) as exc:
        raise TableError("the file is not text in any encoding we could recognise.") from exc


def _refuse_markup(text: str) -> None:
    head = text.lstrip()[:512].lower()
    html_tags = ("<html", "<table", "<tr", "<td", "<div", "<body", "<head", "<p>", "<span")
    if head.startswith(("<!doctype html", "<html")) or (head.startswith("<") and any(tag in head for tag in html_tags)):
        raise TableError("this looks like HTML (a web page), not CSV; download the table itself, or save it as CSV.")
    if head.startswith("<?xml") or head.startswith("<"):
        raise TableError("this looks like XML or markup, not CSV.")
    if head.startswith(("{", "[")):
        import json

        try:
            json.loads(text)
        except ValueError:
            if head.startswith("{"):
                raise TableError("this looks like JSON, not CSV (it starts with '{').") from None
        else:
            raise TableError("this looks like JSON, not CSV; export the records as CSV.")


def _sniff(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample.splitlines() else ""
        counts = {d: first.count(d) for d in ",;\t|"}
        return max(counts, key=lambda d: counts[d]) if max(counts.values()) > 0 else ","


def _is_number(cell: str) -> bool:
    try:
        float(cell.strip().replace(",", "."))
        return True
    except ValueError:
        return False


def _header_is_data(text: str, delimiter: str) -> bool:
    """True when the first row looks like a data row: no cell of it is a name (each is a number, or empty),
    while the rows below have numbers in the same places."""
    rows = list(zip(range(6), csv.reader(io.StringIO(text[:65536]), delimiter=delimiter)))
    if len(rows) < 2:
        return False
    header = [c.strip() for c in rows[0][1]]
    if len(header) < 1 or not any(header):
        return False
    numeric_header = [_is_number(c) for c in header if c]
    return all(numeric_header) and len(numeric_header) == len([c for c in header if c])


def _parse_error(exc: Exception) -> TableError:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    m = _TOKENIZE.search(message)
    if m:
        expected, line, saw = m.groups()
        return TableError(f"line {line} has {saw} fields where the header has {expected}; check the delimiter and "
                          "the quotes on that line.")
    if "EOF inside string" in message or "EOF" in message and "quote" in message.lower():
        return TableError("a quoted value is never closed (a missing \" somewhere); the file cannot be split into rows.")
    return TableError(f"the CSV could not be parsed: {message}")


def _overflows(s: pd.Series) -> bool:
    """Some value is a number written in a way no float can hold (1e400)."""
    text = s.dropna().astype(str).str.strip()
    exp = text[text.str.match(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")]
    return any(np.isinf(float(v)) for v in exp)


def _as_written(df: pd.DataFrame, text: str, delimiter: str, header, info: TableInfo) -> pd.DataFrame:
    """Columns pandas would change are read again as the text they are: true/false words (TRUE, yes) keep
    their spelling, and numbers beyond float range (read as ±inf) stay text, with a warning."""
    huge = [c for c in df.columns if pd.api.types.is_float_dtype(df[c]) and np.isinf(df[c].to_numpy()).any()]
    as_text = [c for c in df.columns if df[c].dtype == object and _overflows(df[c])]  # pandas kept them as text
    if huge or as_text:
        info.warnings.append(f"{', '.join(map(str, huge + as_text))}: numbers beyond the range of a float (e.g. "
                             "1e400); kept as text, never written as infinity.")
    again = huge + [c for c in df.columns if pd.api.types.is_bool_dtype(df[c])]
    if not again:
        return df
    raw = pd.read_csv(io.StringIO(text), sep=delimiter, skipinitialspace=True, dtype=str, header=header,
                      usecols=lambda c: c in set(again) or str(c) in set(map(str, again)))
    for c in again:
        written = (raw[c] if c in raw else raw[str(c)]).str.strip()
        if c in huge or not set(written.dropna()) <= {"True", "False"}:  # Python's own spelling stays bool
            df[c] = written
    return df


_SCI = re.compile(r"^[+-]?(\d+)(?:\.(\d+))?[eE]([+-]?\d+)$")
_FIXED = re.compile(r"^[+-]?\d*\.(\d*)$")
_NEG_ZERO = re.compile(r"^-0*(\.0*)?([eE][+-]?\d+)?$")


def _number_formats(df: pd.DataFrame, text: str, delimiter: str, header) -> dict[str, dict]:
    """How the numbers pandas read as floats were written, where writing the floats back would change them:
    whole numbers written with a point (`0.0`: `places`), numbers in scientific notation on a grid (`61e3`:
    `exponent`, `places` of the mantissa, `step` 1000), and the share of zeros written as `-0.0`."""
    floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c]) and df[c].notna().any()
              and np.isfinite(df[c].dropna().to_numpy()).all()]
    if not floats:
        return {}
    positions = [list(df.columns).index(c) for c in floats]  # by position: the names may be pandas' own
    raw = pd.read_csv(io.StringIO(text), sep=delimiter, skipinitialspace=True, dtype=str, header=header,
                      usecols=positions)
    raw.columns = floats
    out: dict[str, dict] = {}
    for c in floats:
        cells = raw[c].dropna().str.strip()
        values = df[c].dropna().to_numpy()
        fmt: dict = {}
        if len(cells) and np.all(values == np.round(values)):
            sci = cells.str.extract(_SCI)
            if sci[2].notna().all():
                exps = sci[2].astype(int)
                places = sci[1].fillna("").str.len()
                step = 10.0 ** int((exps - places).min())
                fmt.update({"exponent": int(exps.mode().iloc[0]), "places": int(places.max())})
                if step > 1:
                    fmt["step"] = step
            else:
                fixed = cells.str.extract(_FIXED)[0]
                if fixed.notna().any():
                    fmt["places"] = int(fixed.dropna().str.len().max())
        elif len(cells):  # "0.40", "1.25": every value with the same places keeps its trailing zeros
            fixed = cells.str.extract(_FIXED)[0]
            if fixed.notna().all() and fixed.str.len().nunique() == 1:
                fmt["places"] = int(fixed.str.len().iloc[0])
        zeros = int((values == 0).sum())
        negative = int(cells.str.match(_NEG_ZERO).sum())
        if zeros and negative:
            fmt["negative_zero"] = round(negative / zeros, 6)
        if fmt:
            out[str(c)] = fmt
    return out


def _name_blank_headers(df: pd.DataFrame, names: list[str], info: TableInfo) -> pd.DataFrame:
    """Columns with no name in the header (pandas calls them 'Unnamed: 3') are called column_4 here, with a
    warning, and are written back with no name."""
    renames = {}
    taken = set(map(str, df.columns))
    for i, name in enumerate(names[:df.shape[1]]):
        if name == "":
            new = f"column_{i + 1}"
            while new in taken:
                new += "_"
            renames[df.columns[i]] = new
            taken.add(new)
    if not renames:
        return df
    info.blank_headers = list(renames.values())
    info.number_formats = {renames.get(k, k): v for k, v in info.number_formats.items()}
    info.warnings.append(f"{len(renames)} column(s) have no name in the header ({', '.join(renames.values())} here); "
                         "they are written back with no name.")
    return df.rename(columns=renames)


def read_table(source: str | Path | bytes, name: str = "", max_bytes: int = MAX_BYTES,
               max_columns: int = MAX_COLUMNS) -> tuple[pd.DataFrame, TableInfo]:
    """A CSV or Parquet file (path or bytes) -> (frame, info). Raises TableError with one sentence."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise TableError(f"{path} does not exist.")
        if path.stat().st_size > max_bytes:
            raise TableError(f"the file is {path.stat().st_size / 2**20:.0f} MiB; the limit is {max_bytes / 2**20:.0f} MiB.")
        raw, name = path.read_bytes(), name or path.name
    else:
        raw = source
        if len(raw) > max_bytes:
            raise TableError(f"the file is {len(raw) / 2**20:.0f} MiB; the limit is {max_bytes / 2**20:.0f} MiB.")
    if not raw.strip():
        raise TableError("the file is empty.")
    if raw[:4] == b"PAR1" or name.lower().endswith(".parquet"):
        try:
            df = pd.read_parquet(io.BytesIO(raw))
        except Exception as exc:
            raise TableError("the file is not a readable Parquet table.") from exc
        info = TableInfo(len(df), df.shape[1], format="parquet")
    else:
        _refuse_non_tables(raw)
        text, encoding = _decode(raw)
        _refuse_markup(text)
        delimiter = _sniff(text)
        info = TableInfo(0, 0, delimiter, encoding)
        header: int | None = 0
        if _header_is_data(text, delimiter):
            header = None
        else:
            names = [h.strip() for h in next(csv.reader(io.StringIO(text), delimiter=delimiter), [])]
            dupes = sorted({n for n in names if n and names.count(n) > 1})
            if dupes:
                raise TableError(f"the header names {', '.join(repr(d) for d in dupes)} more than once; column names "
                                 "must be unique.")
            if len(names) > max_columns:
                raise TableError(f"the table has {len(names)} columns; the limit is {max_columns}.")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = pd.read_csv(io.StringIO(text), sep=delimiter, skipinitialspace=True, low_memory=False,
                                 header=header)
        except (pd.errors.ParserError, ValueError, csv.Error) as exc:
            raise _parse_error(exc) from exc
        if header is None:
            df.columns = [f"column_{i + 1}" for i in range(df.shape[1])]
            info.warnings.append(f"the first row looks like data, not a header: it is kept as a row and the columns "
                                 f"are named column_1 … column_{df.shape[1]}.")
        df = _as_written(df, text, delimiter, header, info)
        info.number_formats = _number_formats(df, text, delimiter, header)
        info.bom = raw.startswith(codecs.BOM_UTF8)
        first_end = text.find("\n")
        info.line_terminator = "\r\n" if first_end > 0 and text[first_end - 1] == "\r" else "\n"
        if header is not None:
            df = _name_blank_headers(df, names, info)
    if df.shape[1] > max_columns:
        raise TableError(f"the table has {df.shape[1]} columns; the limit is {max_columns}.")
    if len(df) == 0:
        raise TableError("the file has a header but no rows.")
    if len(df) < MIN_ROWS:
        raise TableError(f"the table has {len(df)} row{'s' if len(df) != 1 else ''}; synthesis needs at least "
                         f"{MIN_ROWS} (and many more to be useful).")
    empty = [c for c in df.columns if df[c].isna().all()]
    if empty:
        df = df.drop(columns=empty)
        info.warnings.append(f"dropped {len(empty)} all-empty column(s): {', '.join(map(str, empty))}.")
    if df.shape[1] == 0:
        raise TableError("every column is empty.")
    df.columns = [str(c) for c in df.columns]
    info.rows, info.columns = len(df), df.shape[1]
    return df, info
