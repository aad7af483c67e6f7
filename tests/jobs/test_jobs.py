"""Real jobs in real worker processes on a tiny model: submit, complete, fail, cancel, SIGKILL and
resume, queue limit, app-restart reconciliation, one writer per run."""

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from genesis_core.jobs import api, scheduler
from genesis_core.jobs.store import JobStateError, JobStore
from genesis_core.jobs.worker import RunLock
from genesis_core.store.metrics import MetricsReader
from tests.timeouts import scaled, wait_until

pytestmark = pytest.mark.slow


def losses(workspace, job):
    run = workspace.get_run(job.run_id)
    return MetricsReader(run.metrics_path).series("loss").set_index("step")["value"].to_dict()


def test_submit_runs_in_another_process_and_completes(workspace, tiny_config):
    job = api.submit(tiny_config, workspace=workspace)
    assert job.status == "running"
    done = api.wait(job.id, workspace, timeout=scaled(120))
    assert done.status == "succeeded", api.log_tail(done, workspace)
    assert done.pid is None and done.step == done.total == 40
    assert done.metrics["eval/mse"] > 0 and "loss" in done.metrics
    assert "training finished at step 40/40" in api.log_tail(done, workspace)
    from genesis_core.training.loading import load_model
    trained = load_model(done.run_id, workspace)
    assert trained.meta["step"] == 40


def test_a_failing_job_shows_its_error_and_nothing_else_is_affected(workspace, tiny_config):
    bad = dict(tiny_config, data={"dataset": "image_folder", "path": "/nowhere/images"})
    failed = api.wait(api.submit(bad, workspace=workspace).id, workspace, timeout=scaled(120))
    assert failed.status == "failed"
    assert "/nowhere/images" in failed.error
    assert "Traceback" in api.log_tail(failed, workspace)
    ok = api.wait(api.submit(tiny_config, workspace=workspace).id, workspace, timeout=scaled(120))
    assert ok.status == "succeeded"


def test_cancel_checkpoints_and_stops_then_resume_finishes(workspace, tiny_config, monkeypatch):
    tiny_config["trainer"].update(steps=200000, checkpoint_every=0)
    job = api.submit(tiny_config, workspace=workspace)
    wait_until(lambda: api.get(job.id, workspace).step > 20)
    api.cancel(job.id, workspace)
    cancelled = api.wait(job.id, workspace, timeout=scaled(60))
    assert cancelled.status == "cancelled"
    run = workspace.get_run(job.run_id)
    stopped_at = int(run.latest_checkpoint().name.split("_")[1])
    assert stopped_at >= 20
    with pytest.raises(JobStateError, match="already cancelled"):
        api.cancel(job.id, workspace)
    # queued jobs cancel at once
    monkeypatch.setenv("GENESIS_MAX_JOBS_CPU", "1")
    blocker = api.submit(dict(tiny_config, trainer={**tiny_config["trainer"], "steps": 200000}),
                         workspace=workspace)
    queued = api.submit(tiny_config, workspace=workspace)
    assert queued.status == "queued"
    assert api.cancel(queued.id, workspace).status == "cancelled"
    api.cancel(blocker.id, workspace)
    api.wait(blocker.id, workspace, timeout=scaled(60))


def test_sigkill_is_noticed_and_resume_gives_identical_metrics(workspace, tiny_config):
    tiny_config["trainer"].update(steps=1000, checkpoint_every=50, eval_every=100)
    reference = api.wait(api.submit(tiny_config, workspace=workspace).id, workspace, timeout=scaled(180))
    assert reference.status == "succeeded"

    job = api.submit(tiny_config, workspace=workspace)
    run = workspace.get_run(job.run_id)
    wait_until(lambda: run.latest_checkpoint() is not None and api.get(job.id, workspace).step > 60)
    os.kill(api.get(job.id, workspace).pid, signal.SIGKILL)
    killed_at = time.monotonic()

    def reconciled_failure():
        api.list_jobs(workspace)  # what any page or CLI call does: tick the queue
        job_now = api.get(job.id, workspace)
        return job_now if job_now.status == "failed" else None

    failed = wait_until(reconciled_failure, timeout=scaled(15))
    assert time.monotonic() - killed_at < 10  # noticed within seconds
    assert "ended without reporting" in failed.error

    resumed = api.resume(job.id, workspace)
    assert resumed.attempts == 1 and resumed.resume
    final = api.wait(job.id, workspace, timeout=scaled(180))
    assert final.status == "succeeded", api.log_tail(final, workspace)
    assert losses(workspace, final) == losses(workspace, reference)
    kinds = MetricsReader(run.metrics_path).events()["kind"].tolist()
    assert kinds[:2] == ["start", "resume"] and kinds[-1] == "finished"


