"""What the service remembers beyond the job queue: which jobs the API started (to bound how many it has in
flight) and each `Idempotency-Key`'s answer (a retried POST gets the first answer, not a second job).

One SQLite file in the workspace, `service.db`, shared by every server process on that workspace. A submission
runs inside one `BEGIN IMMEDIATE` transaction (`Ledger.exclusive`): the key is looked up, the jobs in flight
are counted and the job is started while no other process can do the same, and the key's row is unique, so two
servers given one key start one job. Keys belong to the workspace, not to a token: a token rotation forgets
none, and a key replays only the very body it was first sent with.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_submissions (
    job TEXT PRIMARY KEY,
    synthesis TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    body_sha256 TEXT NOT NULL,
    created REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Answer:
    job: str
    synthesis: str
    body_sha256: str


class LedgerTransaction:
    """The ledger as seen inside one exclusive transaction."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def answer_for(self, key: str) -> Answer | None:
        row = self.db.execute("SELECT job, synthesis, body_sha256 FROM api_submissions WHERE idempotency_key = ?",
                              (key,)).fetchone()
        return Answer(*row) if row else None

    def jobs(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT job FROM api_submissions")]

    def record(self, job: str, synthesis: str, key: str | None, body_sha256: str) -> None:
        """Record a started job; a key that named an earlier (failed) job names this one from now on."""
        if key:
            self.db.execute("UPDATE api_submissions SET idempotency_key = NULL WHERE idempotency_key = ?", (key,))
        self.db.execute("INSERT INTO api_submissions VALUES (?, ?, ?, ?, ?)",
                        (job, synthesis, key or None, body_sha256, time.time()))


class Ledger:
    def __init__(self, path: Path):
        self.path = Path(path)
        with self._connect() as db:
            db.executescript(_SCHEMA)
            self._migrate(db)

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """Rows of the first ledger (keys per token) carried over once; a key two tokens shared keeps its first."""
        old = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'submissions'").fetchone()
        if old:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT OR IGNORE INTO api_submissions SELECT job, synthesis, idempotency_key, body_sha256, "
                       "created FROM submissions ORDER BY created")
            db.execute("DROP TABLE submissions")
            db.execute("COMMIT")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode, closed when done (sqlite3's own context manager only commits)."""
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            yield db

    @contextmanager
    def exclusive(self) -> Iterator[LedgerTransaction]:
        """One write transaction across every process on this workspace: committed when the block ends, rolled
        back when it raises."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield LedgerTransaction(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
