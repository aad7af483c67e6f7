"""A queue that explains itself: slots with their holders, changeable per workspace; a job is never lost in the
launch window (marked running, its launcher dead before the worker started)."""

import subprocess
import sys
import time

import pytest

from genesis_core.jobs import api, scheduler
from tests.timeouts import scaled


@pytest.mark.slow
def test_slots_name_their_holder_and_a_change_on_the_page_starts_what_fits(workspace, tiny_config, monkeypatch):
    monkeypatch.delenv("GENESIS_MAX_JOBS_CPU", raising=False)
    long = dict(tiny_config, trainer={**tiny_config["trainer"], "steps": 200000, "eval_every": 0,
                                      "checkpoint_every": 0})
    first = api.submit(long, workspace=workspace)
    second = api.submit(long, workspace=workspace)
    assert first.status == "running" and second.status == "queued"
    train = next(s for s in api.slots(workspace) if (s["device"], s["lane"]) == ("cpu", "train"))
    assert train["slots"] == 1 and [h["job"] for h in train["held_by"]] == [first.id] and train["waiting"] == 1
    line = api.describe_slot(train)
    assert line.startswith("cpu training: 1 of 1 taken by " + first.id) and "since" in line and "1 waiting" in line
    place, reason = api.queue_positions(workspace)[second.id]
    assert place == 1 and first.id in reason
    api.set_slots("cpu", "train", 2, workspace)  # what the Jobs page's number input calls
    assert api.get(second.id, workspace).status == "running"
    assert scheduler.slot_limit("cpu", "train", workspace) == (2, "set for this workspace")
    for job in (first, second):
        api.cancel(job.id, workspace)
    for job in (first, second):
        assert api.wait(job.id, workspace, timeout=scaled(60)).status == "cancelled"
    api.set_slots("cpu", "train", None, workspace)
    assert scheduler.slot_limit("cpu", "train", workspace)[1] != "set for this workspace"
    with pytest.raises(ValueError, match="between 1 and 64"):
        api.set_slots("cpu", "train", 0, workspace)


def test_jobs_slots_from_the_terminal(workspace, capsys):
    from genesis_core.cli.commands import main

    assert main(["jobs", "slots", "--set", "cpu/train=3"]) == 0
    out = capsys.readouterr().out
    assert "cpu training: 0 of 3 taken [limit set for this workspace]" in out


@pytest.mark.slow
def test_a_job_is_not_lost_when_its_launcher_dies_between_the_commit_and_the_spawn(workspace, tiny_config,
                                                                                  monkeypatch):
    code = ("import os, sys\n"
            "from genesis_core.jobs import api, scheduler\n"
            "scheduler.launch = lambda job, ws: os._exit(9)  # dies after the job is marked running\n"
            f"api.submit({tiny_config!r})\n")
    died = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=scaled(120))
    assert died.returncode == 9, died.stderr
    [job] = api.list_jobs(workspace, refresh=False)
    assert job.status == "running" and job.pid is None and job.launches == 1
    monkeypatch.setattr(scheduler, "STARTUP_GRACE_S", 1.0)  # (60 s by default: a slow machine's torch import)
    time.sleep(1.5)
    final = api.wait(job.id, workspace, timeout=scaled(180))
    assert final.status == "succeeded", api.log_tail(final, workspace)
    assert final.launches == 2


def test_a_cancelled_workers_kill_spares_the_workers_of_other_jobs_it_launched():
    import psutil

    from genesis_core.jobs.scheduler import own_children

    # a stand-in worker with two children: its own helper, and (as a sweep driver's tick would start) a job worker
    code = ("import subprocess, sys, time\n"
            "a = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "b = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', 'genesis_core.jobs.worker'])\n"
            "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        proc = psutil.Process(parent.pid)
        deadline = time.monotonic() + scaled(20)
        while len(proc.children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        kids = proc.children()
        assert len(kids) == 2
        own = own_children(proc)
        assert len(own) == 1 and "genesis_core.jobs.worker" not in " ".join(own[0].cmdline())
    finally:
        for p in psutil.Process(parent.pid).children(recursive=True):
            p.kill()
        parent.kill()
