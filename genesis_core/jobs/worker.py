"""The worker process of one job: `python -m genesis_core.jobs.worker JOB_ID`.

It claims the job, beats a heartbeat every second (a cancel request reaches it there), locks the run
folder so no other job writes it, trains through the shared Trainer, and records the outcome. Under
`torchrun` only rank 0 talks to the job store. SIGTERM and a cancel request both stop gracefully: the
Trainer checkpoints and the job ends as cancelled.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import math
import sys
import threading
import time
import traceback

from genesis_core.formatting import format_eta


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class RunLock:
    """An exclusive advisory lock on a run folder, held for the life of the worker."""

    def __init__(self, run_dir):
        self.path = os.path.join(run_dir, ".lock")
        self.fh = None

    def __enter__(self) -> RunLock:
        self.fh = open(self.path, "w")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise RuntimeError("another job is writing this run; it cannot be written twice at once") from None
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def _heartbeat_loop(store_path, job_id: str, stop_event: threading.Event, done: threading.Event) -> None:
    from genesis_core.jobs.scheduler import CANCEL_GRACE_S, CHECKPOINT_GRACE_S, HEARTBEAT_INTERVAL_S
    from genesis_core.jobs.store import JobStore

    store = JobStore(store_path)
    stopping_since = None
    try:
        while not done.wait(HEARTBEAT_INTERVAL_S):
            try:
                if store.heartbeat(job_id) and not stop_event.is_set():
                    _log("cancel requested: checkpointing and stopping")
                    stop_event.set()
            except Exception as exc:  # a locked database must not kill the training
                _log(f"heartbeat skipped: {exc}")
            if stop_event.is_set():
                stopping_since = stopping_since or time.monotonic()
                waited = time.monotonic() - stopping_since
                if waited > CANCEL_GRACE_S and not (waited < CANCEL_GRACE_S + CHECKPOINT_GRACE_S
                                                   and _phase(store, job_id).startswith("checkpointing")):
                    _end_now(store, job_id, waited)  # (a checkpoint being written gets its time: it is the one kept)
    finally:
        store.close()


def _phase(store, job_id: str) -> str:
    try:
        return store.get(job_id).phase or ""
    except Exception:  # a locked or vanished store: no extension
        return ""


def _end_now(store, job_id: str, waited: float) -> None:
    """A cancelled job still busy after the grace period (a long evaluation, an SDV fit, a scoring step with no
    stop point): mark it cancelled, its last checkpoint kept, and end this worker and everything it started."""
    import psutil

    from genesis_core.jobs.backends import end_processes
    from genesis_core.jobs.scheduler import own_children

    _log(f"still busy {waited:.0f} s after the stop request: ending the worker now; the last checkpoint is kept")
    end_processes(own_children(psutil.Process()), grace_s=0)  # first: the slot is free only once they are gone
    try:
        store.finish(job_id, "cancelled", f"stopped {waited:.0f} s after the cancel request (the job had no stop "
                                          "point in its current phase); its last checkpoint is kept")
        store.close()
    except Exception as exc:  # the reconciler marks it cancelled instead (the cancel request is recorded)
        _log(f"could not record the cancel: {exc}")
    sys.stdout.flush()
    os._exit(143)  # at once after the record: nothing runs between the slot freeing and this process ending


def run_job(job_id: str) -> int:
    import psutil

    from genesis_core.jobs.scheduler import tick
    from genesis_core.jobs.store import JobStore
    from genesis_core.store.workspace import Workspace

    rank = int(os.environ.get("RANK", "0"))
    is_main = rank == 0
    workspace = Workspace()
    store = JobStore(workspace.jobs_db)
    job = store.get(job_id)
    stop_event = threading.Event()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_event.set())

    if is_main:
        me = psutil.Process()
        if not store.claim(job_id, me.pid, me.create_time()):
            _log(f"job {job_id} is no longer waiting to run ({store.get(job_id).status}); exiting")
            return 0
        threading.Thread(target=_heartbeat_loop, args=(workspace.jobs_db, job_id, stop_event, done),
                         daemon=True).start()
        _log(f"job {job_id} started (task {job.task}, run {job.run_id}, attempt {job.attempts + 1},"
             f" {'resume' if job.resume else 'fresh'})")

    status, error = "failed", None
    try:
        run = workspace.get_run(job.run_id)
        with RunLock(run.dir) if is_main else contextlib.nullcontext():
            result = train_from_job(job, run, stop_event, store if is_main else None)
        status = "succeeded" if result.reason in ("finished", "early_stopped") else "cancelled"
        if is_main:
            _log(f"training {result.reason} at step {result.step}/{result.total_steps}; "
                 + ", ".join(f"{k}={v:.4g}" for k, v in result.eval_metrics.items()))
    except Exception as exc:
        if stop_event.is_set() and isinstance(exc, InterruptedError):  # a job's own stop point: a cancel, not a crash
            status, error = "cancelled", "cancelled; its last checkpoint is kept"
            _log("job cancelled")
        else:
            traceback.print_exc()
            error = f"{type(exc).__name__}: {exc}"
            _log(f"job failed: {error}")
    finally:
        done.set()
        if is_main:
            store.finish(job_id, status, error)
            store.close()
            tick(workspace)  # start whatever was waiting for this slot
    return 0 if status != "failed" else 1


class MonotoneProgress:
    """A job's progress as it is shown: it never moves backwards. A report whose share of the work is below one
    already shown keeps the share shown (with its own message), so a phase that counts from 0 again inside a
    job (a text model after a table model, say) never sends the bar back."""

    def __init__(self):
        self.best = 0.0

    def __call__(self, p: dict) -> dict:
        total = max(int(p["total"]), 1)
        share = min(max(p["step"] / total, 0.0), 1.0)
        if share < self.best:
            p = {**p, "step": int(math.ceil(self.best * total))}
        self.best = max(self.best, share)
        return p


def train_from_job(job, run, stop_event, store):
    from genesis_core.registry import task_config
    from genesis_core.training.launch import launch

    milestones = {"next": 0.0, "at": 0.0}
    forward = MonotoneProgress()

    def reporter(p):
        p = forward(p)
        if store is not None:
            store.report(job.id, p["step"], p["total"], p["eta_s"], p["metrics"], p.get("message", ""))
        frac = p["step"] / max(p["total"], 1)
        # a log line every 10% of the run, and at least every 30 s on long runs
        if frac >= milestones["next"] or time.monotonic() - milestones["at"] > 30:
            milestones["next"] = frac + 0.1
            milestones["at"] = time.monotonic()
            loss = p["metrics"].get("loss")
            eta = f", eta {format_eta(p['eta_s'])}" if p["eta_s"] is not None else ""
            _log(f"step {p['step']}/{p['total']} ({frac:.0%})" + (f", loss {loss:.4g}" if loss is not None else "")
                 + eta + (f" · {p['message']}" if p.get("message") else ""))

    return launch(task_config(job.config, job.task), run, stop_event, reporter, resume=job.resume)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m genesis_core.jobs.worker JOB_ID", file=sys.stderr)
        return 2
    return run_job(argv[0])


if __name__ == "__main__":
    sys.exit(main())
