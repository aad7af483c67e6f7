"""Submit, watch and steer training jobs: the one job API that pages, the CLI and scripts share."""

from __future__ import annotations

import os
import signal
import time
from collections import deque
from typing import Any, Callable

from genesis_core.config import ConfigError, to_dict
from genesis_core.jobs import scheduler
from genesis_core.jobs.store import TERMINAL, Job, JobStateError, JobStore
from genesis_core.registry import BACKENDS, TASKS, task_config
from genesis_core.store.workspace import Workspace


def _store(workspace: Workspace | None) -> tuple[Workspace, JobStore]:
    ws = workspace or Workspace()
    return ws, JobStore(ws.jobs_db)


def submit(config: Any, task: str | None = None, nproc: int = 1, workspace: Workspace | None = None,
           tags: list[str] | None = None, backend: str = "local", address: str = "") -> Job:
    """Validate `config`, create its run, queue the job and start it if a slot is free. `backend`: where its
    worker runs (local, or ray with the cluster at `address`, "" for the workspace's local instance)."""
    from genesis_core.device import pick_device

    cfg = task_config(config, task)
    if backend not in BACKENDS:
        raise ConfigError(f"backend: unknown backend {backend!r}; known: {', '.join(BACKENDS.names())}")
    device = pick_device(cfg.trainer.device).type if backend == "local" else _remote_device(cfg.trainer.device)
    if nproc < 1:
        raise ConfigError("nproc: must be at least 1")
    ws, store = _store(workspace)
    try:
        plain = to_dict(cfg)
        run = ws.create_run(cfg.task, plain, name=cfg.name, tags=tags)
        lane = getattr(TASKS.get(cfg.task), "lane", "train")
        job = store.insert(cfg.task, run.id, plain, device, nproc=nproc, name=cfg.name, total=cfg.trainer.steps,
                           lane=lane, backend=backend, backend_address=address)
    finally:
        store.close()
    scheduler.tick(ws)
    return get(job.id, ws)


def _remote_device(requested: str) -> str:
    """The device kind of a job that runs elsewhere: what it asks for (auto: cuda when this machine has it)."""
    if requested != "auto":
        return requested.split(":")[0]
    from genesis_core.device import pick_device

    return pick_device("auto").type


def queue_positions(workspace: Workspace | None = None) -> dict[str, tuple[int, str]]:
    """Each queued job's place in its lane's queue (1 = next) and why it waits, in words."""
    ws, store = _store(workspace)
    try:
        return scheduler.waiting_reasons(store.list("queued"), store.list("running"), ws)
    finally:
        store.close()


def slots(workspace: Workspace | None = None) -> list[dict[str, Any]]:
    """The queue's slots, per device and lane: how many, where that number comes from, which jobs hold them and
    since when, how many jobs wait for them. The lanes of the default device are always listed."""
    from genesis_core.device import pick_device

    ws, store = _store(workspace)
    try:
        running, queued = store.list("running"), store.list("queued")
    finally:
        store.close()
    try:
        default = pick_device(None).type
    except Exception:  # an unavailable GENESIS_DEVICE: the jobs' own devices are still listed
        default = "cpu"
    lanes = {(default, "train"), (default, "short")}
    lanes |= {(j.device, j.lane) for j in running + queued}
    settings = scheduler.read_settings(ws)
    out = []
    for device, lane in sorted(lanes, key=lambda dl: (dl[0], scheduler.LANES.index(dl[1])
                                                      if dl[1] in scheduler.LANES else 9)):
        limit, source = scheduler.slot_limit(device, lane, settings=settings)
        holders = [j for j in running if (j.device, j.lane) == (device, lane)]
        out.append({"device": device, "lane": lane, "slots": limit, "source": source,
                    "held_by": [{"job": j.id, "name": j.name or j.task, "since": j.started,
                                 "cancelling": j.cancel_requested} for j in holders],
                    "waiting": sum((j.device, j.lane) == (device, lane) for j in queued)})
    return out


def describe_slot(slot: dict[str, Any]) -> str:
    """One line for a slot group: "cpu training: 1 of 1 taken by job-… (digits AE) since 22:31:05; 2 waiting"."""
    from genesis_core.formatting import format_time

    taken = len(slot["held_by"])
    lane = scheduler.LANE_NAMES.get(slot["lane"], slot["lane"])
    text = f"{slot['device']} {lane}: {taken} of {slot['slots']} taken"
    if slot["held_by"]:
        text += " by " + ", ".join(f"{h['job']} ({h['name']}) since {format_time(h['since'])}"
                                   + (", cancelling" if h["cancelling"] else "") for h in slot["held_by"])
    if slot["waiting"]:
        text += f"; {slot['waiting']} waiting"
    return text + ("" if slot["source"] == "default" else f" [limit {slot['source']}]")


