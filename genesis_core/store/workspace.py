"""The workspace on disk under GENESIS_HOME (default ./workspace): one folder per run.

    workspace/
      jobs.db                 the job queue (genesis_core.jobs.store)
      cache/                  diskcache of expensive results (genesis_core.store.cache)
      uploads/                files users handed in, under sanitised names
      runs/<run_id>/
        run.json              id, task, name, created, tags, favorite
        config.yaml           the frozen config the run was started with
        checkpoints/step_N/   safetensors + JSON (genesis_core.store.checkpoint); `latest` names the newest
        metrics.db            scalars and events (genesis_core.store.metrics)
        tb/                   TensorBoard event files
        artifacts/            images, videos, reports
        logs/worker.log       what the worker printed
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesis_core.errors import WorkbenchError
from genesis_core.store.files import UnsafePathError, atomic_write_text, safe_join, safe_name, sanitize_filename


def genesis_home() -> Path:
    return Path(os.environ.get("GENESIS_HOME", "workspace")).resolve()


class RunNotFoundError(WorkbenchError, KeyError):
    """No run with that id."""


class RunDamagedError(WorkbenchError, ValueError):
    """A run whose run.json is malformed: it can be listed and deleted, not changed or used."""


def _meta_problem(meta: Any, folder: str) -> str:
    """Why a run.json cannot be used as it is ("" when it can)."""
    if not isinstance(meta, dict):
        return f"run.json holds a {type(meta).__name__}, not a mapping"
    if meta.get("id") != folder:
        return f"run.json names the run {meta.get('id')!r}, not its folder {folder!r}"
    kinds: dict[str, type | tuple[type, ...]] = {"task": str, "name": str, "created": (int, float), "tags": list,
                                                 "favorite": bool}
    for key, kind in kinds.items():
        if key in meta and (not isinstance(meta[key], kind) or isinstance(meta[key], bool) and kind != bool):
            return f"run.json's {key} is {meta[key]!r}"
    if any(not isinstance(t, str) for t in meta.get("tags", [])):
        return "run.json's tags are not all text"
    return ""


@dataclass
class Run:
    """A run folder and its metadata. A run whose run.json is unreadable or malformed is `damaged` (the
    reason, in words): it is listed under its folder's name and can be deleted, never used."""

    dir: Path
    meta: dict[str, Any]
    damaged: str = ""

    @classmethod
    def read(cls, run_dir: Path) -> Run:
        try:
            meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
            problem = _meta_problem(meta, run_dir.name)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            meta, problem = None, f"run.json is not JSON ({type(exc).__name__})"
        if not problem:
            return cls(run_dir, meta)
        try:
            created = run_dir.stat().st_mtime
        except OSError:
            created = 0.0
        return cls(run_dir, {"id": run_dir.name, "task": "", "name": "", "created": created, "tags": [],
                             "favorite": False}, damaged=problem)

    @property
    def id(self) -> str:
        return self.meta["id"]

    @property
    def task(self) -> str:
        return self.meta.get("task", "")

    @property
    def name(self) -> str:
        return self.meta.get("name") or self.id

    @property
    def tags(self) -> list[str]:
        return list(self.meta.get("tags", []))

    @property
    def favorite(self) -> bool:
        return bool(self.meta.get("favorite", False))

    @property
    def config_path(self) -> Path:
        return self.dir / "config.yaml"

    @property
    def metrics_path(self) -> Path:
        return self.dir / "metrics.db"

    @property
    def checkpoints_dir(self) -> Path:
        return self.dir / "checkpoints"

    @property
    def artifacts_dir(self) -> Path:
        return self.dir / "artifacts"

    @property
    def log_path(self) -> Path:
        return self.dir / "logs" / "worker.log"

    @property
    def tensorboard_dir(self) -> Path:
        return self.dir / "tb"

    def config(self) -> dict[str, Any]:
        from genesis_core.config import read_mapping

        return read_mapping(self.config_path)

    def latest_checkpoint(self) -> Path | None:
        pointer = self.checkpoints_dir / "latest"
        if pointer.is_file():
            try:  # the pointer names a folder of this run's checkpoints, nothing else
                path = safe_join(self.checkpoints_dir, safe_name(pointer.read_text(encoding="utf-8").strip(),
                                                                 "checkpoint"))
            except (OSError, UnicodeDecodeError, UnsafePathError):
                path = None
            if path is not None and path.parent == self.checkpoints_dir.resolve() and (path / "meta.json").exists():
                return path
        found = sorted(p for p in self.checkpoints_dir.glob("step_*") if (p / "meta.json").exists())
        return found[-1] if found else None

    def artifact_path(self, name: str) -> Path:
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        return safe_join(self.artifacts_dir, sanitize_filename(name))

    def artifacts(self) -> list[Path]:
        if not self.artifacts_dir.exists():
            return []
        return sorted(p for p in self.artifacts_dir.iterdir() if p.is_file() and not p.name.startswith("."))


