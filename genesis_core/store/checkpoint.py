"""The one checkpoint writer and reader: safetensors for tensors, JSON for everything else.

A checkpoint is a folder, written under a temporary name and renamed into place (atomic):

    step_000200/
      model.safetensors     model weights; component prefixes ("encoder.", "decoder.") are kept,
                            so a component can be loaded on its own
      state.safetensors     tensors of the training state (optimizer moments, RNG states, ...)
      state.json            the rest of the training state, with {"__tensor__": key} where a tensor was
      meta.json             class name, config, versions, step, metrics

Nothing here unpickles: a checkpoint handed over by a user can at worst fail to load.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from genesis_core.errors import WorkbenchError
from genesis_core.store.files import atomic_write_text, sha256_file

CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class CheckpointMeta:
    """The keys every checkpoint's meta.json may hold, with their types; a task adds keys of its own
    (component names, image shape, ...), which its loader reads. Validated by the strict config loader, so a
    tampered meta.json (`step: "abc"`) is one sentence naming the key, not a surprise later."""

    format: int
    saved_at: float = 0.0
    versions: dict[str, Any] = field(default_factory=dict)
    kind: str = ""
    task: str = ""
    model_class: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    total_steps: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    best_metric: str = ""
    best_value: float = 0.0

    def __post_init__(self) -> None:
        if self.step < 0 or self.total_steps < 0:
            raise ValueError("step and total_steps must be 0 or more")


class CheckpointError(WorkbenchError, ValueError):
    """A checkpoint that is missing, unreadable or not of the expected kind."""


# ---------------------------------------------------------------------------------------------
# nested state <-> (tensors, JSON skeleton)


def flatten_state(obj: Any) -> tuple[dict[str, torch.Tensor], Any]:
    """Split a nested state (dicts, lists, tuples, tensors, numpy arrays, scalars) into tensors + JSON."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(x: Any, path: str) -> Any:
        if isinstance(x, torch.Tensor):
            key = path or "root"
            tensors[key] = x.detach().cpu().contiguous()
            return {"__tensor__": key}
        if isinstance(x, np.ndarray):
            key = path or "root"
            tensors[key] = torch.from_numpy(np.ascontiguousarray(x))
            return {"__ndarray__": key}
        if isinstance(x, dict):
            for k in x:
                if not isinstance(k, (str, int)):
                    raise TypeError(f"state key {k!r} at {path or 'root'} must be str or int")
            return {
                "__dict__": [[k, walk(v, f"{path}.{k}" if path else str(k))] for k, v in x.items()]
            }
        if isinstance(x, tuple):
            return {"__tuple__": [walk(v, f"{path}.{i}") for i, v in enumerate(x)]}
        if isinstance(x, list):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(x)]
        if isinstance(x, (np.integer, np.floating, np.bool_)):
            return x.item()
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        raise TypeError(f"cannot store {type(x).__name__} at {path or 'root'} in a checkpoint")

    return tensors, walk(obj, "")


def unflatten_state(tensors: dict[str, torch.Tensor], skeleton: Any) -> Any:
    def walk(x: Any) -> Any:
        if isinstance(x, dict):
            if "__tensor__" in x:
                return tensors[x["__tensor__"]]
            if "__ndarray__" in x:
                return tensors[x["__ndarray__"]].numpy()
            if "__tuple__" in x:
                return tuple(walk(v) for v in x["__tuple__"])
            if "__dict__" in x:
                return {k: walk(v) for k, v in x["__dict__"]}
            raise CheckpointError("checkpoint state has an unknown entry")
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    return walk(skeleton)


# ---------------------------------------------------------------------------------------------
# write / read


def _versions() -> dict[str, str]:
    import genesis_core

    return {"genesis_core": genesis_core.__version__, "torch": torch.__version__}


