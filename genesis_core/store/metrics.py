"""The one metrics store of a run: SQLite with a scalar table and an events table.

Writers batch rows and commit every `flush_every` rows or every `flush_seconds` (and on `flush()`), so
logging stays off the hot path and readers follow a running job within seconds. Readers open the same file (WAL
mode) while a job writes it, and keep what they read until a writer commits again (`_ReadCache`): a page that
reruns over a hundred finished runs reads each of them once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scalars (step INTEGER NOT NULL, wall REAL NOT NULL, key TEXT NOT NULL,
                                    value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (step INTEGER NOT NULL, wall REAL NOT NULL, kind TEXT NOT NULL,
                                   message TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}');
"""
# Every read of a series seeks by key and walks its steps. A file written since the runs comparison holds a
# covering index, so those walks never touch the table (a 10,000-point series is bucketed twice as fast); a file
# written before keeps its (key, step) index and is read the same way, a little slower.
_OLD_INDEX = "CREATE INDEX IF NOT EXISTS scalars_key_step ON scalars (key, step)"
_INDEX = "CREATE INDEX IF NOT EXISTS scalars_key_step_value ON scalars (key, step, value, wall)"


def connect(path: str | Path, timeout: float = 30.0) -> sqlite3.Connection:
    """A SQLite connection in WAL mode that waits (not fails) while another process writes."""
    conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    return conn


