"""`genesis verify` as a job (task `verify`, the Home page's button). Apart from verify.py, so that the CLI,
which imports verify.py for its subcommand, starts without importing torch."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from genesis_core.registry import TASKS
from genesis_core.training.task import JobResult, JobTask, TaskConfigBase, TrainerConfig
from genesis_core.verify import Check, run_checks


@dataclass(frozen=True)
class VerifyConfig(TaskConfigBase):
    task: str = "verify"
    quick: bool = False  # skip the 3-step run of each task
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(steps=1, tensorboard=False, device="cpu"))


@TASKS.register("verify")
class VerifyTask(JobTask):
    """`genesis verify` as a job (the Home page's button): writes verify.json into its run."""

    config_cls = VerifyConfig
    title = "Verify the installation"
    description = "Check versions, device, attention, an mp4 round trip, corpora and a 3-step run of each task."

    def fit_job(self, run, stop_event, reporter) -> JobResult:
        from genesis_core.store.files import atomic_write_text

        start = time.time()

        def on_check(check: Check, done: int, total: int) -> None:
            eta = (time.time() - start) / done * (total - done)
            reporter({"step": done, "total": total, "eta_s": eta, "metrics": {},
                      "message": f"{check.name}: {'ok' if check.ok else 'FAILED'}"})

        results = run_checks(self.config.quick, on_check, stop_event.is_set)
        atomic_write_text(run.artifact_path("verify.json"), json.dumps([asdict(c) for c in results], indent=2))
        passed = sum(c.ok for c in results)
        return JobResult(len(results), len(results), "cancelled" if stop_event.is_set() else "finished",
                         {"eval/checks_passed": float(passed), "eval/checks_failed": float(len(results) - passed)})
