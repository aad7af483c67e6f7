"""`genesis verify`: every check on this machine (quick and with a 3-step run of each task), a failing check's
line and exit code, and the Home page's button running the same checks as a job."""

import json

from genesis_core.cli.commands import main
from genesis_core.jobs import api
from genesis_core.verify import TASK_RUNS, Check, run_checks
from tests.timeouts import scaled
from tests.ui.pages import open_page


def test_quick_verify_passes_here_one_line_per_check(workspace, capsys):
    assert main(["verify", "--quick"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "8 of 8 checks passed"
    assert all(line.startswith("ok  ") for line in out[:-1])
    mp4 = next(line for line in out if "mp4 round trip" in line)
    assert "24 frames" in mp4 and "s of sound" in mp4
    trackers = next(line for line in out if "trackers" in line)
    assert "TensorBoard 2." in trackers and "MLflow 3." in trackers and "W&B 0." in trackers


def test_verify_runs_three_steps_of_every_task(workspace, capsys):
    assert main(["verify", "--json"]) == 0
    checks = json.loads(capsys.readouterr().out)
    tasks = {c["name"][5:]: c for c in checks if c["name"].startswith("task ")}
    assert set(tasks) == set(TASK_RUNS) and all(c["ok"] for c in tasks.values())
    assert "at step 3/3" in tasks["image_autoencoder"]["detail"]


def test_a_failing_check_is_a_line_and_a_nonzero_exit(monkeypatch, capsys, workspace):
    import genesis_core.verify as v

    def broken():
        raise ImportError("No module named 'torchcodec.decoders'")

    monkeypatch.setattr(v, "_mp4", broken)  # a missing library, simulated: FFmpeg cannot be removed for a test
    assert main(["verify", "--quick"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  mp4 round trip" in out and "ImportError: No module named" in out and "failed: mp4 round trip" in out
    results = run_checks(quick=True)
    assert isinstance(results[0], Check) and [c.ok for c in results].count(False) == 1


def test_the_home_page_runs_the_checks_as_a_job(workspace):
    at = open_page().run()
    assert not at.exception and any("Not verified yet" in c.value for c in at.caption)
    at.toggle(key="verify_quick").set_value(True).run()
    at.button(key="verify_start").click().run()
    assert not at.exception and "Started job" in at.success[0].value
    (job,) = [j for j in api.list_jobs(workspace) if j.task == "verify"]
    assert api.wait(job.id, workspace, timeout=scaled(300)).status == "succeeded"
    at.run()
    assert not at.exception and at.success[-1].value.startswith("8 of 8 checks passed")
