"""The HTTP service against a holder of the token and a careless operator, on the real server (uvicorn in a
subprocess, 127.0.0.1): no table outside the workspace, no server path in a response, validation before a job
starts, honest failures, idempotency across server processes and token rotations, bounded connections."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pandas as pd
import requests

from tests.service.test_service import ROOT, Server
from tests.timeouts import scaled


def _people_csv(n: int = 120) -> bytes:
    rng = np.random.default_rng(0)
    first, last = rng.choice(["Anna", "Bob", "Carl", "Dana", "Eve"], n), rng.choice(["Smith", "Jones", "Lee"], n)
    frame = pd.DataFrame({"name": [f"{a} {b}" for a, b in zip(first, last)],
                          "email": [f"user{i}@example.com" for i in range(n)],
                          "age": rng.integers(18, 80, n), "city": rng.choice(["Oslo", "Rome", "Lima"], n)})
    return frame.to_csv(index=False).encode()


def _no_paths(server: Server, text: str) -> None:
    assert str(server.home) not in text and str(server.home.resolve()) not in text, text[:300]


def test_drift_names_only_tables_of_the_workspace_and_says_nothing_of_other_files(server, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("secret,value\n" + "".join(f"{i},{i * 2}\n" for i in range(50)))
    answers = []
    for ref in (str(outside), "/nonexistent/x.csv", "/etc/passwd", "../../etc/passwd", "tables/../../x.csv"):
        r = server.call("POST", "/v1/drift", json={"reference": ref, "current": "demo:penguins"})
        assert r.status_code == 400, r.text
        assert "secret" not in r.text and "etc" not in r.text and "nonexistent" not in r.text
        assert r.json()["error"].startswith("reference: ")
        answers.append(r.json()["error"])
    assert len(set(answers)) == 1  # a file that exists and one that does not get the same answer
    people = server.call("POST", "/v1/tables?name=people.csv", data=_people_csv()).json()["id"]
    r = server.call("POST", "/v1/drift", json={"reference": people, "current": people})
    assert r.status_code == 200, r.text  # personal-data columns: compared as the report does, not a 500
    kinds = {c["column"]: c["kind"] for c in r.json()["columns"]}
    assert kinds["name"] == "pii" and kinds["email"] == "pii" and not r.json()["drifted"]


def test_responses_name_ids_never_server_paths(server):
    health = server.call("GET", "/v1/health").json()
    assert health["status"] == "ok" and "workspace" not in health
    for path in ("/v1/syntheses/r", "/v1/jobs/nope", "/v1/releases/rel-x", "/v1/tables/tbl-0000000000000000"):
        r = server.call("GET", path)
        assert r.status_code == 404 and r.json()["error"].endswith("."), r.text
        _no_paths(server, r.text)
    table = server.call("POST", "/v1/tables?name=p.csv", data=_people_csv()).json()
    job = server.call("POST", "/v1/syntheses", json={"table": table["id"], "generator": "gaussian_copula",
                                                     "rows": 50}).json()
    assert server.wait_job(job["job"])["status"] == "succeeded"
    info = server.call("GET", f"/v1/syntheses/{job['id']}")
    assert info.json()["source"] == table["id"]
    release = info.json()["release"]
    for path in (f"/v1/syntheses/{job['id']}", "/v1/syntheses", f"/v1/syntheses/{job['id']}/report",
                 f"/v1/releases/{release}", "/v1/releases", f"/v1/releases/{release}/evidence",
                 f"/v1/releases/{release}/diff/{release}", f"/v1/jobs/{job['job']}", "/v1/tables"):
        r = server.call("GET", path)
        assert r.status_code == 200, (path, r.text)
        _no_paths(server, r.text)
    r = server.call("POST", "/v1/drift", json={"reference": table["id"], "current": f"release:{release}"})
    assert r.status_code == 200
    _no_paths(server, r.text)


def test_bad_values_are_refused_before_a_job_starts(server):
    cases = [({"seed": 2**70}, 422, "seed"), ({"seed": -1}, 422, "seed"), ({"target": "nope"}, 400, "target"),
             ({"sensitive": ["x" * 5000]}, 400, "sensitive"), ({"quasi_identifiers": ["island", "zz"]}, 400, "zz"),
             ({"epochs": 10**401}, 422, "epochs"), ({"rows": 10**400}, 413, "rows"),
             ({"conditions": ["colour=red"]}, 400, "conditions")]
    for extra, status, word in cases:
        r = server.call("POST", "/v1/syntheses", json={"table": "demo:penguins", **extra})
        assert r.status_code == status and word in r.json()["error"], (extra, r.text)
        assert len(r.json()["error"]) < 300  # a long value is clipped, not echoed whole
    for raw in ('{"table": "demo:penguins", "epsilon": Infinity}', '{"table": "demo:penguins", "epsilon": NaN}'):
        r = server.call("POST", "/v1/syntheses", data=raw, headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 422) and "epsilon" in r.text or "JSON" in r.text, r.text
    long_id = "a" * 5000
    r = server.call("GET", f"/v1/jobs/{long_id}")
    assert r.status_code in (400, 404) and len(r.text) < 300
    assert server.call("GET", "/v1/jobs").json()["total"] == 0  # nothing started


def test_a_stream_that_cannot_start_says_so_with_a_status(server):
    job = server.call("POST", "/v1/syntheses", json={"table": "demo:penguins", "generator": "gaussian_copula",
                                                     "report": True, "rows": 30}).json()
    assert server.wait_job(job["job"])["status"] == "succeeded"
    bad = server.call("GET", f"/v1/syntheses/{job['id']}/stream?rows=5&seed=-1")
    assert bad.status_code == 422 and "seed" in bad.json()["error"]
    ok = server.call("GET", f"/v1/syntheses/{job['id']}/stream?rows=5&seed={2**32 - 1}")
    assert ok.status_code == 200 and len([x for x in ok.text.splitlines() if x]) == 5
    folder = server.home / "runs" / job["id"] / "artifacts" / "generator" / "generator.json"
    if not folder.exists():  # where the run keeps its generator
        folder = next(server.home.glob(f"runs/{job['id']}/**/generator.json"))
    folder.write_text("{not json")
    broken = server.call("GET", f"/v1/syntheses/{job['id']}/stream?rows=5")
    assert broken.status_code >= 400 and broken.json()["error"].endswith("."), broken.text
    _no_paths(server, broken.text)
    assert server.call("GET", "/v1/health").status_code == 200  # the connection and server are fine


def test_a_missing_or_open_token_file_refuses_with_503_until_fixed(server):
    path = server.home / "api_token"
    os.chmod(path, 0o644)  # made world-readable while the server runs
    r = server.call("GET", "/v1/health")
    assert r.status_code == 503 and "token file" in r.json()["error"], r.text
    _no_paths(server, r.text)
    os.chmod(path, 0o600)
    assert server.call("GET", "/v1/health").status_code == 200
    path.unlink()
    assert server.call("GET", "/v1/jobs").status_code == 503
    subprocess.run([sys.executable, "-m", "genesis_core", "api-token", "rotate"], cwd=ROOT, check=True,
                   env={**os.environ, "GENESIS_HOME": str(server.home)}, capture_output=True)
    server.token = path.read_text().strip()
    assert server.call("GET", "/v1/jobs").status_code == 200
    log = (server.home.parent / f"server-{server.port}.log").read_text()
    assert log.count("refusing every request") == 2  # one sentence per trouble, not one per request


LONG = {"table": "demo:penguins", "generator": "ctgan", "epochs": 5000, "report": False}  # stays running a while


@contextmanager
def two_servers(home, max_jobs: str):
    """Two real servers on one workspace, each its own uvicorn process."""
    a = Server(home, "--max-jobs", max_jobs).start()
    b = Server(home, "--max-jobs", max_jobs).start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def test_one_key_is_one_job_across_two_servers_and_a_rotation(tmp_path):
    home = tmp_path / "ws"
    with two_servers(home, "100") as (a, b):
        body = LONG
        for round_ in range(4):  # the probe found two jobs in 8 of 8 rounds; one is one here in every round
            key = {"Idempotency-Key": f"race-{round_}"}
            with ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(lambda s: s.call("POST", "/v1/syntheses", json=body, headers=key),
                                        [a, b, a, b]))
            assert all(r.status_code == 202 for r in answers), [r.text for r in answers]
            assert len({r.json()["job"] for r in answers}) == 1
            assert sum(not r.json()["replayed"] for r in answers) == 1
        jobs = a.call("GET", "/v1/jobs?limit=500").json()
        assert jobs["total"] == 4
        first = a.call("POST", "/v1/syntheses", json=body, headers={"Idempotency-Key": "race-0"}).json()
        subprocess.run([sys.executable, "-m", "genesis_core", "api-token", "rotate"], cwd=ROOT, check=True,
                       env={**os.environ, "GENESIS_HOME": str(home)}, capture_output=True)
        a.token = b.token = (home / "api_token").read_text().strip()
        again = b.call("POST", "/v1/syntheses", json=body, headers={"Idempotency-Key": "race-0"}).json()
        assert again["replayed"] and again["job"] == first["job"]  # a rotation forgets no key
        other = b.call("POST", "/v1/syntheses", json={**body, "epochs": 4999}, headers={"Idempotency-Key": "race-0"})
        assert other.status_code == 409  # and never replays a different request
        for j in jobs["items"]:
            a.call("DELETE", f"/v1/jobs/{j['id']}")
        for j in jobs["items"]:
            a.wait_job(j["id"], timeout=120)
        # a key whose job was cancelled starts a new job; the API can retry and resume as the CLI does
        fresh = a.call("POST", "/v1/syntheses", json=body, headers={"Idempotency-Key": "race-0"}).json()
        assert not fresh["replayed"] and fresh["previous_job"] == first["job"] and fresh["job"] != first["job"]
        a.call("DELETE", f"/v1/jobs/{fresh['job']}")
        a.wait_job(fresh["job"], timeout=120)
        retried = a.call("POST", f"/v1/jobs/{first['job']}/retry")
        assert retried.status_code == 202 and retried.json()["id"] != first["job"]
        resumed = a.call("POST", f"/v1/jobs/{fresh['job']}/resume")
        assert resumed.status_code == 202 and resumed.json()["status"] in ("queued", "running")
        assert a.call("POST", f"/v1/jobs/{fresh['job']}/resume").status_code == 409  # not failed now
        for j in (retried.json()["id"], fresh["job"]):
            a.call("DELETE", f"/v1/jobs/{j}")
            a.wait_job(j, timeout=120)

def test_two_servers_share_one_bound_on_jobs_in_flight(tmp_path):
    with two_servers(tmp_path / "ws", "1") as (a, b):
        body = LONG
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda s: s[0].call("POST", "/v1/syntheses", json={**body, "seed": s[1]}),
                                    [(a, 1), (b, 2)]))
        assert sorted(r.status_code for r in answers) == [202, 429], [r.text for r in answers]
        started = next(r.json()["job"] for r in answers if r.status_code == 202)
        a.call("DELETE", f"/v1/jobs/{started}")
        a.wait_job(started, timeout=120)

def _slow_connection(port: int, payload: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=scaled(30))
    if payload:
        s.sendall(payload)
    return s


def _closed_by_server(s: socket.socket) -> bool:
    try:
        while s.recv(4096):  # a short answer may come before the close; b"" is the close
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_connections_that_never_finish_are_closed_and_health_stays_fast(tmp_path):
    s = Server(tmp_path / "ws", "--header-timeout", "2", "--body-timeout", "2", "--keep-alive", "2",
               "--max-uploads", "1").start()
    try:
        heads = [_slow_connection(s.port, b"GET /v1/health HTTP/1.1\r\nHost: x\r\n") for _ in range(50)]
        idle = _slow_connection(s.port, b"")
        stalled = _slow_connection(s.port, b"POST /v1/tables HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                                           b"Authorization: Bearer " + s.token.encode() + b"\r\n\r\nx,y\n1,2\n")
        time.sleep(0.3)
        # while that upload holds the one upload slot, a second is told to come back
        busy = s.call("POST", "/v1/tables", data=b"a,b\n" + b"1,2\n" * 10)
        assert busy.status_code == 429 and busy.headers["retry-after"], busy.text
        latencies, t_end = [], time.monotonic() + 1.5
        while time.monotonic() < t_end:
            t0 = time.perf_counter()
            assert s.call("GET", "/v1/health").status_code == 200
            latencies.append(time.perf_counter() - t0)
        assert float(np.percentile(latencies, 50)) < scaled(0.05)
        t0 = time.monotonic()
        for sock in [*heads, idle, stalled]:
            sock.settimeout(scaled(10))
            assert _closed_by_server(sock)
        assert time.monotonic() - t0 < scaled(10)
        deadline = time.monotonic() + scaled(10)  # the broken upload's partial file goes once the app sees the close
        while list(s.home.glob(".incoming/*")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not list(s.home.glob(".incoming/*")) and not list((s.home / "tables").glob("tbl-*"))
        ok = s.call("POST", "/v1/tables", data=b"a,b\n" + b"1,2\n3,4\n" * 10)  # the slot is free again
        assert ok.status_code == 201, ok.text
    finally:
        s.stop()


def test_smaller_leaks_are_shut(server):
    r = requests.get(server.base + "/v1/jobs/", headers={"Host": "evil.example"}, allow_redirects=False, timeout=30)
    assert r.status_code == 401 and "location" not in r.headers  # no redirect echoing the Host, no token no answer
    r = server.call("GET", "/v1/jobs/", allow_redirects=False)
    assert r.status_code == 404 and "location" not in r.headers
    for path in ("/redoc", "/v1/nothing-here", "/admin"):
        assert requests.get(server.base + path, timeout=30).status_code == 401  # 401 before 404
    assert server.call("GET", "/redoc").status_code == 404
    assert requests.get(server.base + "/docs", timeout=30).status_code == 200
    r = server.call("POST", "/v1/syntheses", data=json.dumps({"table": "x" * 5000}),
                    headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 404, 422) and len(r.text) < 300


def test_metrics_are_scraped_in_prometheus_format(server):
    from prometheus_client.parser import text_string_to_metric_families

    assert requests.get(server.base + "/metrics", timeout=30).status_code == 401  # the token, as everywhere
    job = server.call("POST", "/v1/syntheses", json={"table": "demo:penguins", "generator": "gaussian_copula",
                                                     "report": False}).json()
    server.wait_job(job["job"])
    server.call("GET", "/v1/jobs/job-missing")
    for _ in range(3):
        server.call("GET", "/v1/health")
    families = {f.name: f for f in text_string_to_metric_families(server.call("GET", "/metrics").text)}
    counts = {(s.labels["method"], s.labels["route"], s.labels["status"]): s.value
              for s in families["genesis_http_requests"].samples if s.name.endswith("_total")}
    assert counts[("GET", "/v1/health", "200")] == 3 and counts[("GET", "/v1/jobs/{job_id}", "404")] == 1
    assert counts[("POST", "/v1/syntheses", "202")] == 1 and counts[("GET", "/metrics", "401")] == 1
    buckets = [s for s in families["genesis_http_request_duration_seconds"].samples
               if s.name.endswith("_count") and s.labels["route"] == "/v1/health"]
    assert buckets and buckets[0].value == 3
    jobs = {(s.labels["task"], s.labels["status"]): s.value for s in families["genesis_jobs"].samples}
    assert jobs[("tabular_synthesis", "succeeded")] == 1 and jobs[("tabular_synthesis", "running")] == 0
