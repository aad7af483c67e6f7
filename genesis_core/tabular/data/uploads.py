"""Tables handed to the workspace (on a page, over HTTP, or by a script): stored under `tables/`, named by their
content.

A table is read and checked (`ingest.read_table`) before anything is written, so a bad file leaves nothing
behind; the same bytes uploaded twice are the same table (its id is its sha256), which makes retries safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from genesis_core.errors import WorkbenchError
from genesis_core.store.files import atomic_write_bytes, atomic_write_text, safe_name
from genesis_core.tabular.data import schema as sch
from genesis_core.tabular.data.ingest import MAX_BYTES, read_table


class UploadNotFoundError(WorkbenchError, KeyError):
    """No stored table with that id."""


def tables_dir(workspace) -> Path:
    path = Path(workspace.root) / "tables"
    path.mkdir(parents=True, exist_ok=True)
    return path


_CHECKING = threading.Lock()  # one table is read and checked at a time: memory holds one table, not several


def incoming_dir(workspace) -> Path:
    """Where an upload's body is written while it comes in (in the workspace, so that storing it is a rename)."""
    path = Path(workspace.root) / ".incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _record(frame, info, digest: str, size: int, name: str) -> dict[str, Any]:
    table_id = f"tbl-{digest[:16]}"
    ext = "parquet" if info.format == "parquet" else "csv"
    schema = sch.infer_schema(frame)
    return {"id": table_id, "sha256": digest, "name": name or f"{table_id}.{ext}", "format": ext,
            "bytes": size, "rows": len(frame), "columns": frame.shape[1], "created": time.time(),
            "schema": [{"column": c.name, "kind": c.kind, "missing_rate": round(c.missing_rate, 6),
                        "why": c.note} for c in schema],
            "warnings": list(info.warnings), "file": f"{table_id}.{ext}"}


def put_table(workspace, raw: bytes, name: str = "", max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """Check and store a CSV or Parquet file's bytes; returns its record (id, rows, columns, schema, warnings)."""
    frame, info = read_table(raw, name, max_bytes=max_bytes)
    return store_read_table(workspace, raw, frame, info, name)


def store_read_table(workspace, raw: bytes, frame, info, name: str = "") -> dict[str, Any]:
    """Store a table its caller has already read and checked (`read_table` gave `frame` and `info` for these
    bytes), as a page does to show it: the one store of tables for the pages, the service and scripts."""
    digest = hashlib.sha256(raw).hexdigest()
    if (tables_dir(workspace) / f"tbl-{digest[:16]}.json").is_file():
        return get_table(workspace, f"tbl-{digest[:16]}")
    record = _record(frame, info, digest, len(raw), name)
    atomic_write_bytes(tables_dir(workspace) / record["file"], raw)
    atomic_write_text(tables_dir(workspace) / f"{record['id']}.json", json.dumps(record, indent=2))  # last: listed once whole
    return record


def _check_apart(path: Path, name: str, sha: str, max_bytes: int) -> dict[str, Any]:
    """Read and check an uploaded file in a process of its own (`python -m genesis_core.tabular.data.uploads`): the
    memory a parse takes (several times the file) is given back when it ends, and a file that crashes the parser
    takes down that process, not the server. Returns the table's record; TableError with the checker's sentence."""
    import subprocess
    import sys

    from genesis_core.tabular.data.ingest import TableError

    done = subprocess.run([sys.executable, "-m", "genesis_core.tabular.data.uploads", str(path), name, sha, str(max_bytes)],
                          capture_output=True, text=True, timeout=1800, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise TableError(f"the table could not be checked (the checker stopped with exit code {done.returncode}: "
                         f"{tail}).") from None
    if "error" in answer:
        raise TableError(answer["error"])
    return answer["record"]


def _check_main(argv: list[str]) -> int:
    """The checker process: read the file, infer its schema, print its record (or the error) as one JSON line."""
    from genesis_core.errors import one_sentence

    path, name, sha, max_bytes = argv
    try:
        frame, info = read_table(Path(path), name or "upload", max_bytes=int(max_bytes))
        print(json.dumps({"record": _record(frame, info, sha, Path(path).stat().st_size, name)}))
    except WorkbenchError as exc:
        print(json.dumps({"error": one_sentence(exc)}))
    return 0


def put_table_file(workspace, path: Path, name: str = "", max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """`put_table` for a body already on disk (an upload streamed in chunks): the same bytes are the same table
    and are not read again; a new table is checked (one at a time) and its file renamed into place."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    sha = digest.hexdigest()
    if (tables_dir(workspace) / f"tbl-{sha[:16]}.json").is_file():
        return get_table(workspace, f"tbl-{sha[:16]}")
    with _CHECKING:
        record = _check_apart(path, name, sha, max_bytes)
    os.replace(path, tables_dir(workspace) / record["file"])
    atomic_write_text(tables_dir(workspace) / f"{record['id']}.json", json.dumps(record, indent=2))
    return record


def get_table(workspace, table_id: str) -> dict[str, Any]:
    table_id = safe_name(table_id, "table id")
    path = tables_dir(workspace) / f"{table_id}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UploadNotFoundError(f"no table {table_id!r} in this workspace; upload it first (POST /v1/tables).") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UploadNotFoundError(f"table {table_id!r} is damaged: its record is not JSON; upload it again.") from None
    if not isinstance(record, dict) or record.get("id") != table_id or not isinstance(record.get("file"), str):
        raise UploadNotFoundError(f"table {table_id!r} is damaged: its record is not what the workbench wrote.")
    return record


def list_tables(workspace) -> list[dict[str, Any]]:
    out = []
    for path in tables_dir(workspace).glob("tbl-*.json"):
        try:
            out.append(get_table(workspace, path.stem))
        except UploadNotFoundError:
            continue
    return sorted(out, key=lambda r: r["created"], reverse=True)


def table_source(workspace, ref: str) -> str:
    """A synthesis `source` for a table reference: a stored table's id, or demo:NAME."""
    if ref.startswith("demo:"):
        return ref
    record = get_table(workspace, ref)
    path = tables_dir(workspace) / safe_name(record["file"], "table file")
    if not path.is_file():
        raise UploadNotFoundError(f"table {ref!r} lost its file; upload it again.")
    return str(path)


def display_name(source: str) -> str:
    """A synthesis source as a person named it: a stored table's upload name, else the file's name (or demo:NAME)."""
    if source.startswith("demo:"):
        return source
    path = Path(source)
    record = path.with_suffix(".json")
    if path.parent.name == "tables" and record.is_file():
        try:
            return str(json.loads(record.read_text(encoding="utf-8")).get("name") or path.name)
        except (OSError, ValueError):
            pass
    return path.name


if __name__ == "__main__":
    import sys

    sys.exit(_check_main(sys.argv[1:]))
