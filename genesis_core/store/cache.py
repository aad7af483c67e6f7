"""A cross-process cache for results that are expensive to recompute (projections, decoded grids,
reports), keyed by checkpoint hash + parameters.

Values are JSON (diskcache's JSONDisk: nothing is pickled); tensors are written as safetensors files
beside the cache and referenced by path. The cache directory is private (mode 0700).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import diskcache
import torch
from safetensors.torch import load_file, save_file

from genesis_core.store.files import safe_join


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
        self._cache = diskcache.Cache(str(self.directory / "index"), disk=diskcache.JSONDisk,
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
        if not entry or "tensors" not in entry or not Path(entry["tensors"]).exists():
            return None
        return load_file(entry["tensors"]), entry.get("meta", {})

    def clear(self) -> None:
        self._cache.clear()
        for p in self.tensor_dir.glob("*.safetensors"):
            p.unlink(missing_ok=True)

    def close(self) -> None:
        self._cache.close()
