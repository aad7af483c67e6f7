"""A cross-process cache for results that are expensive to recompute (projections, decoded grids,
reports), keyed by checkpoint hash + parameters.

Values are JSON (`SafeJSONDisk`: nothing is unpickled, ever); tensors are written as safetensors files
beside the cache and referenced by path. The cache directory is private (mode 0700). A row that is not
JSON (diskcache's pickle mode, a file outside the cache) or a tensor path outside the cache's tensor folder
is a `CacheError`, never a load: a tampered cache cannot run code or read files elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from pathlib import Path
from typing import Any, Callable

import diskcache
import torch
from safetensors.torch import load_file, save_file

from genesis_core.errors import WorkbenchError
from genesis_core.store.files import UnsafePathError, safe_join


class CacheError(WorkbenchError, ValueError):
    """A cache row that the workbench did not write (not JSON, or pointing outside the cache)."""


class SafeJSONDisk(diskcache.JSONDisk):
    """diskcache's JSONDisk, minus the pickle fallbacks of its base class: keys and values must be JSON
    (raw rows or files inside the cache folder); anything else raises CacheError instead of unpickling."""

    def get(self, key, raw):
        if not raw:
            raise CacheError(f"the analysis cache in {self._directory} has a pickled key; it was not written by "
                             f"the workbench: delete that folder to rebuild the cache.")
        return super().get(key, raw)

    def fetch(self, mode, filename, value, read):
        if mode not in (diskcache.core.MODE_RAW, diskcache.core.MODE_BINARY):
            raise CacheError(f"the analysis cache in {self._directory} has a row that is not JSON (mode {mode}); it "
                             f"was not written by the workbench: delete that folder to rebuild the cache.")
        if filename is not None:
            try:
                safe_join(self._directory, filename)
            except UnsafePathError as exc:
                raise CacheError(f"the analysis cache in {self._directory} points at a file outside it; delete "
                                 f"that folder to rebuild the cache.") from exc
        try:
            return super().fetch(mode, filename, value, read)
        except (ValueError, zlib.error) as exc:  # JSON and Unicode errors are ValueErrors
            raise CacheError(f"the analysis cache in {self._directory} has a row that is not JSON; delete that "
                             f"folder to rebuild the cache.") from exc


def cache_key(namespace: str, checkpoint_hash: str, params: dict[str, Any]) -> str:
    payload = json.dumps({"ns": namespace, "ckpt": checkpoint_hash, "params": params}, sort_keys=True)
    return f"{namespace}:{hashlib.sha256(payload.encode()).hexdigest()[:40]}"


class ResultCache:
    def __init__(self, directory: str | Path, size_limit: int = 2**30):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        self.tensor_dir = self.directory / "tensors"
        self.tensor_dir.mkdir(exist_ok=True, mode=0o700)
        self._cache = diskcache.Cache(str(self.directory / "index"), disk=SafeJSONDisk,
                                      size_limit=size_limit)
        os.chmod(self.directory / "index", 0o700)

    def get(self, key: str) -> Any:
        return self._cache.get(key)

    def set(self, key: str, value: Any) -> None:
        self._cache.set(key, value)

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> Any:
        value = self._cache.get(key)
        if value is None:
            value = compute()
            self._cache.set(key, value)
        return value

    def put_tensors(self, key: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any] | None = None) -> None:
        name = hashlib.sha256(key.encode()).hexdigest()[:40] + ".safetensors"
        path = safe_join(self.tensor_dir, name)
        tmp = path.with_suffix(".tmp")
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
        os.replace(tmp, path)
        self._cache.set(key, {"tensors": str(path), "meta": meta or {}})

    def get_tensors(self, key: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
        entry = self._cache.get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("tensors"), str):
            return None
        try:
            path = safe_join(self.tensor_dir, Path(entry["tensors"]).name)
        except UnsafePathError as exc:
            raise CacheError(f"the analysis cache names a tensor file {entry['tensors']!r}; delete {self.directory} "
                             "to rebuild the cache.") from exc
        if Path(entry["tensors"]).resolve() != path:
            raise CacheError(f"the analysis cache names a tensor file outside {self.tensor_dir} "
                             f"({entry['tensors']!r}); delete {self.directory} to rebuild the cache.")
        if not path.exists():
            return None
        try:
            return load_file(str(path)), dict(entry.get("meta") or {})
        except Exception as exc:  # SafetensorError, OSError: a damaged file is a miss to recompute
            raise CacheError(f"the cached tensors in {path} are damaged; delete {self.directory} to rebuild the "
                             "cache.") from exc

    def clear(self) -> None:
        self._cache.clear()
        for p in self.tensor_dir.glob("*.safetensors"):
            p.unlink(missing_ok=True)

    def close(self) -> None:
        self._cache.close()
