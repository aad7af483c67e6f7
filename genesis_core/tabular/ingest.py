"""Reading a user's table: CSV (delimiter and encoding detected) or Parquet, with limits and one clear
sentence for every way a file can be unusable. Nothing is written until a table is known to be good."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

MAX_BYTES = 200 * 2**20
MAX_COLUMNS = 500


class TableError(ValueError):
    """A file that is not a usable table; the message is one sentence for the user."""


@dataclass
class TableInfo:
    rows: int
    columns: int
    delimiter: str = ""
    encoding: str = ""
    format: str = "csv"
    warnings: list[str] = field(default_factory=list)


def _decode(raw: bytes) -> tuple[str, str]:
    if b"\x00" in raw[:65536]:
        raise TableError("the file looks binary (it contains NUL bytes), not like a CSV table.")
    for enc in ("utf-8-sig",):
        try:
            return raw.decode(enc), "utf-8"
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:1_000_000]).best()
    if best is None or best.encoding is None:
        raise TableError("the file is not text in any encoding we could recognise.")
    try:
        return raw.decode(best.encoding), best.encoding
    except (UnicodeDecodeError, LookupError) as exc:
        raise TableError("the file is not text in any encoding we could recognise.") from exc


def _sniff(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample.splitlines() else ""
        counts = {d: first.count(d) for d in ",;\t|"}
        return max(counts, key=counts.get) if max(counts.values()) > 0 else ","


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
        text, encoding = _decode(raw)
        delimiter = _sniff(text)
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
        names = [h.strip() for h in header]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise TableError(f"the header names {', '.join(repr(d) for d in dupes)} more than once; column names must be unique.")
        if len(names) > max_columns:
            raise TableError(f"the table has {len(names)} columns; the limit is {max_columns}.")
        try:
            df = pd.read_csv(io.StringIO(text), sep=delimiter, skipinitialspace=True, low_memory=False)
        except (pd.errors.ParserError, ValueError) as exc:
            raise TableError(f"the CSV could not be parsed: {str(exc).splitlines()[0]}") from exc
        info = TableInfo(len(df), df.shape[1], delimiter, encoding)
    if df.shape[1] > max_columns:
        raise TableError(f"the table has {df.shape[1]} columns; the limit is {max_columns}.")
    if len(df) == 0:
        raise TableError("the file has a header but no rows.")
    if len(df) < 2:
        raise TableError("the table has one row; synthesis needs at least 2 (and many more to be useful).")
    empty = [c for c in df.columns if df[c].isna().all()]
    if empty:
        df = df.drop(columns=empty)
        info.warnings.append(f"dropped {len(empty)} all-empty column(s): {', '.join(map(str, empty))}.")
    if df.shape[1] == 0:
        raise TableError("every column is empty.")
    df.columns = [str(c) for c in df.columns]
    info.columns = df.shape[1]
    return df, info
