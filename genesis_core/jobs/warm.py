"""Warm starts for local workers: a job's worker forked from an interpreter that has already imported the heavy
libraries, instead of a fresh one that spends seconds importing them.

A fresh `python -m genesis_core.jobs.worker JOB_ID` spends 4 s (torch) to 9 s (torch, pandas, scikit-learn, SDV)
of CPU on imports before it trains a step. The warm interpreter (`python -m genesis_core.jobs.warm`) imports
those libraries once and never runs anything with them: no Python thread, no CUDA context (the native pools
that load with them, OpenBLAS's and jemalloc's, mend themselves across a fork, as they do for every forked
DataLoader worker), so a fork is as safe as a DataLoader's. It waits on a Unix
socket in a private folder of this user (0700). For each job it forks twice: the worker is a new session of its
own whose parent is init, exactly like a detached fresh interpreter, with the job's environment, working folder
and log; then it imports genesis_core afresh from disk (the warm interpreter never keeps the workbench's own
code, so an edit is always seen) and runs the same `worker.main`.

One warm interpreter serves every workspace of one Python environment: it is keyed by the interpreter, the
site-packages folder's modification time (an install or an upgrade gets a new one), and the environment
variables read when those libraries are imported (OMP_*, MKL_*, CUDA_*, TORCH_*, PYTHON*...). It ends by itself
after `GENESIS_WARM_IDLE_S` seconds without a job (600). The first job of a fresh environment starts the way it
always did (a fresh interpreter) while the warm one loads beside it. `GENESIS_WARM_WORKERS=0` turns warm starts
off; they are used on Linux only (a fork without exec is not safe with macOS's system frameworks).

Only stdlib is imported at the top of this module: a worker's `multiprocessing` children started with "spawn"
import the main module again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

# what a job's worker imports before its first step, in import order; a missing one is skipped
PRELOAD = ("numpy", "pandas", "torch", "torch.nn", "torch.optim", "torch.utils.data", "torch.distributions",
           "safetensors.torch", "scipy.stats", "sklearn.preprocessing", "sklearn.neighbors", "sklearn.ensemble",
           "sklearn.model_selection", "torchvision", "yaml", "psutil", "sdv.single_table", "sdmetrics",
           "plotly.graph_objects")
KEYED_PREFIXES = ("OMP_", "MKL_", "OPENBLAS_", "KMP_", "GOMP_", "CUDA_", "NVIDIA_", "PYTORCH_", "TORCH_", "HIP_",
                  "ROCR_", "PYTHON", "LD_", "NUMBA_", "MPLBACKEND")
REQUEST_LIMIT = 1 << 20
RETRY_S = 120.0  # after a start, the next one waits this long (the first takes 10-20 s to load)


def enabled() -> bool:
    return sys.platform.startswith("linux") and os.environ.get("GENESIS_WARM_WORKERS", "1") != "0"


def idle_s() -> float:
    return float(os.environ.get("GENESIS_WARM_IDLE_S", "600"))


def _folder() -> Path | None:
    """This user's private folder for warm interpreters (None when it cannot be made private)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    folder = Path(base) / f"genesis-warm-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        st = folder.stat()
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None  # someone else's folder, or one others can write: never talk to a socket there
    return folder


def environment_key(env: dict[str, str] | None = None) -> str:
    """What a warm interpreter must share with the worker it forks: the interpreter, the installed packages and
    the environment read at import time."""
    items = (os.environ if env is None else env).items()
    try:
        site = os.stat(sysconfig.get_paths()["purelib"]).st_mtime_ns
    except OSError:
        site = 0
    keyed = sorted((k, v) for k, v in items if k.startswith(KEYED_PREFIXES))
    raw = json.dumps([sys.executable, sys.version, site, keyed])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _paths(key: str) -> tuple[Path, Path, Path] | None:
    folder = _folder()
    if folder is None:
        return None
    return folder / f"{key}.sock", folder / f"{key}.lock", folder / f"{key}.log"


def _socket_call(method, path: Path) -> None:
    """`sock.connect(path)` or `sock.bind(path)` for a path of any length: a Unix socket's path holds at most 107
    bytes, so a longer one is reached through a descriptor of its folder (/proc/self/fd/N/NAME)."""
    if len(os.fsencode(str(path))) < 100:
        method(str(path))
        return
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        method(f"/proc/self/fd/{folder}/{path.name}")
    finally:
        os.close(folder)


