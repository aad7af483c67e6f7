"""`python -m genesis_core` as a user runs it, in a real subprocess."""

import os
import subprocess
import sys

import pytest
import yaml

from genesis_core.vision.tasks.autoencoders import ImageAutoencoderConfig
from tests.timeouts import scaled


def cli(*args, timeout=scaled(180)):
    return subprocess.run([sys.executable, "-m", "genesis_core", *args], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


def cli_here(capsys, *args):
    """The same command in this process, its output and exit code as `cli` returns them: for a test of what a
    command prints, not of the `genesis` process itself (this file's tests run that), without a second
    interpreter importing torch (seconds each on two busy cores)."""
    from types import SimpleNamespace

    from genesis_core.cli.commands import main

    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code if isinstance(exc.code, int) else 2
    out = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


def test_help_explains_each_command(workspace):
    out = cli("--help")
    assert out.returncode == 0
    for command in ("train", "config", "jobs", "runs"):
        assert command in out.stdout
    jobs_help = cli("jobs", "--help").stdout
    assert "resume continue a failed or cancelled job from its last checkpoint" in " ".join(jobs_help.split())


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
                          (("jobs", "resume"), "required: JOB_ID"),
                          (("runs", "delete", "--yes", "run-nope"), "no run 'run-nope'"),  # flags before the id
                          (("train", "--config", str(tmp_path / "missing.yaml")), "cannot read config file")]:
        out = cli(*args)
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def _walk(parser, path=()):
    import argparse

    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, path + (name,))


def test_every_option_of_every_command_has_help_text():
    import argparse

    from genesis_core.cli.commands import build_parser

    missing = [f"{' '.join(path)} {'/'.join(a.option_strings) or a.dest}"
               for path, parser in _walk(build_parser()) for a in parser._actions
               if not isinstance(a, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction))
               and not a.help]
    assert not missing, missing


@pytest.mark.parametrize("command, shown, hidden", [
    (["images", "interpolate"], "--steps", "--anchors"), (["images", "stitch"], "--anchors", "--steps"),
    (["lm", "sample"], "--prompt", "--margin"), (["sweep", "run"], "--backend", "SWEEP_ID"),
])
def test_every_labs_action_has_its_own_help(command, shown, hidden, capsys):
    from genesis_core.cli.commands import main

    with pytest.raises(SystemExit):
        main([*command, "--help"])
    text = capsys.readouterr().out
    assert f"{' '.join(command)} [-h]" in text and shown in text and hidden not in text


def test_jobs_and_runs_actions_have_their_own_help(capsys):
    import pytest

    from genesis_core.cli.commands import main

    with pytest.raises(SystemExit):
        main(["jobs", "list", "--help"])
    text = capsys.readouterr().out
    assert "usage:" in text and "jobs list" in text and "--status" in text and "--detach" not in text
    with pytest.raises(SystemExit):
        main(["runs", "tag", "--help"])
    assert "TAG" in capsys.readouterr().out


def test_config_prints_yaml_toml_or_json_that_read_back(tmp_path, capsys):
    from genesis_core.cli.commands import main
    from genesis_core.config import read_mapping

    for fmt in ("yaml", "toml", "json"):
        assert main(["config", "image_autoencoder", "--format", fmt]) == 0
        path = tmp_path / f"ae.{fmt}"
        path.write_text(capsys.readouterr().out)
        assert read_mapping(path)["task"] == "image_autoencoder"


def test_config_dump_and_train_help_say_what_each_key_takes(workspace):
    dump = cli("config", "image_restoration").stdout
    assert "posterise | halftone | kuwahara | swirl" in dump and "\ncorruptions:\n" in dump
    assert yaml.safe_load(dump)["task"] == "image_restoration"
    help_text = " ".join(cli("train", "--help").stdout.split())
    assert "trainer.tracker tensorboard | mlflow | wandb | none" in help_text and "genesis config TASK" in help_text