def save_checkpoint(
    folder: str | Path,
    model_state: dict[str, torch.Tensor],
    meta: dict[str, Any],
    train_state: Any = None,
) -> Path:
    """Write a checkpoint folder atomically. Returns its path."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        weights, seen = {}, set()
        for k, v in model_state.items():  # tied weights (one tensor under two names) are stored twice
            v = v.detach().cpu().contiguous()
            ptr = (v.untyped_storage().data_ptr(), v.storage_offset())
            weights[k] = v.clone() if ptr in seen else v
            seen.add(ptr)
        save_file(weights, str(tmp / "model.safetensors"))
        if train_state is not None:
            tensors, skeleton = flatten_state(train_state)
            save_file(tensors, str(tmp / "state.safetensors"))
            atomic_write_text(tmp / "state.json", json.dumps(skeleton))
        full_meta = {"format": CHECKPOINT_FORMAT, "saved_at": time.time(), "versions": _versions(), **meta}
        atomic_write_text(tmp / "meta.json", json.dumps(full_meta, indent=2))
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{os.getpid()}"
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


_LEFTOVER = re.compile(r"^\..+\.(tmp|old)-(\d+)$")  # .step_N.tmp-PID/, .best.old-PID/ (save_checkpoint)
_LEFTOVER_FILE = re.compile(r"^\..+\.tmp$")  # .latest.XXXX.tmp (atomic_write_bytes)


def clean_partial_writes(checkpoints_dir: str | Path) -> list[str]:
    """Remove what killed checkpoint writers left behind in a run's checkpoint folder (temporary folders of
    processes that are gone, temporary pointer files); called when the run starts again. Returns their names."""
    import psutil

    folder = Path(checkpoints_dir)
    removed: list[str] = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _LEFTOVER.match(p.name)
        if m and p.is_dir() and not p.is_symlink():
            pid = int(m.group(2))
            if pid != os.getpid() and psutil.pid_exists(pid):
                continue  # a writer that is still alive (another process on this run)
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
        elif _LEFTOVER_FILE.match(p.name) and (p.is_file() or p.is_symlink()):
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed


def read_meta(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / "meta.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CheckpointError(f"{folder} is not a checkpoint (no meta.json).") from exc
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{folder}: meta.json is unreadable ({exc}).") from exc
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{folder}: not a Genesis Workbench checkpoint of format {CHECKPOINT_FORMAT}.")
    from genesis_core.config import ConfigError, from_dict

    known = {f.name for f in dataclasses.fields(CheckpointMeta)}
    try:
        from_dict(CheckpointMeta, {k: v for k, v in meta.items() if k in known}, prefix="meta.json: ")
    except ConfigError as exc:
        raise CheckpointError(f"{folder}: {exc}.") from exc
    return meta


def weight_shapes(folder: str | Path) -> dict[str, tuple[int, ...]]:
    """Each tensor's shape in the checkpoint's weights, read from the safetensors header alone."""
    from safetensors import safe_open

    try:
        with safe_open(str(Path(folder) / "model.safetensors"), framework="pt") as fh:
            return {k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()}
    except (FileNotFoundError, SafetensorError, OSError) as exc:
        raise CheckpointError(f"{folder}: model weights are missing or corrupt ({exc}).") from exc


def load_weights(folder: str | Path, prefix: str | None = None) -> dict[str, torch.Tensor]:
    """Model weights; with `prefix` ("encoder."), only that component's, with the prefix removed."""
    read_meta(folder)
    try:
        weights = load_file(str(Path(folder) / "model.safetensors"))
    except (FileNotFoundError, SafetensorError, OSError) as exc:
        raise CheckpointError(f"{folder}: model weights are missing or corrupt ({exc}).") from exc
    if prefix is None:
        return weights
    part = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    if not part:
        raise CheckpointError(f"{folder}: the checkpoint has no component {prefix.rstrip('.')!r}.")
    return part


def load_train_state(folder: str | Path) -> Any:
    folder = Path(folder)
    try:
        tensors = load_file(str(folder / "state.safetensors"))
        skeleton = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, SafetensorError, OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{folder}: training state is missing or corrupt ({exc}).") from exc
    return unflatten_state(tensors, skeleton)


@functools.lru_cache(maxsize=256)
def _hash_of(path: str, mtime_ns: int, size: int) -> str:
    return sha256_file(path)[:32]


def checkpoint_hash(folder: str | Path) -> str:
    """A content hash of the weights file, for cache keys (remembered per file version in this process)."""
    path = Path(folder) / "model.safetensors"
    try:
        st = path.stat()
    except OSError as exc:
        raise CheckpointError(f"{folder} holds no model weights.") from exc
    return _hash_of(str(path), st.st_mtime_ns, st.st_size)
