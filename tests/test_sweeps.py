"""Sweeps end to end: a real Optuna study whose trials are real jobs; bad files fail before anything starts."""

import json

import pytest

from genesis_core.jobs import api
from tests.test_cli import cli, cli_here
from tests.timeouts import scaled

pytestmark = pytest.mark.slow

SWEEP = """
task: image_autoencoder
name: tiny sweep
base:
  data: {dataset: sklearn_digits, batch_size: 32}
  model: {arch: mlp, hidden: 32}
  trainer: {steps: 40, eval_every: 20, log_every: 10, device: cpu, tensorboard: false}
metric: eval/psnr_db
trials: 3
concurrency: 2
space:
  model.latent_dim: {int: [2, 12]}
  trainer.lr: {float: [0.0005, 0.01], log: true}
"""


def test_a_sweep_runs_its_trials_as_jobs_and_reports_the_best(workspace, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENESIS_MAX_JOBS_CPU", "2")
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP)
    out = cli("sweep", "run", str(path), "--wait", timeout=scaled(400))
    assert out.returncode == 0, out.stderr
    assert "best: trial" in out.stdout and '"latent_dim"' in out.stdout
    assert "parameter importance (fANOVA" in out.stdout and "trainer.lr" in out.stdout.split("importance")[-1]
    (sweep,) = workspace.list_runs(task="sweep")
    trials = [r for r in workspace.list_runs() if f"sweep:{sweep.id}" in r.tags]
    assert len(trials) == 3  # none lost, none duplicated
    jobs = [j for j in api.list_jobs(workspace) if j.task == "image_autoencoder"]
    assert len(jobs) == 3 and all(j.status == "succeeded" for j in jobs)
    summary = json.loads(sweep.artifact_path("sweep.json").read_text())
    assert len(summary["trials"]) == 3 and summary["best"]["value"] == max(t["value"] for t in summary["trials"])
    listed = cli_here(capsys, "sweep", "list")
    assert sweep.id in listed.stdout and "best eval/psnr_db" in listed.stdout


@pytest.mark.parametrize("change, message", [
    ("space:\n  model.latnt_dim: {int: [2, 12]}\n", "model.latnt_dim: unknown key"),
    ("space:\n  model.latent_dim: {int: [12, 2]}\n", "space.model.latent_dim.int: low must be below high"),
    ("space:\n  trainer.lr: {float: [0, 0.1], log: true}\n", "a log range must be positive"),
    ("space:\n  trainer.lr: {between: [0, 1]}\n", "space.trainer.lr.between: unknown key"),
    ("trails: 3\n", "trails: unknown key"),
])
def test_a_bad_sweep_file_fails_before_anything_starts_naming_the_key(workspace, tmp_path, change, message, capsys):
    path = tmp_path / "bad.yaml"
    base = SWEEP if not change.startswith("space") else SWEEP.split("space:")[0]
    path.write_text(base + change)
    out = cli_here(capsys, "sweep", "run", str(path))
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
    assert not api.list_jobs(workspace)


def test_parameter_importance_finds_the_parameter_the_metric_depends_on():
    import optuna

    from genesis_core.sweeps.driver import param_importances

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    assert param_importances(study) == {}
    study.optimize(lambda t: (t.suggest_float("x", -1, 1) ** 2) + 0.0 * t.suggest_float("noise", -1, 1), n_trials=40)
    importances = param_importances(study)
    assert set(importances) == {"x", "noise"} and importances["x"] > 0.9
