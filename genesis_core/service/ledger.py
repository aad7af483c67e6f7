"""What the service remembers beyond the job queue: which token submitted which synthesis (to bound the jobs a
token has in flight) and each `Idempotency-Key`'s answer (a retried POST gets the first answer, not a second
job). One SQLite file in the workspace, `service.db`, shared by every server process."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing, contextmanager
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    job TEXT PRIMARY KEY,
    synthesis TEXT NOT NULL,
    token TEXT NOT NULL,
    idempotency_key TEXT,
    body_sha256 TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS submissions_key ON submissions (token, idempotency_key);
"""


class Ledger:
    def __init__(self, path: Path):
        self.path = Path(path)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self):
        """A connection in autocommit mode, closed when done (sqlite3's own context manager only commits)."""
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            yield db

    def answer_for(self, token: str, key: str) -> tuple[str, str, str] | None:
        """(job, synthesis, body sha256) recorded for a token's idempotency key."""
        with self._connect() as db:
            row = db.execute("SELECT job, synthesis, body_sha256 FROM submissions WHERE token = ? AND "
                             "idempotency_key = ?", (token, key)).fetchone()
        return tuple(row) if row else None

    def record(self, token: str, job: str, synthesis: str, key: str | None, body_sha256: str) -> bool:
        """False when the idempotency key was recorded meanwhile (a concurrent retry won)."""
        try:
            with self._connect() as db:
                db.execute("INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?)",
                           (job, synthesis, token, key, body_sha256, time.time()))
            return True
        except sqlite3.IntegrityError:
            return False

    def jobs_of(self, token: str) -> list[str]:
        with self._connect() as db:
            return [r[0] for r in db.execute("SELECT job FROM submissions WHERE token = ?", (token,))]
