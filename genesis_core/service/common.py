"""What every router of the HTTP API shares: the service's state (`Service`), its limits, the one error type
(`ApiError`), and the rules for what a response may say: ids, never server paths (`public`, `scrub`), and
echoes of the client's input clipped (`clip`)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request

from genesis_core.service.auth import TokenChecker
from genesis_core.service.ledger import Ledger
from genesis_core.store.workspace import Workspace
from genesis_core.tabular.data.ingest import MAX_BYTES

ECHO_CHARS = 40  # the most of a client's own input an error repeats


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = MAX_BYTES  # a table's body
    max_json_bytes: int = 1 << 20  # any other request body
    max_rows: int = 1_000_000  # rows asked for in one request (a synthesis, a stream)
    max_active_jobs: int = 32  # syntheses the API may have queued or running at once
    max_uploads: int = 4  # tables being received at once (more: 429 with Retry-After)


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


_STATUS = (("NotFound", 404), ("JobStateError", 409), ("UnsafePath", 400), ("Damaged", 409))


def status_of(exc: Exception) -> int:
    """The HTTP status of an error a user caused, by its type's name (unknown: 400)."""
    name = type(exc).__name__
    return next((code for key, code in _STATUS if key in name), 400)


@dataclass
class Service:
    """One server's state: its workspace, limits, token checker, idempotency ledger and upload slots."""

    ws: Workspace
    limits: Limits
    checker: TokenChecker
    ledger: Ledger
    uploads: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.uploads = asyncio.Semaphore(self.limits.max_uploads)


def service(request: Request) -> Service:
    """The dependency every route takes: the Service the app was built with."""
    return request.app.state.service


def clip(value: Any, limit: int = ECHO_CHARS) -> str:
    """A client's input as an error may repeat it: at most `limit` characters."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text):,} characters)"


_LONG = re.compile(r"\S{%d,}" % (2 * ECHO_CHARS))
_PATH = re.compile(r"(?<![\w.~-])(?:[A-Za-z]:)?(?:[\\/][^\s\\/'\"(),;:]+)+[\\/]?")
_ROUTES = ("/v1/", "/docs", "/openapi")


def scrub(text: str, ws: Workspace | None = None) -> str:
    """A message without server paths: the workspace becomes "the workspace", any other path its last part."""
    if ws is not None:
        root = str(Path(ws.root).resolve())
        text = text.replace(root, "the workspace").replace(str(ws.root), "the workspace")
    text = _PATH.sub(lambda m: m.group(0) if m.group(0).startswith(_ROUTES) else
                     Path(m.group(0).rstrip("/\\")).name or "a path", text)
    return _LONG.sub(lambda m: clip(m.group(0)), text)  # an id or a number the client sent, clipped


def _public_value(value: str, ws: Workspace) -> str:
    """A path as the API names it: a stored table by its id, anything in the workspace by its place there,
    anything else by its file name."""
    if not value or not (value.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", value)):
        return value
    path = Path(value)
    try:
        inside = path.resolve().relative_to(Path(ws.root).resolve())
    except (ValueError, OSError):
        return path.name
    if inside.parts[:1] == ("tables",) and path.name.startswith("tbl-"):
        return path.stem
    return inside.as_posix()


def public(obj: Any, ws: Workspace) -> Any:
    """A record (a release, a synthesis) with every server path replaced by an id or a workspace place."""
    if isinstance(obj, dict):
        return {k: public(v, ws) for k, v in obj.items()}
    if isinstance(obj, list):
        return [public(v, ws) for v in obj]
    if isinstance(obj, str):
        return _public_value(obj, ws)
    return obj


def page(items: list, limit: int, offset: int) -> dict[str, Any]:
    chunk = items[offset:offset + limit]
    nxt = offset + limit if offset + limit < len(items) else None
    return {"items": chunk, "total": len(items), "offset": offset, "next_offset": nxt}


def job_json(job, ws: Workspace) -> dict[str, Any]:
    return {"id": job.id, "task": job.task, "status": job.status, "phase": job.phase, "step": job.step,
            "total": job.total, "progress": job.progress, "eta_s": job.eta_s,
            "error": scrub(job.error, ws) if job.error else job.error,
            "run": job.run_id, "created": job.created, "started": job.started, "finished": job.finished,
            "cancel_requested": job.cancel_requested}
