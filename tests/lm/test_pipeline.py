"""A long language-model job that crashes (SIGKILL) resumes by itself (trainer.auto_resume) and continues the
same curve; and the `lm` CLI on it."""

import os
import signal

import pytest

from genesis_core.jobs import api
from genesis_core.store.metrics import MetricsReader
from tests.jobs.test_jobs import wait_until
from tests.lm.helpers import tiny_lm
from tests.test_cli import cli, cli_here
from tests.timeouts import scaled


@pytest.mark.slow
def test_a_crashed_job_auto_resumes_from_its_checkpoint_and_finishes(workspace, capsys):
    cfg = tiny_lm(trainer={"steps": 240, "checkpoint_every": 30, "eval_every": 240, "preview_every": 0,
                           "auto_resume": 2})
    reference = api.wait(api.submit(cfg, workspace=workspace).id, workspace, timeout=scaled(300))
    assert reference.status == "succeeded"
    job = api.submit(cfg, workspace=workspace)
    run = workspace.get_run(job.run_id)
    wait_until(lambda: run.latest_checkpoint() is not None and api.get(job.id, workspace).step > 40, timeout=scaled(180))
    os.kill(api.get(job.id, workspace).pid, signal.SIGKILL)  # a crash, as the OOM killer would do it
    final = api.wait(job.id, workspace, timeout=scaled(300))
    assert final.status == "succeeded" and final.attempts == 1, api.log_tail(final, workspace)
    kinds = MetricsReader(run.metrics_path).events()["kind"].tolist()
    assert kinds[0] == "start" and "resume" in kinds and kinds[-1] == "finished"

    def curve(run_id):
        df = MetricsReader(workspace.get_run(run_id).metrics_path).scalars(["loss", "loss_ema", "lr"])
        return df.set_index(["step", "key"])["value"].to_dict()

    # the SIGKILLed, auto-resumed run logs the same losses, EMA and LR as the one that never stopped
    assert curve(run.id) == pytest.approx(curve(reference.run_id), rel=1e-6)

    verdict = cli_here(capsys, "lm", "eval", run.id, "--bytes", "1024")
    assert verdict.returncode == 0 and "GO: every language beats its unigram baseline" in verdict.stdout
    assert "unigram_bpb" in verdict.stdout
    strict = cli_here(capsys, "lm", "eval", run.id, "--bytes", "1024", "--margin", "50")
    assert strict.returncode == 3 and "NO-GO" in strict.stdout
    events = cli_here(capsys, "lm", "events", run.id)
    assert "resume" in events.stdout
    sample = cli("lm", "sample", run.id, "--prompt", "The ", "--length", "20")
    assert sample.returncode == 0 and sample.stdout.startswith("The ")