def filter_runs(runs: list[Run], task: str | None = None, tag: str | None = None, favorite: bool | None = None,
                text: str | None = None) -> list[Run]:
    """The runs that match every filter given (a page filters the list it already read)."""
    needle = text.lower() if text else None
    return [r for r in runs
            if (not task or r.task == task) and (not tag or tag in r.tags)
            and (favorite is None or r.favorite == favorite)
            and (not needle or needle in f"{r.id} {r.name}".lower())]


class Workspace:
    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).resolve() if root is not None else genesis_home()
        self.runs_dir = self.root / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)

    # -- paths --------------------------------------------------------------------------------
    @property
    def jobs_db(self) -> Path:
        return self.root / "jobs.db"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def upload_path(self, filename: str) -> Path:
        uploads = self.root / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        return safe_join(uploads, sanitize_filename(filename))

    # -- runs ---------------------------------------------------------------------------------
    def create_run(self, task: str, config: dict[str, Any], name: str = "", tags: list[str] | None = None) -> Run:
        from genesis_core.config import write_mapping

        stamp = time.strftime("%Y%m%d-%H%M%S")
        slug = "".join(c if c.isalnum() else "-" for c in task.lower())[:40].strip("-") or "run"
        for _ in range(100):
            run_id = f"{stamp}-{slug}-{secrets.token_hex(2)}"
            run_dir = self.runs_dir / run_id
            try:
                run_dir.mkdir()
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 100 collisions of 16 random bits in one second
            raise RuntimeError("could not allocate a run id")
        meta = {"id": run_id, "task": task, "name": name, "created": time.time(), "tags": tags or [],
                "favorite": False}
        for sub in ("checkpoints", "artifacts", "logs"):
            (run_dir / sub).mkdir()
        write_mapping(config, run_dir / "config.yaml")
        atomic_write_text(run_dir / "run.json", json.dumps(meta, indent=2))
        return Run(run_dir, meta)

    def run_dir(self, run_id: str) -> Path:
        return safe_join(self.runs_dir, safe_name(run_id, "run id"))

    def get_run(self, run_id: str) -> Run:
        run_dir = self.run_dir(run_id)
        if not (run_dir / "run.json").is_file():
            raise RunNotFoundError(f"no run {run_id!r} in this workspace")
        return Run.read(run_dir)

    def list_runs(self, task: str | None = None, tag: str | None = None, favorite: bool | None = None,
                  text: str | None = None) -> list[Run]:
        """Runs, newest first, filtered by task, tag, favorite flag and free text (id or name)."""
        runs = []
        for run_dir in self.runs_dir.iterdir():
            if run_dir.name.startswith(".") or not (run_dir / "run.json").is_file():
                continue  # a run being deleted, or no run at all
            try:
                runs.append(Run.read(run_dir))
            except OSError:
                continue  # vanished or unreadable between listing and reading
        runs.sort(key=lambda r: r.meta["created"], reverse=True)
        return filter_runs(runs, task, tag, favorite, text)

    def _update(self, run_id: str, **changes: Any) -> Run:
        run = self.get_run(run_id)
        if run.damaged:
            raise RunDamagedError(f"run {run.id} is damaged ({run.damaged}); it can only be deleted.")
        run.meta.update(changes)
        atomic_write_text(run.dir / "run.json", json.dumps(run.meta, indent=2))
        return run

    def set_tags(self, run_id: str, tags: list[str]) -> Run:
        clean = sorted({t.strip() for t in tags if t and t.strip()})
        return self._update(run_id, tags=clean)

    def add_tag(self, run_id: str, tag: str) -> Run:
        return self.set_tags(run_id, self.get_run(run_id).tags + [tag])

    def set_favorite(self, run_id: str, favorite: bool = True) -> Run:
        return self._update(run_id, favorite=bool(favorite))

    def rename(self, run_id: str, name: str) -> Run:
        return self._update(run_id, name=name.strip())

    def delete_run(self, run_id: str) -> None:
        run = self.get_run(run_id)
        trash = self.runs_dir / f".deleted-{run.id}-{secrets.token_hex(2)}"
        os.replace(run.dir, trash)  # atomic: the run disappears from listings at once
        shutil.rmtree(trash, ignore_errors=True)
