"""Where a job's worker process runs. Every backend runs the same command,
`python -m genesis_core.jobs.worker JOB_ID` (under torchrun for DDP jobs); the worker claims its job, beats a
heartbeat into the workspace's job store and writes its run, wherever it runs.

  local   a detached process on this machine (the default)
  ray     a detached Ray actor that starts the worker on a node of a Ray cluster: the cluster at the job's
          address, or a local one this backend starts bound to 127.0.0.1 (`ray start --head`, recorded in
          the workspace's ray.json). GPU jobs ask Ray for as many GPUs as processes.

On a multi-node Ray cluster every node must see the same workspace folder (GENESIS_HOME on shared storage:
NFS, a mounted bucket) and the same code: the job store, the runs and their logs live there. A worker that
dies on any node stops beating and is noticed like a dead local worker: failed, or resumed from its last
checkpoint when the job allows it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from genesis_core.errors import WorkbenchError
from genesis_core.jobs import warm
from genesis_core.registry import BACKENDS

ROOT = Path(__file__).resolve().parents[2]


class BackendError(WorkbenchError, RuntimeError):
    """A backend that cannot run jobs here (Ray not installed, a cluster that does not answer)."""


def worker_command(job) -> list[str]:
    if job.nproc > 1:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={job.nproc}",
                "-m", "genesis_core.jobs.worker", job.id]
    return [sys.executable, "-m", "genesis_core.jobs.worker", job.id]


def worker_env(workspace) -> dict[str, str]:
    env = {**os.environ, "GENESIS_HOME": str(workspace.root), "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@BACKENDS.register("local")
class LocalBackend:
    """A detached OS process on this machine; it outlives the page, the tab and the app that started it. On
    Linux it is forked from this environment's warm interpreter when one is ready (jobs/warm.py: the libraries
    are imported once, the workbench's code afresh for each job), otherwise a fresh interpreter."""

    name = "local"
    _children: list[subprocess.Popen] = []  # polled so they never linger as zombies

    def launch(self, job, workspace) -> None:
        run_log = workspace.get_run(job.run_id).log_path
        run_log.parent.mkdir(parents=True, exist_ok=True)
        env = worker_env(workspace)
        if job.nproc == 1 and warm.start_worker(job.id, env, str(ROOT), str(run_log)):
            return
        with open(run_log, "ab") as log:
            proc = subprocess.Popen(worker_command(job), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, cwd=ROOT,
                                    start_new_session=True, close_fds=True)
        self._children.append(proc)

    @classmethod
    def reap(cls) -> None:
        warm.reap()
        for proc in list(cls._children):
            if proc.poll() is not None:
                cls._children.remove(proc)


# -- Ray ------------------------------------------------------------------------------------------------------
def _ray():
    # read by Ray when it is imported: with clusters "disabled" a node's address is the loopback one, so a local
    # instance binds nothing beyond 127.0.0.1 and this process talks to it there
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
        from ray._private import ray_constants
    except ImportError as exc:
        raise BackendError("the Ray backend needs the `ray` package (`pip install ray`).") from exc
    ray_constants.ENABLE_RAY_CLUSTER = False  # also when Ray was imported before the variable was set
    return ray


def _loopback_env() -> dict[str, str]:
    # Ray binds its servers to the node's address; with clusters "disabled" that address is the loopback one,
    # so nothing of a local instance listens beyond 127.0.0.1
    return {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reachable(address: str, timeout: float = 1.0) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def _ray_temp_dir(workspace) -> Path:
    """The folder of this workspace's local Ray instance: its own, so that its processes can be told apart from
    any other Ray on the machine (short: Ray's socket paths must fit in 107 characters)."""
    import hashlib

    return Path("/tmp") / f"genesis-ray-{hashlib.sha256(str(Path(workspace.root).resolve()).encode()).hexdigest()[:10]}"


def _instance_processes(temp_dir: str, address: str, recorded: list | None = None) -> list:
    """The processes of one local Ray instance: the ones recorded when it started (same pid and start time),
    any whose command line names its temp folder or its address, and all their descendants (workers and agents
    rename themselves, but they are the raylet's children)."""
    import psutil

    roots: dict[int, Any] = {}
    for pid, created in recorded or []:
        try:
            proc = psutil.Process(int(pid))
            if abs(proc.create_time() - float(created)) < 1e-3:
                roots[proc.pid] = proc
        except (psutil.Error, ValueError, TypeError):
            continue
    for proc in psutil.process_iter(["cmdline"]):
        try:
            line = " ".join(proc.info["cmdline"] or [])
        except psutil.Error:
            continue
        if temp_dir in line or (address and f"--address={address}" in line):
            roots[proc.pid] = proc
    found = dict(roots)
    for proc in roots.values():
        try:
            found.update({c.pid: c for c in proc.children(recursive=True)})
        except psutil.Error:
            continue
    found.pop(os.getpid(), None)
    return list(found.values())


def local_cluster(workspace, start: bool = True, num_cpus: int | None = None) -> str | None:
    """The address of this workspace's local Ray instance (bound to 127.0.0.1), started if it is not
    running and `start`; None when there is none and none was to be started."""
    record = Path(workspace.root) / "ray.json"
    if record.exists():
        address = _read_record(record).get("address", "")
        if address and _reachable(address):
            return address
    if not start:
        return None
    _ray()
    port = _free_port()
    cpus = num_cpus or max(1, int(os.environ.get("GENESIS_RAY_CPUS", os.cpu_count() or 1)))
    temp_dir = _ray_temp_dir(workspace)
    cmd = [str(Path(sys.executable).parent / "ray"), "start", "--head", "--node-ip-address=127.0.0.1",
           f"--port={port}", f"--num-cpus={cpus}", "--include-dashboard=false", "--disable-usage-stats",
           f"--object-store-memory={int(os.environ.get('GENESIS_RAY_OBJECT_STORE', 200 * 2**20))}",
           f"--ray-client-server-port={_free_port()}", f"--temp-dir={temp_dir}"]
    env = {**_loopback_env(), "PYTHONPATH": str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"]
                                                         if os.environ.get("PYTHONPATH") else "")}
    address = f"127.0.0.1:{port}"
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180)
    except subprocess.TimeoutExpired as exc:
        end_processes(_instance_processes(str(temp_dir), address))
        raise BackendError("a local Ray instance did not start within 180 s.") from exc
    if out.returncode != 0 or not _reachable(address, 5):
        end_processes(_instance_processes(str(temp_dir), address))  # half-started: nothing of it stays behind
        tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BackendError(f"a local Ray instance did not start ({tail[0]}).")
    from genesis_core.store.files import atomic_write_text

    procs = _instance_processes(str(temp_dir), address)
    atomic_write_text(record, json.dumps({"address": address, "started": time.time(), "cpus": cpus,
                                          "temp_dir": str(temp_dir),
                                          "pids": [[p.pid, p.create_time()] for p in procs if p.is_running()]}))
    return address