class MetricsWriter:
    """Buffers rows and commits every `flush_every` rows or `flush_seconds` seconds, whichever comes first,
    so a page following a running job is never more than a few seconds behind."""

    def __init__(self, path: str | Path, flush_every: int = 200, flush_seconds: float = 2.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect(self.path)
        self._conn.executescript(_SCHEMA)
        indexes = {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        self._conn.execute(_OLD_INDEX if "scalars_key_step" in indexes else _INDEX)
        self._pending: list[tuple[int, float, str, float]] = []
        self.flush_every = flush_every
        self.flush_seconds = flush_seconds
        self._flushed_at = time.monotonic()

    def log_scalars(self, step: int, values: dict[str, float], wall: float | None = None) -> None:
        wall = time.time() if wall is None else wall
        self._pending.extend((int(step), wall, k, float(v)) for k, v in values.items())
        if len(self._pending) >= self.flush_every or time.monotonic() - self._flushed_at >= self.flush_seconds:
            self.flush()

    def log_event(self, step: int, kind: str, message: str, **data: Any) -> None:
        self.flush()
        self._conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
            (int(step), time.time(), kind, message, json.dumps(data)),
        )

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after `step` (a resumed run rewrites them from its checkpoint)."""
        self.flush()
        self._conn.execute("DELETE FROM scalars WHERE step > ?", (int(step),))
        self._conn.execute("DELETE FROM events WHERE step > ? AND kind != 'resume'", (int(step),))

    def flush(self) -> None:
        if self._pending:
            with self._conn:
                self._conn.execute("BEGIN")
                self._conn.executemany("INSERT INTO scalars VALUES (?, ?, ?, ?)", self._pending)
            self._pending.clear()
        self._flushed_at = time.monotonic()

    def close(self) -> None:
        self.flush()
        self._conn.close()


_LONG = ("step", "wall", "key", "value")


class _Connections:
    """One read-only connection per metrics file, kept open so that SQLite itself says whether a writer has
    committed since the last read: `PRAGMA data_version` changes exactly when another connection commits (a size
    or time of the file and its log does not: a log that restarts from its beginning can end at the same size
    within the same tick of the clock). A file replaced by another gets a new connection. At most `limit` kept,
    least recently used dropped first (closed once no read holds it); each has its own lock (reads of different
    files run at once). While one is open, a writer that closes is not the file's last connection, so SQLite leaves its write-ahead log
    (`metrics.db-wal`) beside the file instead of folding it in: the rows are safe there and every SQLite reader
    sees them; a copy of a run folder takes the log with it."""

    def __init__(self, limit: int = 256):
        self.limit, self._opened = limit, 0
        self._open: OrderedDict[str, tuple[tuple[int, int, int], int, sqlite3.Connection, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path) -> tuple[int, sqlite3.Connection, threading.Lock] | None:
        """(this connection's number, connection, its lock); None when the file is not there."""
        try:
            st = path.stat()
        except OSError:
            return None
        # the file's identity; its change time too, since a deleted file's inode number is soon reused (a checkpoint
        # also changes it, which costs one new connection)
        inode, key = (st.st_dev, st.st_ino, st.st_ctime_ns), str(path)
        with self._lock:
            kept = self._open.get(key)
            if kept is not None and kept[0] == inode:
                self._open.move_to_end(key)
                return kept[1], kept[2], kept[3]
            if kept is not None:  # closed when no read holds it any more
                del self._open[key]
            try:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, check_same_thread=False)
            except sqlite3.Error:
                return None
            self._opened += 1
            self._open[key] = (inode, self._opened, conn, threading.Lock())
            while len(self._open) > self.limit:
                self._open.popitem(last=False)
            return self._opened, conn, self._open[key][3]


_CONNECTIONS = _Connections()


class _ReadCache:
    """The frame of each (file, query), with the file's signature when it was read: served while the signature is
    the same, replaced when a writer has committed since (so a running job's file holds one frame per query, never a
    trail of stale ones). LRU, at most `max_rows` rows in all (an empty frame counts as one). Callers get a copy,
    so a frame they change is never the one kept."""

    def __init__(self, max_rows: int = 2_000_000):
        self.max_rows, self.rows = max_rows, 0
        self._frames: OrderedDict[tuple, tuple[tuple, pd.DataFrame]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, sig: tuple) -> pd.DataFrame | None:
        with self._lock:
            kept = self._frames.get(key)
            if kept is None or kept[0] != sig:
                return None
            self._frames.move_to_end(key)
        return kept[1].copy()

    def put(self, key: tuple, sig: tuple, frame: pd.DataFrame) -> None:
        size = len(frame) + 1
        with self._lock:
            old = self._frames.pop(key, None)
            if old is not None:
                self.rows -= len(old[1]) + 1
            if size > self.max_rows:
                return
            self._frames[key] = (sig, frame.copy())
            self.rows += size
            while self.rows > self.max_rows:
                _, (_, dropped) = self._frames.popitem(last=False)
                self.rows -= len(dropped) + 1


_CACHE = _ReadCache()


class MetricsReader:
    """Read-only views of a run's metrics as pandas frames."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _query(self, sql: str, params: Iterable[Any] = (), columns: tuple[str, ...] = ()) -> pd.DataFrame:
        """Rows as a frame; an empty frame with `columns` when the file or table is not there yet."""
        opened = _CONNECTIONS.get(self.path)
        if opened is None:
            return pd.DataFrame(columns=list(columns))
        number, conn, lock = opened
        params = list(params)
        key = (str(self.path), sql, tuple(params))
        with lock:
            try:
                # what changes when another connection commits; with the connection's number, a file replaced
                # (a new connection) never matches a frame read from the old one
                sig = (number, conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                return pd.DataFrame(columns=list(columns))
            cached = _CACHE.get(key, sig)
            if cached is not None:
                return cached
            try:
                frame = pd.read_sql_query(sql, conn, params=params)
            except (sqlite3.Error, pd.errors.DatabaseError):
                return pd.DataFrame(columns=list(columns))
        _CACHE.put(key, sig, frame)
        return frame.copy()

    # the distinct keys by seeking through the (key, step) index, one seek per key (a million-step run has
    # ten million rows; DISTINCT would read them all)
    _KEYS = ("WITH RECURSIVE k(key) AS (SELECT MIN(key) FROM scalars UNION ALL "
             "SELECT (SELECT MIN(key) FROM scalars WHERE key > k.key) FROM k WHERE k.key IS NOT NULL) ")

    def keys(self) -> list[str]:
        df = self._query(self._KEYS + "SELECT key FROM k WHERE key IS NOT NULL ORDER BY key", columns=("key",))
        return df["key"].tolist() if not df.empty else []

    def scalars(self, keys: Iterable[str] | None = None) -> pd.DataFrame:
        """Long frame: step, wall, key, value."""
        keys = list(keys) if keys is not None else None
        if keys:
            marks = ",".join("?" * len(keys))
            return self._query(
                f"SELECT step, wall, key, value FROM scalars WHERE key IN ({marks}) ORDER BY step", keys, _LONG
            )
        return self._query("SELECT step, wall, key, value FROM scalars ORDER BY step", columns=_LONG)

    def step_range(self, key: str) -> tuple[int, int, int]:
        """(first step, last step, rows) of `key`, from the (key, step) index."""
        df = self._query("SELECT MIN(step) lo, MAX(step) hi, COUNT(*) n FROM scalars WHERE key = ?", [key],
                         ("lo", "hi", "n"))
        if df.empty or pd.isna(df["lo"].iloc[0]):
            return 0, 0, 0
        return int(df["lo"].iloc[0]), int(df["hi"].iloc[0]), int(df["n"].iloc[0])

    def bucketed(self, keys: Iterable[str], buckets: int, lo: int, hi: int,
                 extremes: Iterable[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Buckets of consecutive steps, aggregated inside SQLite so that a million-step run reads as `buckets`
        rows per key: (last: bucket, step, wall, key, value at the bucket's last step logged for the first key;
        low_high: bucket, key, vmin, vmax of the keys in `extremes`)."""
        keys, extremes = list(keys), list(extremes)
        width = max(1, -(-(hi - lo + 1) // buckets))
        # each bucket's last logged step, from the first key's stretch of the (key, step) index; then every key
        # at those steps by index lookups, so the other keys' rows are never scanned
        ends = self._query("SELECT (step - ?) / ? AS bucket, MAX(step) AS step FROM scalars WHERE key = ? "
                           "GROUP BY bucket", [lo, width, keys[0]], ("bucket", "step"))
        columns = ("bucket", "step", "wall", "key", "value")
        if ends.empty:
            last = pd.DataFrame(columns=list(columns))
        else:
            steps = [int(v) for v in ends["step"]]
            last = pd.concat([self._query(
                f"SELECT step, wall, key, value FROM scalars WHERE key IN ({','.join('?' * len(keys))}) AND step IN "
                f"({','.join('?' * len(chunk))})", [*keys, *chunk], columns[1:])
                for chunk in (steps[i:i + 5000] for i in range(0, len(steps), 5000))], ignore_index=True)
            last["bucket"] = (last["step"] - lo) // width
        marks = ",".join("?" * len(extremes))
        low_high = self._query(f"SELECT (step - ?) / ? AS bucket, key, MIN(value) AS vmin, MAX(value) AS vmax "
                               f"FROM scalars WHERE key IN ({marks}) GROUP BY key, bucket", [lo, width, *extremes],
                               ("bucket", "key", "vmin", "vmax")) if extremes else pd.DataFrame(
            columns=["bucket", "key", "vmin", "vmax"])
        return last, low_high

    def bucket_means(self, key: str, buckets: int, lo: int, hi: int) -> pd.DataFrame:
        """`key` in at most `buckets` buckets of consecutive steps, aggregated inside SQLite over the (key, step)
        index: (bucket, rows, mean, step, wall, value), the last three of the bucket's last logged row."""
        width = max(1, -(-(hi - lo + 1) // max(buckets, 1)))
        return self._query(
            "SELECT b.bucket, b.rows, b.mean, s.step, s.wall, s.value FROM (SELECT (step - ?) / ? AS bucket, "
            "COUNT(*) AS rows, AVG(value) AS mean, MAX(step) AS last FROM scalars WHERE key = ? GROUP BY bucket) b "
            "JOIN scalars s ON s.key = ? AND s.step = b.last ORDER BY b.bucket",
            [lo, width, key, key], ("bucket", "rows", "mean", "step", "wall", "value"))

    def at_or_before(self, key: str, steps: Iterable[int]) -> pd.DataFrame:
        """(asked, step, wall, value): the last row of `key` logged at or before each asked step (index seeks)."""
        rows = []
        for asked in sorted(set(int(s) for s in steps)):
            df = self._query("SELECT step, wall, value FROM scalars WHERE key = ? AND step <= ? ORDER BY step DESC "
                             "LIMIT 1", [key, asked], ("step", "wall", "value"))
            if not df.empty:
                rows.append({"asked": asked, **df.iloc[0].to_dict()})
        return pd.DataFrame(rows, columns=["asked", "step", "wall", "value"])

    def first_wall(self) -> float | None:
        df = self._query("SELECT MIN(wall) w FROM scalars", columns=("w",))
        return None if df.empty or pd.isna(df["w"].iloc[0]) else float(df["w"].iloc[0])

    def series(self, key: str) -> pd.DataFrame:
        return self._query("SELECT step, wall, value FROM scalars WHERE key = ? ORDER BY step", [key],
                           ("step", "wall", "value"))

    def sparkline(self, key: str, points: int = 60) -> list[float]:
        """At most `points` evenly spaced values of `key`, ending with the newest (for small charts)."""
        values = self.series(key)["value"].tolist()
        return values[::max(1, len(values) // points)][-points:]

    def latest(self) -> dict[str, float]:
        df = self._query(self._KEYS + "SELECT key, (SELECT value FROM scalars s WHERE s.key = k.key ORDER BY step "
                                      "DESC LIMIT 1) AS value FROM k WHERE key IS NOT NULL", columns=("key", "value"))
        return dict(zip(df["key"], df["value"])) if not df.empty else {}

    def events(self) -> pd.DataFrame:
        df = self._query("SELECT step, wall, kind, message, data FROM events ORDER BY wall",
                         columns=("step", "wall", "kind", "message", "data"))
        if not df.empty:
            df["data"] = df["data"].map(json.loads)
        return df
