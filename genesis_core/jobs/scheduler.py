"""The queue: starts queued jobs up to a per-device limit, and notices workers that died.

There is no daemon. Every process that touches jobs (a page refresh, the CLI, `wait`, a worker that
just finished) calls `tick()`, which in one exclusive transaction:
  1. marks running jobs whose worker is gone (process dead, or heartbeat stale) as failed;
  2. starts the oldest queued jobs while their device has a free slot.
Workers are detached OS processes (`python -m genesis_core.jobs.worker JOB_ID`, or the same `worker.main`
forked from a warm interpreter that has the libraries imported: jobs/warm.py), sessions of their own, so they
outlive the page, the tab and the app that started them.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

import psutil

from genesis_core.errors import WorkbenchError, one_sentence
from genesis_core.jobs.backends import LocalBackend, end_processes
from genesis_core.jobs.store import Job, JobStore
from genesis_core.registry import BACKENDS
from genesis_core.store.workspace import Workspace

HEARTBEAT_INTERVAL_S = 1.0
STALE_AFTER_S = float(os.environ.get("GENESIS_HEARTBEAT_STALE_S", "10"))
CANCEL_GRACE_S = float(os.environ.get("GENESIS_CANCEL_GRACE_S", "6"))  # a cancelled worker's time to stop
CHECKPOINT_GRACE_S = 30.0  # more, while it writes the checkpoint that a cancel keeps
STARTUP_GRACE_S = float(os.environ.get("GENESIS_STARTUP_GRACE_S", "60"))  # to import torch and claim the job
MAX_LAUNCHES = 3  # a job whose worker never started goes back to the queue this many times, then fails
DEFAULT_LIMITS = {"cpu": 1, "mps": 1}
SHORT_JOB_SLOTS = 1  # per device, beside the training slots: a synthesis never waits behind a long training run
CONTROL_JOB_SLOTS = 4  # sweep drivers: they wait on trials, so they must never take the trials' slots

class SchedulerError(WorkbenchError, ValueError):
    """A slot setting that cannot be used."""


SETTINGS_FILE = "jobs_settings.json"  # in the workspace: slot limits set on the Jobs page or with `jobs slots --set`
LANES = ("train", "short", "control")
LANE_NAMES = {"train": "training", "short": "short-job", "control": "control (sweep drivers)"}


def read_settings(workspace: Workspace | None) -> dict:
    """The workspace's job settings (jobs_settings.json; {} when there are none or they are unreadable)."""
    import json

    if workspace is None:
        return {}
    try:
        data = json.loads((Path(workspace.root) / SETTINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def set_slot_limit(workspace: Workspace, device: str, lane: str, slots: int | None) -> None:
    """Jobs of `lane` that may run at once on `device` in this workspace (None: back to the default); the next
    look at the queue starts what now fits."""
    import json

    from genesis_core.store.files import atomic_write_text

    if lane not in LANES:
        raise SchedulerError(f"lane {lane!r} is not one of {', '.join(LANES)}")
    if slots is not None and not 1 <= int(slots) <= 64:
        raise SchedulerError(f"slots must be between 1 and 64, not {slots}")
    data = read_settings(workspace)
    limits = dict(data.get("slots") or {})
    if slots is None:
        limits.pop(f"{device}/{lane}", None)
    else:
        limits[f"{device}/{lane}"] = int(slots)
    atomic_write_text(Path(workspace.root) / SETTINGS_FILE, json.dumps({**data, "slots": limits}, indent=2))


def slot_limit(device: str, lane: str = "train", workspace: Workspace | None = None,
               settings: dict | None = None) -> tuple[int, str]:
    """(how many jobs of `lane` may run at once on `device`, where that number comes from): the workspace's own
    setting (Jobs page, `jobs slots`; `settings` when the caller has read it already), else the environment
    (GENESIS_MAX_JOBS_CPU / _CUDA / _MPS for training, GENESIS_MAX_SHORT_JOBS, GENESIS_MAX_CONTROL_JOBS), else
    the default: one training job per CPU/MPS and per CUDA GPU, one short job, four sweep drivers."""
    chosen = ((read_settings(workspace) if settings is None else settings).get("slots") or {}).get(f"{device}/{lane}")
    if isinstance(chosen, int) and chosen >= 1:
        return chosen, "set for this workspace"
    env = {"short": "GENESIS_MAX_SHORT_JOBS", "control": "GENESIS_MAX_CONTROL_JOBS"}.get(
        lane, f"GENESIS_MAX_JOBS_{device.upper()}")
    if os.environ.get(env):
        return max(1, int(os.environ[env])), env
    if lane == "short":
        return SHORT_JOB_SLOTS, "default"
    if lane == "control":  # drivers (sweeps) that mostly wait on their own jobs
        return CONTROL_JOB_SLOTS, "default"
    if device == "cuda":
        import torch

        return max(1, torch.cuda.device_count()), "default"
    return DEFAULT_LIMITS.get(device, 1), "default"


def max_concurrent(device: str, lane: str = "train", workspace: Workspace | None = None,
                   settings: dict | None = None) -> int:
    """Jobs of a lane that may run at once on `device` (see `slot_limit`)."""
    return slot_limit(device, lane, workspace, settings)[0]


def waiting_reasons(queued: list[Job], running: list[Job], workspace: Workspace | None = None
                    ) -> dict[str, tuple[int, str]]:
    """For each queued job: (its place in its lane's queue, 1 = next; why it waits), in words."""
    out: dict[str, tuple[int, str]] = {}
    places: Counter = Counter()
    busy_runs = {j.run_id: j for j in running}
    settings = read_settings(workspace)
    for job in sorted(queued, key=lambda j: j.created):
        lane = (job.device, job.lane)
        places[lane] += 1
        holders = [j for j in running if (j.device, j.lane) == lane]
        limit = max_concurrent(job.device, job.lane, settings=settings)
        if job.run_id in busy_runs:
            reason = f"its run is being written by job {busy_runs[job.run_id].id}"
        elif len(holders) >= limit:
            names = ", ".join(f"{j.id} ({j.name or j.task})" for j in holders[:3])
            reason = f"all {limit} {job.device} {LANE_NAMES.get(job.lane, job.lane)} slot(s) are taken by {names}"
        else:
            reason = "starting"
        if places[lane] > 1 and reason == "starting":
            reason = "behind the jobs queued before it"
        out[job.id] = (places[lane], reason)
    return out


def process_alive(pid: int | None, started: float | None) -> bool:
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        # a recycled pid belongs to a process that started later than our worker
        return started is None or abs(proc.create_time() - started) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _worker_gone(job: Job, now: float) -> str | None:
    if job.pid is None:
        if job.started and now - job.started > STARTUP_GRACE_S:
            return "the worker process never started (see the log)"
        return None
    if job.backend == "local" and not process_alive(job.pid, job.pid_started):  # elsewhere: the heartbeat says
        return "the worker process ended without reporting (killed or crashed); resume it from its last checkpoint"
    if job.heartbeat and now - job.heartbeat > STALE_AFTER_S:
        return f"no heartbeat for {now - job.heartbeat:.0f} s; the worker is considered lost"
    return None


def _overdue_cancel(job: Job, now: float) -> bool:
    return (job.backend == "local" and job.cancel_requested and job.cancel_at is not None
            and now - job.cancel_at > CANCEL_GRACE_S + 5 + (CHECKPOINT_GRACE_S if job.phase.startswith("checkpointing")
                                                            else 0)
            and process_alive(job.pid, job.pid_started))


def own_children(proc: psutil.Process) -> list[psutil.Process]:
    """What a worker started for its own job (DataLoader workers, auto's candidates, torchrun ranks), not the
    workers of other jobs it launched while it looked at the queue (a sweep driver starts its trials): those
    are jobs of their own, in sessions of their own, and outlive it."""
    out: list[psutil.Process] = []
    try:
        children = proc.children(recursive=True)
    except psutil.Error:
        return out
    others = set()
    for child in children:
        try:
            if "genesis_core.jobs.worker" in " ".join(child.cmdline()) and child.pid != proc.pid:
                others.add(child.pid)
                others.update(c.pid for c in child.children(recursive=True))
        except psutil.Error:
            continue
    return [c for c in children if c.pid not in others]


def _kill_worker_group(job: Job) -> None:
    """SIGKILL a local worker and everything it started for its job (its own session: DataLoader workers,
    candidates; not other jobs' workers it launched, which have sessions of their own)."""
    if job.pid is None:
        return
    try:
        proc = psutil.Process(job.pid)
        children = own_children(proc)
    except psutil.Error:
        return
    try:
        if os.getpgid(job.pid) == job.pid:
            os.killpg(job.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    end_processes([proc, *children], grace_s=0)


def launch(job: Job, workspace: Workspace) -> None:
    """Start the job's worker on its backend (jobs/backends.py)."""
    BACKENDS.get(job.backend)().launch(job, workspace)


def tick(workspace: Workspace | None = None) -> list[str]:
    """Reconcile dead workers and start what fits. Returns the ids of the jobs it started."""
    workspace = workspace or Workspace()
    store = JobStore(workspace.jobs_db)
    LocalBackend.reap()
    to_start: list[Job] = []
    now = time.time()
    try:
        with store.transaction():
            running = store.list("running")
            for job in running:
                reason = _worker_gone(job, now)
                if not reason and _overdue_cancel(job, now):
                    _kill_worker_group(job)  # it ignored the cancel and its own watchdog: stop it from here
                    waited = now - (job.cancel_at or now)
                    store.finish(job.id, "cancelled", f"stopped {waited:.0f} s after the cancel request "
                                                      "(it did not stop by itself); its last checkpoint is kept")
                    continue
                if not reason:
                    continue
                if job.cancel_requested:  # it died while stopping (or its watchdog ended it): that is a cancel
                    store.finish(job.id, "cancelled", "cancelled; its last checkpoint is kept")
                    continue
                if job.pid is None and job.launches < MAX_LAUNCHES:  # the launch window: marked running, but the
                    # process that was to start its worker ended first (or the worker died before claiming it)
                    store.update(job.id, status="queued", started=None, heartbeat=None,
                                 error=f"its worker never started (launch {job.launches} of {MAX_LAUNCHES}); "
                                       "back in the queue")
                    continue
                auto = int((job.config.get("trainer") or {}).get("auto_resume", 0) or 0)
                if job.attempts < auto and not job.cancel_requested:  # a crash: continue from the checkpoint
                    store.update(job.id, status="queued", resume=1, attempts=job.attempts + 1, pid=None,
                                 error=f"auto-resume {job.attempts + 1}/{auto} after: {reason.split(';')[0]}",
                                 eta_s=None)
                else:
                    store.finish(job.id, "failed", reason)
            still_running = store.list("running")
            busy = Counter((j.device, j.lane) for j in still_running)
            busy_runs = {j.run_id for j in still_running}
            settings = read_settings(workspace)  # read once per look at the queue
            for job in reversed(store.list("queued")):  # oldest first
                lane = (job.device, job.lane)
                if busy[lane] >= max_concurrent(job.device, job.lane, settings=settings) or job.run_id in busy_runs:
                    continue  # no free slot, or its run is being written (two jobs never write one run)
                busy[lane] += 1
                busy_runs.add(job.run_id)
                store.update(job.id, status="running", started=now, heartbeat=now, pid=None, error=None,
                             finished=None, launches=job.launches + 1)
                to_start.append(job)
        started = []
        for job in to_start:
            try:
                launch(job, workspace)
                started.append(job.id)
            except (OSError, WorkbenchError) as exc:
                store.finish(job.id, "failed", f"could not start the worker: {one_sentence(exc)}")
        return started
    finally:
        store.close()
