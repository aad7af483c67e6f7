"""Jobs on a real local Ray instance (bound to 127.0.0.1, started by the backend, stopped after): a job runs and
logs into its run; a worker killed on Ray is noticed by its silence and resumes from its checkpoint."""

import importlib.util
import os
import signal
import time

import psutil
import pytest

from genesis_core.jobs import api, scheduler
from genesis_core.jobs.backends import local_cluster, stop_local_cluster
from genesis_core.store.metrics import MetricsReader
from tests.timeouts import scaled

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="the ray package is not installed")]


@pytest.fixture
def cluster(workspace, monkeypatch):
    monkeypatch.setenv("GENESIS_RAY_CPUS", "2")
    monkeypatch.setenv("GENESIS_RAY_OBJECT_STORE", str(100 * 2**20))
    try:  # stopped whatever happens: a half-started or failed instance leaves no daemon behind
        yield local_cluster(workspace)
    finally:
        stop_local_cluster(workspace)


def ray_listeners() -> list[str]:
    out = []
    for conn in psutil.net_connections(kind="inet"):
        if conn.status != psutil.CONN_LISTEN or conn.pid is None:
            continue
        try:
            name = " ".join(psutil.Process(conn.pid).cmdline())
        except psutil.Error:
            continue
        if "ray" in name:
            out.append(conn.laddr.ip)
    return out


def test_a_job_runs_on_ray_and_nothing_listens_beyond_loopback(workspace, tiny_config, cluster):
    assert cluster.startswith("127.0.0.1:")
    listening = ray_listeners()
    assert listening and all(ip in ("127.0.0.1", "::ffff:127.0.0.1", "::1") for ip in listening), listening
    job = api.submit(tiny_config, workspace=workspace, backend="ray")
    assert job.backend == "ray"
    done = api.wait(job.id, workspace, timeout=scaled(180))
    assert done.status == "succeeded", api.log_tail(done, workspace)
    assert "training finished at step 40/40" in api.log_tail(done, workspace)  # the log came back to the run
    assert len(MetricsReader(workspace.get_run(done.run_id).metrics_path).series("loss")) > 0


def test_a_killed_ray_worker_is_noticed_and_resumes_from_its_checkpoint(workspace, tiny_config, cluster,
                                                                        monkeypatch):
    monkeypatch.setattr(scheduler, "STALE_AFTER_S", 10.0)  # a resumed worker starting on a busy machine beats late
    config = dict(tiny_config, trainer={**tiny_config["trainer"], "steps": 600, "checkpoint_every": 20,
                                        "eval_every": 0, "auto_resume": 1})
    job = api.submit(config, workspace=workspace, backend="ray")
    deadline = time.monotonic() + scaled(120)
    while time.monotonic() < deadline:  # until it is training and has a checkpoint to resume from
        job = api.get(job.id, workspace)
        if job.pid and job.step >= 40 and workspace.get_run(job.run_id).latest_checkpoint() is not None:
            break
        time.sleep(0.3)
    os.kill(job.pid, signal.SIGKILL)
    final = api.wait(job.id, workspace, timeout=scaled(300))
    assert final.status == "succeeded" and final.attempts == 1, api.log_tail(final, workspace)
    events = MetricsReader(workspace.get_run(final.run_id).metrics_path).events()["kind"].tolist()
    assert "resume" in events


def test_ray_stop_stops_only_this_workspaces_instance(workspace, cluster, tmp_path, monkeypatch, capsys):
    from genesis_core.cli.commands import main
    from genesis_core.jobs.backends import _reachable
    from genesis_core.store.workspace import Workspace

    other = Workspace(tmp_path / "other")
    monkeypatch.setenv("GENESIS_HOME", str(other.root))
    try:
        mine = local_cluster(other)
        assert mine != cluster and _reachable(mine)
        assert main(["ray", "stop"]) == 0
        assert "stopped the workspace's local Ray instance" in capsys.readouterr().out
        assert not _reachable(mine, 2)
        assert _reachable(cluster)  # the first workspace's instance is untouched
    finally:
        stop_local_cluster(other)
    assert main(["ray", "status"]) == 0 and "no local Ray instance" in capsys.readouterr().out
