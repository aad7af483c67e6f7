"""Job start latency (submit -> first optimizer step reported), a worker forked from the warm interpreter
(jobs/warm.py) beside a fresh interpreter, interleaved; a small synthesis job's whole wall time the same two
ways; and the Jobs page's refresh time with 50 runs.

    .venv/bin/python bench/jobs_latency.py [--jobs 5] [--runs 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import report  # noqa: E402

TINY = {"task": "image_autoencoder", "data": {"dataset": "sklearn_digits", "batch_size": 32},
        "model": {"arch": "mlp", "latent_dim": 4, "hidden": 32},
        "trainer": {"steps": 30, "log_every": 1, "eval_every": 30, "checkpoint_every": 0, "device": "cpu"}}
SYNTHESIS = {"task": "tabular_synthesis", "source": "demo:penguins", "generator": "gaussian_copula", "report": False}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=5)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    os.environ["GENESIS_HOME"] = tmp
    from genesis_core.jobs import api
    from genesis_core.jobs.store import JobStore
    from genesis_core.store.metrics import MetricsReader
    from genesis_core.store.workspace import Workspace

    ws = Workspace(tmp)
    runtime = Path(tmp) / "runtime"  # a warm interpreter of the bench's own
    runtime.mkdir(mode=0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)

    def first_step(warm: bool, check: bool = True) -> float:
        os.environ["GENESIS_WARM_WORKERS"] = "1" if warm else "0"
        t0 = time.time()
        job = api.wait(api.submit(TINY, workspace=ws).id, ws, timeout=300, poll_s=0.05)
        assert job.status == "succeeded", job.error
        assert not check or ("forked from the warm interpreter" in api.log_tail(job, ws, lines=400)) == warm
        return MetricsReader(ws.get_run(job.run_id).metrics_path).series("loss")["wall"].min() - t0

    def synthesis(warm: bool) -> float:
        os.environ["GENESIS_WARM_WORKERS"] = "1" if warm else "0"
        t0 = time.time()
        job = api.wait(api.submit(SYNTHESIS, workspace=ws).id, ws, timeout=300, poll_s=0.05)
        assert job.status == "succeeded", job.error
        return time.time() - t0

    first_step(True, check=False)  # starts the warm interpreter (this first job itself starts fresh)
    deadline = time.time() + 120
    while not list(runtime.glob("genesis-warm-*/*.sock")) and time.time() < deadline:
        time.sleep(0.2)
    times: dict[str, list[float]] = {k: [] for k in ("cold", "warm", "synth_cold", "synth_warm")}
    for _ in range(args.jobs):
        times["cold"].append(first_step(False))
        times["warm"].append(first_step(True))
        times["synth_cold"].append(synthesis(False))
        times["synth_warm"].append(synthesis(True))

    # 50 runs: copies of the real finished runs, each with its job row, as a long-lived workspace has
    store = JobStore(ws.jobs_db)
    source = api.list_jobs(ws, refresh=False)[0]
    src_dir = ws.get_run(source.run_id).dir
    for i in range(args.runs - args.jobs):
        run = ws.create_run("image_autoencoder", TINY, name=f"copy {i}")
        shutil.copy(src_dir / "metrics.db", run.dir / "metrics.db")
        new = store.insert("image_autoencoder", run.id, TINY, "cpu", total=30)
        store.update(new.id, status="succeeded", step=30, metrics=source.metrics, started=time.time(),
                     finished=time.time())
    store.close()
    from streamlit.testing.v1 import AppTest

    refresh = []
    for _ in range(5):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.switch_page("app_pages/jobs.py")
        t0 = time.perf_counter()
        at.run()
        refresh.append(time.perf_counter() - t0)
        assert not at.exception, at.exception
    names = {"cold": "submit -> first step, fresh interpreter (s)", "warm": "submit -> first step, warm fork (s)",
             "synth_cold": "synthesis job (penguins, GaussianCopula), fresh interpreter (s)",
             "synth_warm": "synthesis job (penguins, GaussianCopula), warm fork (s)"}
    rows = [{"measure": names[k], "median": statistics.median(v), "min": min(v), "max": max(v)}
            for k, v in times.items()]
    rows += [
            {"measure": f"Jobs page script run with {args.runs} runs (s)", "median": statistics.median(refresh[1:]),
             "min": min(refresh[1:]), "max": max(refresh[1:])}]
    report("jobs_latency", rows, {"times_s": times, "refresh_s": refresh})
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
