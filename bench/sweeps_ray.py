"""Sweeps and the Ray backend, measured: an N-trial sweep at concurrency 2 on the local queue and the same sweep
on a local Ray instance (trials finished, lost, duplicated; wall time), with one trial's worker killed with
SIGKILL mid-way on Ray (it must resume from its checkpoint and finish); and the per-job overhead of each
backend (submit -> first optimizer step logged, median of several jobs, and their ratio).

    .venv/bin/python bench/sweeps_ray.py [--trials 50] [--overhead-jobs 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402

TRIAL = {"data": {"dataset": "sklearn_digits", "batch_size": 32}, "model": {"arch": "mlp", "hidden": 32},
         "trainer": {"steps": 60, "eval_every": 20, "log_every": 10, "checkpoint_every": 10, "device": "cpu",
                     "tensorboard": False, "auto_resume": 1}}


def sweep(ws, trials: int, backend: str, kill_one: bool) -> dict:
    from genesis_core.jobs import api

    config = {"task": "sweep", "name": f"bench {backend}", "sweep_task": "image_autoencoder", "base": TRIAL,
              "metric": "eval/psnr_db", "direction": "maximize", "trials": trials, "concurrency": 2,
              "space": {"model.latent_dim": {"int": [2, 16]}, "trainer.lr": {"float": [3e-4, 1e-2], "log": True}},
              "backend": backend}
    t0 = time.perf_counter()
    driver = api.submit(config, workspace=ws)
    killed = None
    while True:
        job = api.get(driver.id, ws)
        if kill_one and killed is None:
            running = [j for j in api.list_jobs(ws, status="running", refresh=False)
                       if j.task == "image_autoencoder" and j.pid and j.step >= 20]
            if running:
                killed = running[0]
                os.kill(killed.pid, signal.SIGKILL)
        if job.done:
            break
        time.sleep(0.5)
    seconds = time.perf_counter() - t0
    trial_jobs = [j for j in api.list_jobs(ws, refresh=False) if j.task == "image_autoencoder"
                  and f"sweep:{driver.run_id}" in ws.get_run(j.run_id).tags]
    runs = {j.run_id for j in trial_jobs}
    numbers = [t for r in runs for t in ws.get_run(r).tags if t.startswith("trial:")]
    resumed = None if killed is None else api.get(killed.id, ws)
    return {"backend": backend, "trials": trials, "driver": job.status,
            "finished": sum(j.status == "succeeded" for j in trial_jobs),
            "pruned_or_failed": sum(j.status != "succeeded" for j in trial_jobs),
            "lost": trials - len(trial_jobs), "duplicated": len(numbers) - len(set(numbers)),
            "killed_trial": "-" if resumed is None else f"{resumed.status} after {resumed.attempts} resume(s)",
            "wall_s": round(seconds, 1)}


def first_step_overhead(ws, backend: str, jobs: int) -> list[float]:
    from genesis_core.jobs import api
    from genesis_core.store.metrics import MetricsReader

    config = {"task": "image_autoencoder", **TRIAL, "trainer": {**TRIAL["trainer"], "steps": 20, "log_every": 1}}
    times = []
    for _ in range(jobs):
        job = api.submit(config, workspace=ws, backend=backend)
        done = api.wait(job.id, ws, timeout=300)
        first = MetricsReader(ws.get_run(done.run_id).metrics_path).series("loss")["wall"].min()
        times.append(float(first) - done.created)
    return times


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=50)
    p.add_argument("--overhead-jobs", type=int, default=5)
    args = p.parse_args()
    home = tempfile.mkdtemp()
    os.environ.update({"GENESIS_HOME": home, "GENESIS_MAX_JOBS_CPU": "2", "GENESIS_RAY_CPUS": "2"})
    from genesis_core.jobs.backends import local_cluster, stop_local_cluster
    from genesis_core.store.workspace import Workspace

    ws = Workspace(home)
    rows = [sweep(ws, args.trials, "local", kill_one=False)]
    print(rows[-1], flush=True)
    local_cluster(ws)
    try:
        rows.append(sweep(ws, args.trials, "ray", kill_one=True))
        print(rows[-1], flush=True)
        overhead = {b: first_step_overhead(ws, b, args.overhead_jobs) for b in ("local", "ray")}
    finally:
        stop_local_cluster(ws)
    report("sweeps", rows)
    medians = {b: statistics.median(t) for b, t in overhead.items()}
    report("job_overhead", [{"backend": b, "submit_to_first_step_s_median": round(m, 2),
                             "runs": [round(t, 2) for t in overhead[b]]} for b, m in medians.items()],
           {"ratio_ray_over_local": round(medians["ray"] / medians["local"], 2)})
    print(f"ray / local: {medians['ray'] / medians['local']:.2f}")


if __name__ == "__main__":
    main()
