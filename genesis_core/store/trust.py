"""The workspace's own record of the pickle files it wrote (SDV can only save its synthesizers as pickles).

A pickle is loaded only if its SHA-256 is in this record, kept in the workspace (`trusted_files.db`), not
beside the file: a run folder copied in from elsewhere, or a file edited after it was written, is refused.
"""

from __future__ import annotations

import time
from pathlib import Path

from genesis_core.errors import WorkbenchError
from genesis_core.store.files import sha256_file
from genesis_core.store.metrics import connect
from genesis_core.store.workspace import genesis_home


class UntrustedFileError(WorkbenchError, ValueError):
    """A pickle this workspace did not write (or one changed since)."""


class TrustRecord:
    def __init__(self, root: str | Path | None = None):
        self.path = Path(root or genesis_home()) / "trusted_files.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _conn(self):
        conn = connect(self.path)
        conn.execute("CREATE TABLE IF NOT EXISTS trusted (sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, "
                     "created REAL NOT NULL)")
        return conn

    def add(self, path: str | Path) -> str:
        """Record a file this workspace just wrote; returns its SHA-256."""
        sha = sha256_file(path)
        conn = self._conn()
        try:
            conn.execute("INSERT OR REPLACE INTO trusted VALUES (?, ?, ?)", (sha, str(Path(path).resolve()), time.time()))
        finally:
            conn.close()
        return sha

    def check(self, path: str | Path, expected_sha: str) -> None:
        """Raise UntrustedFileError unless the file is unchanged and was written by this workspace."""
        sha = sha256_file(path)
        name = Path(path).name
        if sha != expected_sha:
            raise UntrustedFileError(f"{name} does not match the hash recorded when it was saved; not loading it.")
        conn = self._conn()
        try:
            known = conn.execute("SELECT 1 FROM trusted WHERE sha256 = ?", (sha,)).fetchone()
        finally:
            conn.close()
        if known is None:
            raise UntrustedFileError(f"{name} was not written by this workspace ({self.path.parent}); pickles are "
                                     "only loaded from files the workbench wrote itself, so it is not loaded.")
