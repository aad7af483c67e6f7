"""The HTTP API against a real uvicorn server in a subprocess (127.0.0.1, its own workspace): the token, a whole
synthesis, bad input, a cancel, a stream read to the end, and a server restart in the middle of a job."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import requests

from tests.timeouts import scaled

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, home: Path, *extra: str):
        self.home, self.extra, self.port = home, extra, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        env = {**os.environ, "GENESIS_HOME": str(self.home), "GENESIS_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}
        self.log = open(self.home.parent / f"server-{self.port}.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "genesis_core", "serve", "--port", str(self.port),
                                      *self.extra], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + scaled(60)
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.home.parent / f"server-{self.port}.log").read_text()
            try:
                if requests.get(self.base + "/openapi.json", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server did not answer")
        self.token = (self.home / "api_token").read_text().strip()
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(scaled(20))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def call(self, method: str, path: str, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=scaled(60), **kw)

    def wait_job(self, job: str, until=("succeeded", "failed", "cancelled"), timeout: float = 300) -> dict:
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            state = self.call("GET", f"/v1/jobs/{job}").json()
            if state["status"] in until:
                return state
            time.sleep(0.3)
        raise AssertionError(f"job {job} still {state['status']}")


def test_the_token_is_made_private_and_every_endpoint_but_the_docs_needs_it(server):
    path = server.home / "api_token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(server.token) >= 32
    assert requests.get(server.base + "/docs", timeout=30).status_code == 200
    assert "/v1/syntheses" in requests.get(server.base + "/openapi.json", timeout=30).json()["paths"]
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": server.token}):
        r = requests.get(server.base + "/v1/jobs", headers=headers, timeout=30)
        assert r.status_code == 401 and r.json()["error"].endswith(".") and r.headers["www-authenticate"] == "Bearer"
    assert server.call("GET", "/v1/jobs").json() == {"items": [], "total": 0, "offset": 0, "next_offset": None}
    old = server.token  # a rotation takes effect at once, without a restart
    subprocess.run([sys.executable, "-m", "genesis_core", "api-token", "rotate"], cwd=ROOT, check=True,
                   env={**os.environ, "GENESIS_HOME": str(server.home)}, capture_output=True)
    server.token = path.read_text().strip()
    assert server.token != old and server.call("GET", "/v1/health").status_code == 200
    assert requests.get(server.base + "/v1/health", headers={"Authorization": f"Bearer {old}"},
                        timeout=30).status_code == 401


def test_bad_uploads_and_requests_get_one_sentence_and_a_4xx(tmp_path):
    s = Server(tmp_path / "ws", "--max-upload-mb", "0.01").start()
    try:
        cases = [(b"a,b\n1,2\n", 400, "at least 5"), (b"%PDF-1.4 binary", 400, "PDF"), (b"", 400, "empty"),
                 (b"x,y\n" + b"1,2\n" * 5000, 413, "limit")]
        for body, status, words in cases:
            r = s.call("POST", "/v1/tables", data=body)
            assert r.status_code == status and words in r.json()["error"], r.text
        assert not list((s.home / "tables").glob("*")) if (s.home / "tables").exists() else True
        r = s.call("POST", "/v1/syntheses", json={"table": "tbl-0000000000000000"})
        assert r.status_code == 404 and "upload it first" in r.json()["error"]
        r = s.call("POST", "/v1/syntheses", json={"table": "demo:penguins", "generator": "nope"})
        assert r.status_code == 400 and "unknown" in r.json()["error"]
        r = s.call("POST", "/v1/syntheses", json={"table": "demo:penguins", "surprise": 1})
        assert r.status_code == 422 and "surprise" in r.json()["error"]
        r = s.call("POST", "/v1/syntheses", json={"table": "demo:penguins", "rows": 10**9})
        assert r.status_code == 413
        assert s.call("GET", "/v1/jobs/job-missing").status_code == 404
        assert s.call("GET", "/v1/releases/rel-missing").status_code == 404
        assert s.call("GET", "/v1/jobs").json()["total"] == 0  # nothing was started by any of it
    finally:
        s.stop()


def test_a_whole_synthesis_over_http_is_the_same_job_run_report_and_release(server):
    from genesis_core.tabular.data.demos import load_demo

    csv = load_demo("penguins").to_csv(index=False).encode()
    up = server.call("POST", "/v1/tables?name=penguins.csv", data=csv, headers={"Content-Type": "text/csv"})
    assert up.status_code == 201, up.text
    table = up.json()
    assert table["rows"] == 344 and table["columns"] == 8
    assert {c["column"]: c["kind"] for c in table["schema"]}["species"] == "categorical"
    assert server.call("POST", "/v1/tables", data=csv).json()["id"] == table["id"]  # same bytes, same table
    body = {"table": table["id"], "generator": "gaussian_copula", "rows": 150, "holdout_fraction": 0.2,
            "quasi_identifiers": ["island", "sex"], "sensitive": ["species"]}
    first = server.call("POST", "/v1/syntheses", json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 202, first.text
    again = server.call("POST", "/v1/syntheses", json=body, headers={"Idempotency-Key": "k1"}).json()
    assert (again["id"], again["job"], again["replayed"]) == (first.json()["id"], first.json()["job"], True)
    other = server.call("POST", "/v1/syntheses", json={**body, "rows": 151}, headers={"Idempotency-Key": "k1"})
    assert other.status_code == 409
    sid, job = first.json()["id"], first.json()["job"]
    done = server.wait_job(job)
    assert done["status"] == "succeeded" and done["progress"] == 1.0, done
    rows = server.call("GET", f"/v1/syntheses/{sid}/rows")
    assert rows.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(pd.io.common.StringIO(rows.text))
    assert len(frame) == 150 and list(frame.columns) == list(load_demo("penguins").columns)
    report = server.call("GET", f"/v1/syntheses/{sid}/report").json()
    assert 0 < report["quality"]["quality_score"] <= 1 and report["privacy"]["k_anonymity"]["k"] >= 1
    info = server.call("GET", f"/v1/syntheses/{sid}").json()
    release = server.call("GET", f"/v1/releases/{info['release']}").json()
    assert release["input"]["sha256"] == table["sha256"] and release["dataset"] == "penguins.csv"
    assert release["lineage"]["run"] == sid and release["lineage"]["job"] == job and release["version"] == 1
    assert release["output"]["rows"] == 150 and release["packages"]["sdv"]
    evidence = server.call("GET", f"/v1/releases/{info['release']}/evidence").json()
    assert "not a certificate" in evidence["disclaimer"] and len(evidence["hipaa_safe_harbor"]) == 18
    assert {r["risk"] for r in evidence["gdpr_recital_26"]} >= {"singling out", "linkability", "inference"}
    drift = server.call("POST", "/v1/drift", json={"reference": table["id"], "current": f"release:{info['release']}"})
    assert drift.status_code == 200 and isinstance(drift.json()["drifted"], list)
    # the same job the CLI sees
    out = subprocess.run([sys.executable, "-m", "genesis_core", "releases", "list"], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "GENESIS_HOME": str(server.home)}, check=True).stdout
    assert info["release"] in out and table["sha256"][:12] in out


def test_a_stream_reads_to_the_end_with_fresh_rows(server):
    job = server.call("POST", "/v1/syntheses", json={"table": "demo:penguins", "generator": "gaussian_copula",
                                                     "report": False}).json()
    assert server.wait_job(job["job"])["status"] == "succeeded"
    with server.call("GET", f"/v1/syntheses/{job['id']}/stream?rows=1234&seed=3", stream=True) as r:
        assert r.headers["content-type"].startswith("application/x-ndjson")
        records = [json.loads(line) for line in r.iter_lines() if line]
    assert len(records) == 1234 and set(records[0]) == set(pd.read_csv(
        pd.io.common.StringIO(server.call("GET", f"/v1/syntheses/{job['id']}/rows").text)).columns)
    assert isinstance(records[0]["body_mass_g"], (int, float)) or records[0]["body_mass_g"] is None
    assert len({json.dumps(r, sort_keys=True) for r in records}) > 1200  # new rows, not one row repeated
    sse = server.call("GET", f"/v1/syntheses/{job['id']}/stream?rows=5&format=sse").text
    assert sse.count("data: {") == 6 and "event: end" in sse
    assert server.call("GET", f"/v1/syntheses/{job['id']}/stream?rows=100000000").status_code == 413


def test_a_cancel_stops_the_job_and_too_many_jobs_get_429(tmp_path):
    s = Server(tmp_path / "ws", "--max-jobs", "1").start()
    try:
        long = {"table": "demo:penguins", "generator": "ctgan", "epochs": 5000, "report": False}
        job = s.call("POST", "/v1/syntheses", json=long).json()["job"]
        s.wait_job(job, until=("running",), timeout=120)
        busy = s.call("POST", "/v1/syntheses", json=long)
        assert busy.status_code == 429 and busy.headers["retry-after"]
        t0 = time.monotonic()
        assert s.call("DELETE", f"/v1/jobs/{job}").json()["cancel_requested"]
        assert s.wait_job(job, timeout=60)["status"] == "cancelled"
        assert time.monotonic() - t0 < scaled(30)
        assert s.call("DELETE", f"/v1/jobs/{job}").status_code == 409  # already over: said so, not a 500
        ok = s.call("POST", "/v1/syntheses", json={**long, "epochs": 1})  # its slot is free again
        assert ok.status_code == 202
    finally:
        s.stop()


def test_a_job_survives_a_server_restart(tmp_path):
    s = Server(tmp_path / "ws").start()
    job = s.call("POST", "/v1/syntheses", json={"table": "demo:penguins", "generator": "ctgan", "epochs": 200,
                                                "report": False}).json()
    running = s.wait_job(job["job"], until=("running", "succeeded", "failed"), timeout=120)
    assert running["status"] == "running", running
    s.stop()  # the server goes; the job's worker is a process of its own
    again = Server(tmp_path / "ws").start()
    try:
        assert again.call("GET", f"/v1/jobs/{job['job']}").json()["status"] in ("running", "succeeded")
        assert again.wait_job(job["job"], timeout=600)["status"] == "succeeded"
        assert again.call("GET", f"/v1/syntheses/{job['id']}/rows").text.count("\n") == 345
    finally:
        again.stop()


def test_text_columns_are_written_over_http_as_on_the_page(server):
    bad = server.call("POST", "/v1/syntheses", json={"table": "demo:reviews", "text_size": "huge"})
    assert bad.status_code in (400, 422) and "text_size" in bad.text
    job = server.call("POST", "/v1/syntheses", json={"table": "demo:reviews", "generator": "gaussian_copula",
                                                     "rows": 40, "report": False, "text_size": "tiny",
                                                     "text_steps": 10}).json()
    assert server.wait_job(job["job"])["status"] == "succeeded"
    with server.call("GET", f"/v1/syntheses/{job['id']}/stream?rows=20&seed=1", stream=True) as r:
        records = [json.loads(line) for line in r.iter_lines() if line]
    assert len(records) == 20 and set(records[0]) == {"product", "review", "score"}
    texts = [r["review"] for r in records if r["review"]]
    assert len(texts) >= 18 and len(set(texts)) == len(texts)
