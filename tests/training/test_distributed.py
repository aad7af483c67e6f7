"""The same training entry point under torchrun: 2 CPU processes on the gloo backend."""

import subprocess
import sys

import yaml

from genesis_core.store.metrics import MetricsReader
from tests.timeouts import scaled


def test_torchrun_two_processes_train_one_run(workspace, tiny_config, tmp_path):
    tiny_config["trainer"].update(steps=30, eval_every=30)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config))
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         "-m", "genesis_core", "train", "--config", str(cfg)],
        capture_output=True, text=True, timeout=scaled(300),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "world size 2" in proc.stdout
    runs = workspace.list_runs()
    assert len(runs) == 1  # rank 0 created the run; rank 1 joined it
    run = runs[0]
    reader = MetricsReader(run.metrics_path)
    steps = reader.series("loss")["step"].tolist()
    assert steps == sorted(set(steps)) and steps[-1] == 30  # one writer: no duplicated rows
    start = reader.events().iloc[0]
    assert start["kind"] == "start" and start["data"]["world_size"] == 2
    assert run.latest_checkpoint().name == "step_00000030"


def test_a_ddp_job_runs_under_torchrun_as_a_background_job(workspace, tiny_config):
    from genesis_core.jobs import api

    tiny_config["trainer"].update(steps=30, eval_every=30)
    job = api.wait(api.submit(tiny_config, nproc=2, workspace=workspace).id, workspace, timeout=scaled(300))
    assert job.status == "succeeded", api.log_tail(job, workspace)
    log = api.log_tail(job, workspace)
    assert log.count("training finished at step 30/30") == 1  # only rank 0 reports
    events = MetricsReader(workspace.get_run(job.run_id).metrics_path).events()
    assert events.iloc[0]["data"]["world_size"] == 2