def set_slots(device: str, lane: str, slots_: int | None, workspace: Workspace | None = None) -> None:
    """Change how many jobs of a lane run at once on a device in this workspace, and start what now fits."""
    ws = workspace or Workspace()
    scheduler.set_slot_limit(ws, device, lane, slots_)
    scheduler.tick(ws)


def estimate_seconds(task: str, steps: int, workspace: Workspace | None = None, device: str | None = None,
                     recent: int = 10) -> tuple[float, int] | None:
    """(expected seconds for `steps` steps of `task`, how many finished jobs it is measured from): the median
    time per step of this workspace's recent successful jobs of that task (on `device`); None before any."""
    ws, store = _store(workspace)
    try:
        done = [j for j in store.list("succeeded", limit=500) if j.task == task and (device is None or j.device == device)
                and j.started and j.finished and j.total > 0][:recent]
    finally:
        store.close()
    if not done:
        return None
    per_step = sorted((j.finished - j.started) / j.total for j in done if j.finished and j.started)
    return per_step[len(per_step) // 2] * steps, len(done)


def get(job_id: str, workspace: Workspace | None = None) -> Job:
    ws, store = _store(workspace)
    try:
        return store.get(job_id)
    finally:
        store.close()


def get_for_run(run_id: str, workspace: Workspace | None = None) -> list[Job]:
    """Every job that wrote `run_id`, newest first."""
    ws, store = _store(workspace)
    try:
        return store.for_run(run_id)
    finally:
        store.close()


def active_job(run_id: str, workspace: Workspace | None = None) -> Job | None:
    """The queued or running job writing `run_id`, if any (a run is written by one job at a time)."""
    ws, store = _store(workspace)
    try:
        return next((j for j in store.for_run(run_id) if j.status in ("queued", "running")), None)
    finally:
        store.close()


def list_jobs(workspace: Workspace | None = None, status: str | tuple[str, ...] | None = None,
              limit: int | None = None, refresh: bool = True) -> list[Job]:
    """Jobs, newest first. With `refresh`, the queue is ticked first (dead workers noticed, slots filled)."""
    ws, store = _store(workspace)
    try:
        if refresh:
            scheduler.tick(ws)
        return store.list(status, limit)
    finally:
        store.close()


def wait(job_id: str, workspace: Workspace | None = None, timeout: float | None = None, poll_s: float = 0.5,
         on_update: Callable[[Job], None] | None = None) -> Job:
    """Block until the job ends (or `timeout` seconds pass: TimeoutError). Returns the final Job."""
    ws = workspace or Workspace()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        scheduler.tick(ws)
        job = get(job_id, ws)
        if on_update is not None:
            on_update(job)
        if job.status in TERMINAL:
            return job
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job.status} after {timeout} s")
        time.sleep(poll_s)


def cancel(job_id: str, workspace: Workspace | None = None) -> Job:
    """Queued: cancelled at once. Running: the worker checkpoints and stops within about a second."""
    ws, store = _store(workspace)
    try:
        with store.transaction():
            job = store.get(job_id)
            if job.status == "queued":
                store.update(job_id, status="cancelled", finished=time.time())
            elif job.status == "running":
                store.update(job_id, cancel_requested=1, cancel_at=job.cancel_at or time.time())
            else:
                raise JobStateError(f"job {job_id} is already {job.status}")
        if job.status == "running" and job.pid:
            try:  # SIGTERM is handled by the worker exactly like a cancel request
                os.kill(job.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        return store.get(job_id)
    finally:
        store.close()


def resume(job_id: str, workspace: Workspace | None = None) -> Job:
    """Queue a failed or cancelled job again; it continues its run from the last checkpoint."""
    ws, store = _store(workspace)
    try:
        with store.transaction():
            job = store.get(job_id)
            if job.status not in ("failed", "cancelled"):
                raise JobStateError(f"job {job_id} is {job.status}; only failed or cancelled jobs can be resumed")
            store.update(job_id, status="queued", resume=1, cancel_requested=0, error=None, finished=None,
                         attempts=job.attempts + 1, eta_s=None)
    finally:
        store.close()
    scheduler.tick(ws)
    return get(job_id, ws)


def retry(job_id: str, workspace: Workspace | None = None) -> Job:
    """Start the same config again from scratch, as a new job in a new run."""
    ws = workspace or Workspace()
    job = get(job_id, ws)
    return submit(job.config, job.task, nproc=job.nproc, workspace=ws, backend=job.backend, address=job.backend_address)


def log_tail(job: Job, workspace: Workspace | None = None, lines: int = 40) -> str:
    ws = workspace or Workspace()
    try:
        path = ws.get_run(job.run_id).log_path
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines))
    except (OSError, KeyError):
        return ""