def _read_record(record: Path) -> dict[str, Any]:
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def end_processes(procs: list, grace_s: float = 10.0) -> None:
    """SIGTERM the processes, SIGKILL those still alive after `grace_s` (0: SIGKILL at once), reap them."""
    import psutil

    alive = list(procs)
    if grace_s > 0:
        for proc in alive:
            try:
                proc.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(alive, timeout=grace_s)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)


def ray_configured(workspace) -> str | None:
    """The Ray address jobs would go to when a cluster is configured (GENESIS_RAY_ADDRESS, or the workspace's
    running local instance); None otherwise."""
    address = os.environ.get("GENESIS_RAY_ADDRESS", "")
    if address:
        return address
    record = Path(workspace.root) / "ray.json"
    if record.exists():
        address = _read_record(record).get("address", "")
        return address if address and _reachable(address, 0.2) else None
    return None


def stop_local_cluster(workspace) -> int:
    """Stop the local Ray instance this workspace started, and only it: its recorded processes (pid and start
    time), those that name its own temp folder or address, and their children; any other Ray instance on the
    machine is left alone (`ray stop` would stop them all). Returns how many processes were stopped."""
    record = Path(workspace.root) / "ray.json"
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():  # disconnect first: no log dump at exit
        sys.modules["ray"].shutdown()
        _connected.clear()
    data = _read_record(record)
    temp_dir = data.get("temp_dir") or str(_ray_temp_dir(workspace))
    procs = _instance_processes(temp_dir, data.get("address", ""), data.get("pids"))
    end_processes(procs)
    record.unlink(missing_ok=True)
    if Path(temp_dir).name.startswith("genesis-ray-"):
        shutil.rmtree(temp_dir, ignore_errors=True)
    return len(procs)


_connected: dict[str, Any] = {}
_lock = threading.Lock()


def connect(address: str):
    """This process, connected to the Ray cluster at `address` (once)."""
    ray = _ray()
    with _lock:
        if _connected.get("address") != address:
            if ray.is_initialized():
                ray.shutdown()
            local = address.startswith(("127.0.0.1:", "localhost:"))
            try:
                ray.init(address=address, namespace="genesis", ignore_reinit_error=True, log_to_driver=False,
                         logging_level="ERROR", **({"_node_ip_address": "127.0.0.1"} if local else {}))
            except Exception as exc:  # ConnectionError, timeouts: one sentence
                raise BackendError(f"the Ray cluster at {address} does not answer ({type(exc).__name__}).") from exc
            _connected["address"] = address
    return ray


class _Runner:
    """A Ray actor that runs one job's worker as its child process and ends with it."""

    def __init__(self, cmd: list[str], env: dict[str, str], log_path: str, cwd: str):
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env, cwd=cwd)
        threading.Thread(target=self._exit_with_worker, daemon=True).start()

    def _exit_with_worker(self) -> None:
        self.proc.wait()
        os._exit(0)  # the actor's process ends with its worker: nothing lingers on the cluster

    def node(self) -> str:
        return socket.gethostname()


@BACKENDS.register("ray")
class RayBackend:
    name = "ray"

    def launch(self, job, workspace) -> None:
        address = job.backend_address or os.environ.get("GENESIS_RAY_ADDRESS") or local_cluster(workspace)
        if not address:
            raise RuntimeError("no Ray cluster to send the job to: start one with `genesis ray start`")
        ray = connect(address)
        run_log = workspace.get_run(job.run_id).log_path
        run_log.parent.mkdir(parents=True, exist_ok=True)
        gpus = job.nproc if job.device == "cuda" else 0
        runner = ray.remote(_Runner).options(name=f"job-{job.id}-{job.attempts}", lifetime="detached",
                                              num_cpus=1, num_gpus=gpus, max_restarts=0,
                                              runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
        env = worker_env(workspace)
        runner.remote(worker_command(job), env, str(run_log), str(ROOT))