def start_worker(job_id: str, env: dict[str, str], cwd: str, log_path: str, timeout: float = 5.0) -> int | None:
    """Fork the job's worker from the warm interpreter of this environment; its pid, or None when there is none
    ready (one is then started for the next job, and the caller starts a fresh interpreter as before)."""
    if not enabled():
        return None
    key = environment_key(env)
    paths = _paths(key)
    if paths is None:
        return None
    sock_path, lock_path, log = paths
    request = json.dumps({"job": job_id, "env": env, "cwd": cwd, "log": log_path}).encode() + b"\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            _socket_call(conn.connect, sock_path)
            conn.sendall(request)
            reply = json.loads(_read_line(conn) or b"{}")
        pid = reply.get("pid")
        return int(pid) if isinstance(pid, int) and pid > 0 else None
    except (OSError, ValueError):
        pass
    _start_server(env, cwd, lock_path, log)
    return None


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n") and len(data) < REQUEST_LIMIT:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _start_server(env: dict[str, str], cwd: str, lock_path: Path, log: Path) -> None:
    """Start this environment's warm interpreter unless one holds its lock (loading, or serving), or one was
    started in the last RETRY_S seconds (one that cannot serve here is not started again for every job)."""
    try:
        if time.time() - lock_path.stat().st_mtime < RETRY_S:
            return
    except OSError:
        pass
    try:
        with open(lock_path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)  # released on close: only a probe
            os.utime(lock_path)
    except OSError:  # (BlockingIOError: one holds it)
        return
    try:
        with open(log, "ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "genesis_core.jobs.warm"], stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                    start_new_session=True, close_fds=True)
    except OSError:
        return
    _started.append(proc)


_started: list[subprocess.Popen] = []  # polled by reap() so that a warm interpreter never lingers as a zombie


def reap() -> None:
    for proc in list(_started):
        if proc.poll() is not None:
            _started.remove(proc)


# -- the warm interpreter -----------------------------------------------------------------------------------
def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] warm {os.getpid()}: {msg}", flush=True)


def serve() -> dict | None:
    """Load the libraries and serve fork requests until idle. Returns None in the warm interpreter when it ends,
    and the request in each forked worker (which then runs it from the top of this module, see `main`)."""
    key = environment_key()
    paths = _paths(key)
    if paths is None:
        return None
    sock_path, lock_path, _ = paths
    lock = open(lock_path, "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None  # another one is loading or serving
    started = time.monotonic()
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - an optional library that does not import is simply not warm
            _say(f"not preloaded: {name} ({type(exc).__name__})")
    import threading

    if threading.active_count() != 1:  # a library started a Python thread: a fork could copy a held lock
        _say(f"{threading.active_count()} Python threads after the imports; no warm starts from here")
        lock.close()
        return None
    for name in [m for m in sys.modules if m == "genesis_core" or m.startswith("genesis_core.")]:
        del sys.modules[name]  # the workbench's own code is always imported afresh by the worker
    sock_path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    _socket_call(server.bind, sock_path)
    os.chmod(sock_path, 0o600)
    server.listen(16)
    server.settimeout(1.0)
    _say(f"ready in {time.monotonic() - started:.1f} s ({len(sys.modules)} modules); idle exit after {idle_s():.0f} s")
    me, last = os.getpid(), time.monotonic()
    while time.monotonic() - last < idle_s() and sock_path.exists():
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        except OSError:
            break
        last = time.monotonic()
        try:
            conn.settimeout(5.0)
            request = json.loads(_read_line(conn))
            pid = _fork_worker(request, [server, conn, lock])
            if os.getpid() != me:  # the forked worker: leave the loop with its request
                return request
            conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            _say(f"request refused: {type(exc).__name__}: {exc}")
        finally:
            if os.getpid() == me:
                conn.close()
    if os.getpid() == me:
        server.close()
        sock_path.unlink(missing_ok=True)  # (ours: no other one serves while this one holds the lock)
        _say("idle: ending")
        lock.close()
    return None


def _fork_worker(request: dict, close: list) -> int:
    """Fork twice (the worker's parent is init, as for a detached interpreter) and return the worker's pid in
    the warm interpreter. In the worker itself it returns its own pid after setting up its process."""
    job, env, cwd, log = str(request["job"]), dict(request["env"]), str(request["cwd"]), str(request["log"])
    read, write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    middle = os.fork()
    if middle == 0:  # the middle process: fork the worker, tell the warm interpreter its pid, end
        worker = -1
        try:
            os.close(read)
            worker = os.fork()
            if worker == 0:
                try:
                    os.close(write)
                    _become_worker(job, env, cwd, log, close)
                except BaseException:  # a worker that cannot be set up must never go back to serving
                    os._exit(1)
                return os.getpid()
            os.write(write, str(worker).encode())
        finally:
            if worker != 0:
                os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        pid = int(pipe.read() or b"0")
    os.waitpid(middle, 0)
    return pid


def _become_worker(job: str, env: dict[str, str], cwd: str, log: str, close: list) -> None:
    for thing in close:
        thing.close()
    os.setsid()
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for entry in reversed([p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    sys.argv = [str(Path(__file__).with_name("worker.py")), job]  # (runpy sets argv[0] again)


def main() -> int:
    request = serve()
    if request is None:
        return 0
    print(f"[{time.strftime('%H:%M:%S')}] worker forked from the warm interpreter (its libraries already imported)",
          flush=True)
    import runpy

    # what `python -m genesis_core.jobs.worker JOB_ID` runs, as its __main__ (sys.argv is set for it)
    runpy.run_module("genesis_core.jobs.worker", run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
