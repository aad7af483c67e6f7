"""The HTTP API under load, against the real server (`genesis serve` in a subprocess, its own workspace):

  submit       20 concurrent POST /v1/syntheses (small GaussianCopula syntheses of demo:penguins with a report)
  status       200 concurrent GET /v1/jobs/{id} while those jobs run
  stream       GET .../stream of 10,000 rows from a finished synthesis, rows per second
  slow         50 connections that never finish their request head (a slow-loris): seconds until the server
               has closed every one (the bound is --header-timeout), and GET /v1/health's p95 meanwhile
  uploads      3 concurrent uploads of a numeric CSV of --upload-mb MiB each: the server process's peak RSS
               growth against the sum of the bodies (bodies are streamed to disk, checked one at a time)

Each request's latency (p50, p95, max), its errors (any status but the expected one), and the jobs lost (a job
id that was answered but did not end as succeeded with its rows on disk) are printed; the aim is 0 errors and
0 lost jobs.

    .venv/bin/python bench/service_load.py [--syntheses 20] [--reads 200] [--slow 50] [--upload-mb 150]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed(call):
    t0 = time.perf_counter()
    try:
        r = call()
        return time.perf_counter() - t0, r.status_code
    except requests.RequestException as exc:
        return time.perf_counter() - t0, type(exc).__name__


def _row(name: str, results: list, ok: int) -> dict:
    lat = sorted(t for t, _ in results)
    q = statistics.quantiles(lat, n=20) if len(lat) > 1 else lat * 19
    return {"requests": name, "n": len(results), "p50_ms": 1000 * statistics.median(lat), "p95_ms": 1000 * q[18],
            "max_ms": 1000 * lat[-1], "errors": sum(code != ok for _, code in results)}


def _slow_clients(port: int, base: str, token: str, n: int) -> tuple[list, float]:
    """n connections that send half a request head and then nothing; health is asked meanwhile."""
    socks = []
    for _ in range(n):
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
        socks.append(sock)
    t0 = time.perf_counter()
    health = []
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(100):
        health.append(_timed(lambda: requests.get(base + "/v1/health", headers=headers, timeout=30)))
    closed = 0
    for sock in socks:
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass
        closed += 1
    return health, time.perf_counter() - t0


def _upload_memory(pid: int, base: str, token: str, n: int, mb: float, folder: Path) -> tuple[float, float]:
    """Peak RSS growth of the server process while n different numeric CSVs of `mb` MiB each are uploaded at once."""
    import threading

    import numpy as np
    import psutil

    files = []
    for i in range(n):
        path = folder / f"upload-{i}.csv"
        rng = np.random.default_rng(i)
        with open(path, "w") as fh:
            fh.write(",".join(f"c{j}" for j in range(8)) + "\n")
            while fh.tell() < mb * 2**20:
                block = rng.normal(size=(20_000, 8)).round(4)
                fh.write("\n".join(",".join(map(str, row)) for row in block) + "\n")
        files.append(path)
    proc = psutil.Process(pid)
    base_rss, peak, checker, done = proc.memory_info().rss, [0], [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            rss = 0
            for child in proc.children(recursive=True):  # the table checker (one at a time), and any job
                try:
                    rss += child.memory_info().rss
                except psutil.Error:
                    pass
            checker[0] = max(checker[0], rss)
            time.sleep(0.02)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()

    def put(path: Path):
        with open(path, "rb") as fh:
            return requests.post(f"{base}/v1/tables?name={path.name}", data=fh, timeout=1800,
                                 headers={"Authorization": f"Bearer {token}"}).status_code

    with ThreadPoolExecutor(n) as pool:
        codes = list(pool.map(put, files))
    done.set()
    watcher.join()
    if any(c != 201 for c in codes):
        print(f"uploads answered {codes}")
    bodies = sum(p.stat().st_size for p in files) / 2**20
    _upload_memory.checker_mib = checker[0] / 2**20
    return (peak[0] - base_rss) / 2**20, bodies


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--syntheses", type=int, default=20)
    p.add_argument("--reads", type=int, default=200)
    p.add_argument("--slow", type=int, default=50, help="connections that never finish their head")
    p.add_argument("--uploads", type=int, default=3)
    p.add_argument("--upload-mb", type=float, default=150.0)
    args = p.parse_args()
    home = Path(tempfile.mkdtemp(prefix="genesis-load-")) / "ws"
    port = _port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "GENESIS_HOME": str(home), "GENESIS_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}
    log = open(home.parent / "server.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "genesis_core", "serve", "--port", str(port), "--header-timeout",
                               "5", "--max-upload-mb", str(args.upload_mb + 10), "--max-uploads",
                               str(args.uploads)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                requests.get(base + "/openapi.json", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        token = (home / "api_token").read_text().strip()
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        body = {"table": "demo:penguins", "generator": "gaussian_copula", "rows": 200, "holdout_fraction": 0.2}
        answers: list = []

        def submit(i):
            t0 = time.perf_counter()
            r = requests.post(base + "/v1/syntheses", json={**body, "seed": i}, timeout=120,
                              headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"load-{i}"})
            answers.append(r.json() if r.status_code == 202 else None)
            return time.perf_counter() - t0, r.status_code

        t_start = time.perf_counter()
        with ThreadPoolExecutor(args.syntheses) as pool:
            submits = list(pool.map(lambda i: submit(i), range(args.syntheses)))
        jobs = [a["job"] for a in answers if a]
        with ThreadPoolExecutor(args.reads) as pool:
            reads = list(pool.map(lambda i: _timed(lambda: requests.get(
                f"{base}/v1/jobs/{jobs[i % len(jobs)]}", headers={"Authorization": f"Bearer {token}"}, timeout=120)),
                range(args.reads)))
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            states = {j: s.get(f"{base}/v1/jobs/{j}", timeout=60).json()["status"] for j in jobs}
            if all(v in ("succeeded", "failed", "cancelled") for v in states.values()):
                break
            time.sleep(1)
        all_done_s = time.perf_counter() - t_start
        lost = [a["job"] for a in answers if a is None or states.get(a["job"]) != "succeeded"
                or s.get(f"{base}/v1/syntheses/{a['id']}/rows", timeout=60).text.count("\n") != 201]
        done_id = next(a["id"] for a in answers if a)
        t0 = time.perf_counter()
        with s.get(f"{base}/v1/syntheses/{done_id}/stream?rows=10000", stream=True, timeout=300) as r:
            streamed = sum(1 for line in r.iter_lines() if line)
        stream_s = time.perf_counter() - t0
        slow_health, closed_s = _slow_clients(port, base, token, args.slow)
        growth_mb, bodies_mb = _upload_memory(server.pid, base, token, args.uploads, args.upload_mb, home.parent)
        rows = [_row("POST /v1/syntheses (concurrent)", submits, 202), _row("GET /v1/jobs/{id} (concurrent)", reads, 200),
                _row(f"GET /v1/health during {args.slow} slow clients", slow_health, 200)]
        extra = {"syntheses": args.syntheses, "all_succeeded_s": all_done_s, "lost_jobs": len(lost),
                 "stream_rows": streamed, "stream_rows_per_s": streamed / stream_s, "slow_clients": args.slow,
                 "slow_all_closed_s": closed_s, "header_timeout_s": 5, "uploads": args.uploads,
                 "upload_bodies_mib": bodies_mb, "upload_peak_rss_growth_mib": growth_mb,
                 "upload_growth_ratio": growth_mb / bodies_mb,
                 "upload_checker_peak_rss_mib": _upload_memory.checker_mib}
        report("service_load", rows, extra)
        print(f"{args.syntheses} syntheses: all ended in {all_done_s:.1f} s; lost jobs: {len(lost)}; "
              f"stream: {streamed} rows at {streamed / stream_s:,.0f} rows/s")
        print(f"{args.slow} slow clients: all closed after {closed_s:.1f} s (header timeout 5 s); health p95 "
              f"{rows[2]['p95_ms']:.1f} ms meanwhile")
        print(f"{args.uploads} concurrent uploads of {args.upload_mb:g} MiB: peak RSS growth {growth_mb:.0f} MiB for "
              f"{bodies_mb:.0f} MiB of bodies ({growth_mb / bodies_mb:.2f}x; aim < 1.2x); the table checker, a process "
              f"of its own, one table at a time, peaked at {_upload_memory.checker_mib:.0f} MiB")
    finally:
        server.terminate()
        server.wait(30)
        log.close()


if __name__ == "__main__":
    main()
