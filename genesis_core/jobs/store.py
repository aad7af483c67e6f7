"""The durable job store: one SQLite table that every process (pages, CLI, workers) reads and writes.

A job's life: queued -> running -> succeeded | failed | cancelled. A failed or cancelled job can be
resumed (same run, from its last checkpoint), which queues it again. Nothing about a job lives in a
page's memory: closing a tab or restarting the app loses nothing.
"""

from __future__ import annotations

import builtins
import json
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from genesis_core.errors import WorkbenchError
from genesis_core.store.metrics import connect

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
TERMINAL = ("succeeded", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    run_id TEXT NOT NULL,
    config TEXT NOT NULL,
    device TEXT NOT NULL,
    nproc INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    heartbeat REAL,
    pid INTEGER,
    pid_started REAL,
    step INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    eta_s REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    resume INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    lane TEXT NOT NULL DEFAULT 'train',
    backend TEXT NOT NULL DEFAULT 'local',
    backend_address TEXT NOT NULL DEFAULT '',
    cancel_at REAL,
    launches INTEGER NOT NULL DEFAULT 0,
    phase TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created);
"""
_MIGRATIONS = {  # columns added later
    "lane": "ALTER TABLE jobs ADD COLUMN lane TEXT NOT NULL DEFAULT 'train'",
    "backend": "ALTER TABLE jobs ADD COLUMN backend TEXT NOT NULL DEFAULT 'local'",
    "backend_address": "ALTER TABLE jobs ADD COLUMN backend_address TEXT NOT NULL DEFAULT ''",
    "cancel_at": "ALTER TABLE jobs ADD COLUMN cancel_at REAL",
    "launches": "ALTER TABLE jobs ADD COLUMN launches INTEGER NOT NULL DEFAULT 0",
    "phase": "ALTER TABLE jobs ADD COLUMN phase TEXT NOT NULL DEFAULT ''",
}


class JobNotFoundError(WorkbenchError, KeyError):
    """No job with that id."""


class JobStateError(WorkbenchError, ValueError):
    """An action that the job's current state does not allow (e.g. resuming a running job)."""


@dataclass(frozen=True)
class Job:
    id: str
    task: str
    name: str
    run_id: str
    config: dict[str, Any]
    device: str
    nproc: int
    status: str
    created: float
    started: float | None
    finished: float | None
    heartbeat: float | None
    pid: int | None
    pid_started: float | None
    step: int
    total: int
    eta_s: float | None
    metrics: dict[str, float]
    error: str | None
    cancel_requested: bool
    resume: bool
    attempts: int
    lane: str = "train"  # train: long training runs; short: jobs that run beside them (synthesis, analyses)
    backend: str = "local"  # where its worker runs (jobs/backends.py)
    backend_address: str = ""  # the Ray cluster's address ("" with ray: the workspace's local instance)
    cancel_at: float | None = None  # when a cancel was asked for (the grace period counts from here)
    launches: int = 0  # times the queue handed it to a backend to start (a launcher that died is retried)
    phase: str = ""  # what it is doing now, in words ("evaluating", "auto: 1/3 candidates done; ..."), "" for steps

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total) if self.total else 0.0

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        d = dict(row)
        d["config"] = json.loads(d["config"])
        d["metrics"] = json.loads(d["metrics"] or "{}")
        d["cancel_requested"] = bool(d["cancel_requested"])
        d["resume"] = bool(d["resume"])
        return cls(**d)


def new_job_id() -> str:
    return f"job-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


class JobStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect(self.path)
        self._conn.row_factory = sqlite3.Row
        self._conn.executescript(_SCHEMA)
        have = {r["name"] for r in self._conn.execute("PRAGMA table_info(jobs)")}
        for column, sql in _MIGRATIONS.items():  # a workspace written by an older version
            if column not in have:
                try:
                    self._conn.execute(sql)
                except sqlite3.OperationalError:  # another process added it first
                    pass

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An exclusive write transaction: the scheduler's decisions never interleave across processes."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # -- reads ----------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        row = self._conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(f"no job {job_id!r}")
        return Job.from_row(row)

    def list(self, status: str | tuple[str, ...] | None = None, limit: int | None = None) -> list[Job]:
        sql = "SELECT * FROM jobs"
        params: builtins.list[str] = []
        if status:
            statuses = (status,) if isinstance(status, str) else tuple(status)
            sql += f" WHERE status IN ({','.join('?' * len(statuses))})"
            params.extend(statuses)
        sql += " ORDER BY created DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [Job.from_row(r) for r in self._conn.execute(sql, params).fetchall()]

    def for_run(self, run_id: str) -> builtins.list[Job]:
        rows = self._conn.execute("SELECT * FROM jobs WHERE run_id = ? ORDER BY created DESC", (run_id,))
        return [Job.from_row(r) for r in rows.fetchall()]

    # -- writes ---------------------------------------------------------------------------------
    def insert(self, task: str, run_id: str, config: dict[str, Any], device: str, nproc: int = 1,
               name: str = "", total: int = 0, lane: str = "train", backend: str = "local",
               backend_address: str = "") -> Job:
        job_id = new_job_id()
        self._conn.execute(
            "INSERT INTO jobs (id, task, name, run_id, config, device, nproc, status, created, total, lane, backend,"
            " backend_address) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
            (job_id, task, name, run_id, json.dumps(config), device, nproc, time.time(), total, lane, backend,
             backend_address),
        )
        return self.get(job_id)

    def update(self, job_id: str, **fields: Any) -> None:
        if "metrics" in fields:
            fields["metrics"] = json.dumps(fields["metrics"])
        cols = ", ".join(f"{k} = ?" for k in fields)
        self._conn.execute(f"UPDATE jobs SET {cols} WHERE id = ?", (*fields.values(), job_id))

    def claim(self, job_id: str, pid: int, pid_started: float) -> bool:
        """The worker takes its job: true if the job is still running (not cancelled meanwhile) and no other worker
        has taken it."""
        cur = self._conn.execute(
            "UPDATE jobs SET pid = ?, pid_started = ?, heartbeat = ? WHERE id = ? AND status = 'running'"
            " AND pid IS NULL",  # one worker per start: a late one of an earlier launch finds it taken
            (pid, pid_started, time.time(), job_id),
        )
        return cur.rowcount == 1

    def heartbeat(self, job_id: str) -> bool:
        """Record that the worker is alive; returns whether a cancel was requested."""
        self._conn.execute("UPDATE jobs SET heartbeat = ? WHERE id = ?", (time.time(), job_id))
        row = self._conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row[0])

    def report(self, job_id: str, step: int, total: int, eta_s: float | None, metrics: dict[str, float],
               phase: str = "") -> None:
        self._conn.execute(
            "UPDATE jobs SET step = ?, total = ?, eta_s = ?, metrics = ?, heartbeat = ?, phase = ? WHERE id = ?",
            (int(step), int(total), eta_s, json.dumps(metrics), time.time(), str(phase or "")[:300], job_id),
        )

    def finish(self, job_id: str, status: str, error: str | None = None) -> None:
        assert status in TERMINAL
        self._conn.execute(
            "UPDATE jobs SET status = ?, error = ?, finished = ?, pid = NULL, eta_s = NULL WHERE id = ?"
            " AND status = 'running'",
            (status, error, time.time(), job_id),
        )

    def delete(self, job_id: str) -> None:
        self._conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
