"""`python -m genesis_core` as a user runs it, in a real subprocess."""

import os
import subprocess
import sys

import pytest
import yaml

from genesis_core.vision.tasks import ImageAutoencoderConfig


def cli(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "genesis_core", *args], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


def test_help_explains_each_command(workspace):
    out = cli("--help")
    assert out.returncode == 0
    for command in ("train", "config", "jobs", "runs"):
        assert command in out.stdout
    jobs_help = cli("jobs", "--help").stdout
    assert "resume: continue a failed or cancelled job from its last checkpoint" in " ".join(jobs_help.split())


@pytest.mark.slow
def test_train_follow_then_manage_jobs_and_runs(workspace, tiny_config, tmp_path):
    cfg = tmp_path / "tiny.toml"
    defaults = cli("config", "image_autoencoder")
    assert yaml.safe_load(defaults.stdout)["trainer"]["steps"] == ImageAutoencoderConfig().trainer.steps
    import tomli_w
    cfg.write_bytes(tomli_w.dumps(tiny_config).encode())

    out = cli("train", "--config", str(cfg), "--set", "trainer.steps=30")
    assert out.returncode == 0, out.stderr
    assert "succeeded" in out.stdout and "eval/mse" in out.stdout
    assert "30/30" in out.stderr  # the progress bar

    jobs = cli("jobs", "list").stdout
    assert "succeeded" in jobs and "30/30" in jobs
    run_id = workspace.list_runs()[0].id
    job_id = jobs.splitlines()[1].split()[0]
    assert "training finished at step 30/30" in cli("jobs", "logs", job_id).stdout
    assert '"status": "succeeded"' in cli("jobs", "show", job_id).stdout
    assert cli("runs", "tag", run_id, "baseline").returncode == 0
    assert cli("runs", "favorite", run_id).returncode == 0
    listed = cli("runs", "list", "--favorites", "--tag", "baseline").stdout
    assert run_id in listed and "★" in listed
    assert '"latest_checkpoint": "step_00000030"' in cli("runs", "show", run_id).stdout
    refused = cli("runs", "delete", run_id)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert cli("runs", "delete", run_id, "--yes").returncode == 0
    assert "no runs" in cli("runs", "list").stdout


def test_user_errors_are_one_line_with_exit_code_2(workspace, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("task: image_autoencoder\nmodel: {latent_dim: many}\n")
    out = cli("train", "--config", str(cfg), "--detach")
    assert out.returncode == 2
    assert out.stderr.strip() == "error: model.latent_dim: expected an integer, got 'many'"
    for args, message in [(("jobs", "show", "job-nope"), "no job 'job-nope'"),
                          (("runs", "show", "../../etc"), "is not allowed"),
                          (("jobs", "resume"), "needs a job id"),
                          (("runs", "delete", "--yes", "run-nope"), "no run 'run-nope'"),  # flags before the id
                          (("train", "--config", str(tmp_path / "missing.yaml")), "cannot read config file")]:
        out = cli(*args)
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
