"""The service's bearer token: created in the workspace on first start (`api_token`, mode 0600), rotated by
`genesis api-token rotate`; the running server reads the file again when it changes, so a rotation takes effect
at once and the old token is refused from then on."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from genesis_core.errors import WorkbenchError


class TokenError(WorkbenchError, PermissionError):
    """A token file that is missing, empty or readable by others."""


def token_path(workspace) -> Path:
    return Path(workspace.root) / "api_token"


def _write(path: Path, token: str, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    if replace:
        os.replace(tmp, path)
    else:
        try:
            os.link(tmp, path)  # fails if another process created it first: theirs is kept
        except FileExistsError:
            pass
        os.unlink(tmp)


def ensure_token(workspace) -> str:
    """The workspace's token, created on first use."""
    path = token_path(workspace)
    if not path.exists():
        _write(path, secrets.token_urlsafe(32), replace=False)
    return read_token(workspace)


def rotate_token(workspace) -> str:
    token = secrets.token_urlsafe(32)
    _write(token_path(workspace), token, replace=True)
    return token


def read_token(workspace) -> str:
    path = token_path(workspace)
    try:
        mode = path.stat().st_mode & 0o077
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise TokenError(f"the API token file {path} cannot be read ({exc.strerror}); `genesis api-token rotate` "
                         "writes a new one.") from None
    if mode:
        raise TokenError(f"the API token file {path} is readable by other users; `chmod 600 {path}` or "
                         "`genesis api-token rotate`.")
    if len(token) < 16:
        raise TokenError(f"the API token in {path} is empty or too short; `genesis api-token rotate` writes a new one.")
    return token


def fingerprint(token: str) -> str:
    """A short name for a token (jobs are counted per token without storing it)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class TokenChecker:
    """Checks a presented token against the file, re-reading it when its modification time changes."""

    def __init__(self, workspace):
        self.workspace = workspace
        self._stamp: tuple[int, ...] | None = None
        self._token = ""

    def current(self) -> str:
        """The token the file holds now; TokenError when the file is gone, unreadable or open to others (a
        chmod, a delete or a replacement is seen on the next request)."""
        path = token_path(self.workspace)
        try:
            st = path.stat()
        except OSError as exc:
            self._stamp = None
            raise TokenError(f"the API token file {path} cannot be read ({exc.strerror}); `genesis api-token rotate` "
                             "writes a new one.") from None
        stamp = (st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode, st.st_size)
        if stamp != self._stamp:
            self._stamp = None
            self._token = read_token(self.workspace)
            self._stamp = stamp
        return self._token

    def check(self, presented: str) -> bool:
        return bool(presented) and hmac.compare_digest(presented.encode(), self.current().encode())