def test_queue_respects_the_per_device_limit(workspace, tiny_config, monkeypatch):
    monkeypatch.setenv("GENESIS_MAX_JOBS_CPU", "1")
    first = api.submit(tiny_config, workspace=workspace)
    second = api.submit(tiny_config, workspace=workspace)
    assert first.status == "running" and second.status == "queued"
    place, reason = api.queue_positions(workspace)[second.id]
    assert place == 1 and f"slot(s) are taken by {first.id}" in reason
    a = api.wait(first.id, workspace, timeout=scaled(120))
    b = api.wait(second.id, workspace, timeout=scaled(120))
    assert a.status == b.status == "succeeded"
    assert b.started >= a.finished - 0.5  # the second waited for the first's slot


def test_a_short_job_runs_beside_long_training_on_one_cpu(workspace, tiny_config, monkeypatch):
    monkeypatch.setenv("GENESIS_MAX_JOBS_CPU", "1")
    long = dict(tiny_config, trainer={**tiny_config["trainer"], "steps": 4000, "eval_every": 0})
    training = api.submit(long, workspace=workspace)
    synthesis = api.submit({"task": "tabular_synthesis", "generator": "gaussian_copula", "report": False},
                           workspace=workspace)
    assert training.lane == "train" and synthesis.lane == "short"
    assert synthesis.status == "running"  # its own slot: it does not wait behind the training run
    done = api.wait(synthesis.id, workspace, timeout=scaled(180))
    assert done.status == "succeeded", api.log_tail(done, workspace)
    assert api.get(training.id, workspace).status == "running"  # both ran at the same time
    api.cancel(training.id, workspace)
    api.wait(training.id, workspace, timeout=scaled(60))


def test_jobs_survive_the_app_that_started_them_and_dead_workers_are_reconciled(workspace, tiny_config):
    # An "app" process submits a job and exits at once; the detached worker carries on.
    code = ("import genesis_core as gc, json, sys; "
            f"print(gc.submit({tiny_config!r}).id)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=scaled(120),
                         env=os.environ.copy())
    job_id = out.stdout.strip().splitlines()[-1]
    assert api.wait(job_id, workspace, timeout=scaled(120)).status == "succeeded"

    # A job marked running whose worker died while no app was up is failed by the next app's first look.
    store = JobStore(workspace.jobs_db)
    ghost = store.insert("image_autoencoder", workspace.create_run("image_autoencoder", tiny_config).id,
                         tiny_config, "cpu")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.update(ghost.id, status="running", started=time.time(), heartbeat=time.time(), pid=dead.pid,
                 pid_started=time.time())
    store.close()
    assert [j.status for j in api.list_jobs(workspace) if j.id == ghost.id] == ["failed"]


def test_two_jobs_never_write_the_same_run(workspace, tiny_config):
    tiny_config["trainer"]["steps"] = 200000
    job = api.submit(tiny_config, workspace=workspace)
    wait_until(lambda: api.get(job.id, workspace).pid)
    with pytest.raises(JobStateError, match="only failed or cancelled jobs can be resumed"):
        api.resume(job.id, workspace)
    run = workspace.get_run(job.run_id)
    with pytest.raises(RuntimeError, match="another job is writing this run"):
        with RunLock(run.dir):
            pass
    api.cancel(job.id, workspace)
    api.wait(job.id, workspace, timeout=scaled(60))
    with RunLock(run.dir):  # free again once the worker is gone
        pass


def test_stale_heartbeat_marks_a_hung_worker_failed(workspace, tiny_config, monkeypatch):
    store = JobStore(workspace.jobs_db)
    run = workspace.create_run("image_autoencoder", tiny_config)
    job = store.insert("image_autoencoder", run.id, tiny_config, "cpu")
    hung = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import psutil
        store.update(job.id, status="running", started=time.time() - 100, heartbeat=time.time() - 100,
                     pid=hung.pid, pid_started=psutil.Process(hung.pid).create_time())
        scheduler.tick(workspace)
        failed = store.get(job.id)
        assert failed.status == "failed" and "no heartbeat" in failed.error
    finally:
        hung.kill()
        hung.wait()
        store.close()


def test_a_cancel_frees_the_slot_within_seconds_even_inside_a_phase_with_no_stop_point(workspace):
    """CTGAN's fit inside SDV has no stop point: the worker's watchdog ends it after the grace period."""
    job = api.submit({"task": "tabular_synthesis", "generator": "ctgan", "epochs": 100000, "report": False},
                     workspace=workspace)
    wait_until(lambda: api.get(job.id, workspace).pid is not None, timeout=scaled(120))
    time.sleep(4)  # imports done, inside SDV's fit (which has 100,000 epochs to go)
    pid = api.get(job.id, workspace).pid
    t0 = time.monotonic()
    api.cancel(job.id, workspace)
    final = api.wait(job.id, workspace, timeout=scaled(60))
    freed = time.monotonic() - t0
    assert final.status == "cancelled" and "cancel" in (final.error or "")
    assert freed < scaled(10), freed

    def gone() -> bool:  # the record is the worker's last act before it exits: at most a moment later
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_until(gone, timeout=scaled(2))
