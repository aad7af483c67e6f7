"""Atomic file writes and paths that cannot escape their root."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from genesis_core.errors import WorkbenchError

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class UnsafePathError(WorkbenchError, ValueError):
    """A name or path that would leave the workspace."""


def safe_name(name: str, what: str = "name") -> str:
    """Return `name` if it is a plain file or folder name (letters, digits, . _ -), else raise."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or name in (".", ".."):
        raise UnsafePathError(f"{what} {name!r} is not allowed; use letters, digits, '.', '_' and '-'.")
    return name


def sanitize_filename(name: str) -> str:
    """Turn an uploaded file's name into a safe plain name (its folder parts are dropped)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip("._-")[:128]
    return base or "upload"


def safe_join(root: str | Path, *parts: str) -> Path:
    """Join `parts` under `root`, refusing anything that resolves outside `root`."""
    root_resolved = Path(root).resolve()
    candidate = root_resolved.joinpath(*parts).resolve()
    if candidate != root_resolved and root_resolved not in candidate.parents:
        raise UnsafePathError(f"path {'/'.join(parts)!r} leaves {root_resolved}")
    return candidate


def current_umask() -> int:
    """This process's umask, read without changing it where Linux says it (os.umask can only set it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting, then put back at once
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes, mode: int | None = None) -> None:
    """Write `data` to `path` so readers see the old file or the new one, never half of one. The file gets
    `mode`, or by default what open() would give it (0666 less the umask: 0644 under umask 022), not the
    0600 of the temporary file it is written through."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, (0o666 & ~current_umask()) if mode is None else mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str, mode: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def replace_folder(new: str | Path, target: str | Path) -> Path:
    """Put a completely built folder `new` where `target` is: the old one moves aside first, then the new one
    into place, then the old one is removed; a reader never sees a half-built folder."""
    import shutil
    import time

    new, target = Path(new), Path(target)
    old = target.with_name(f".{target.name}-old-{time.strftime('%Y%m%d-%H%M%S')}")
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
