"""Warm starts: a worker forked from the warm interpreter trains exactly as a fresh one, is detached the same way,
and the warm interpreter is private, keyed by what it imported with, and ends when idle."""

import os

import psutil
import pytest
from hypothesis import given, settings, strategies as st

from genesis_core.jobs import api, warm
from genesis_core.store.metrics import MetricsReader
from tests.timeouts import scaled, wait_until


@pytest.fixture
def own_warm_folder(tmp_path, monkeypatch):
    """A warm interpreter of this test's own (the suite's shared one is left alone), ending 3 s after its last job,
    in a folder whose socket path is longer than a Unix socket's 107 bytes (as under a long TMPDIR)."""
    runtime = tmp_path / ("run-" + "x" * 90)
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("GENESIS_WARM_IDLE_S", "3")
    return runtime / f"genesis-warm-{os.getuid()}"


def _losses(workspace, job):
    run = workspace.get_run(job.run_id)
    return MetricsReader(run.metrics_path).series("loss")["value"].tolist()


@pytest.mark.slow
def test_a_forked_worker_trains_exactly_as_a_fresh_one_and_the_warm_interpreter_ends_when_idle(
        workspace, tiny_config, own_warm_folder):
    tiny_config["trainer"]["steps"] = 10
    cold = api.wait(api.submit(tiny_config, workspace=workspace).id, workspace, timeout=scaled(120))
    assert cold.status == "succeeded", api.log_tail(cold, workspace)
    assert "forked from the warm interpreter" not in api.log_tail(cold, workspace, lines=400)
    # the first job started the warm interpreter beside it; the next one is forked from it
    sock = wait_until(lambda: next(own_warm_folder.glob("*.sock"), None), timeout=scaled(120))
    assert (own_warm_folder.stat().st_mode & 0o777) == 0o700 and (sock.stat().st_mode & 0o777) == 0o600
    forked = api.submit(tiny_config, workspace=workspace)
    worker = wait_until(lambda: api.get(forked.id, workspace).pid)
    try:
        proc = psutil.Process(worker)
        assert os.getsid(worker) == worker  # a session of its own, as a detached fresh interpreter
        assert proc.ppid() != os.getpid() and "genesis_core.jobs.warm" in " ".join(proc.cmdline())
    except psutil.NoSuchProcess:
        pass  # it may already have finished: the log and the figures below still tell
    forked = api.wait(forked.id, workspace, timeout=scaled(120))
    assert forked.status == "succeeded", api.log_tail(forked, workspace)
    assert "forked from the warm interpreter" in api.log_tail(forked, workspace, lines=400)
    assert _losses(workspace, forked) == _losses(workspace, cold)  # same seed, same numbers
    assert forked.metrics == cold.metrics
    # idle: it ends by itself and takes its socket with it
    wait_until(lambda: not sock.exists(), timeout=scaled(60))
    log = next(own_warm_folder.glob("*.log")).read_text()
    assert "ready in" in log and "idle: ending" in log


def test_turned_off_or_in_a_folder_others_can_write_there_are_no_warm_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("GENESIS_WARM_WORKERS", "0")
    assert warm.start_worker("job-x", dict(os.environ), str(tmp_path), str(tmp_path / "log")) is None
    assert not list(tmp_path.glob("genesis-warm-*"))  # nothing started, nothing made
    monkeypatch.setenv("GENESIS_WARM_WORKERS", "1")
    folder = tmp_path / f"genesis-warm-{os.getuid()}"
    folder.mkdir()
    folder.chmod(0o777)
    assert warm.start_worker("job-x", dict(os.environ), str(tmp_path), str(tmp_path / "log")) is None
    assert list(folder.iterdir()) == []  # never a socket, a lock or a server where others can write


NAMES = st.sampled_from(["OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "PYTHONHASHSEED",
                         "TORCH_HOME", "PYTHONPATH", "GENESIS_HOME", "GENESIS_DEVICE", "HOME", "PATH", "RUN_ID"])
ENVS = st.dictionaries(NAMES, st.text("ab1/", max_size=3), max_size=6)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(ENVS, ENVS)
def test_two_environments_share_a_warm_interpreter_exactly_when_what_imports_read_is_equal(a, b):
    def read_at_import(env):
        return {k: v for k, v in env.items() if k.startswith(warm.KEYED_PREFIXES)}

    assert (warm.environment_key(a) == warm.environment_key(b)) == (read_at_import(a) == read_at_import(b))
