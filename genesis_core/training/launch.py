"""The one launcher: a validated task config and its run in, a finished (or stopped) run out.

The CLI's foreground `train` (and torchrun) and the job worker both call `launch`; it builds the task on
the picked device and either hands it to the shared Trainer or, for a task that owns its loop (JobTask),
lets the task run itself. Distributed state is torn down however training ends.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from genesis_core.device import pick_device
from genesis_core.registry import TASKS
from genesis_core.training.distributed import shutdown_distributed
from genesis_core.training.task import JobTask
from genesis_core.training.trainer import Trainer, TrainResult

Reporter = Callable[[dict[str, Any]], None]


def launch(config: Any, run: Any, stop_event: threading.Event | None = None, reporter: Reporter | None = None,
           resume: bool = False, progress_bar: bool = False) -> TrainResult:
    """Train `config` (a task's frozen config, see `registry.task_config`) into `run`.

    `stop_event` stops it gracefully (checkpoint first); `reporter` receives progress dicts (step, total,
    eta_s, metrics, message); `resume` continues from the run's last checkpoint; `progress_bar` draws a
    terminal bar (rank 0 only)."""
    stop_event = stop_event or threading.Event()
    task = TASKS.get(config.task)(config, pick_device(config.trainer.device))
    try:
        if isinstance(task, JobTask):  # a task that owns its whole loop (e.g. fitting a tabular generator)
            return task.fit_job(run, stop_event, reporter or _terminal_reporter(progress_bar))
        trainer = Trainer(task, run, stop_event=stop_event, reporter=reporter, resume=resume,
                          progress_bar=progress_bar)
        return trainer.fit()
    finally:
        shutdown_distributed()


def _terminal_reporter(enabled: bool) -> Reporter:
    """Progress of a JobTask in the foreground: one line per message."""
    last = {"message": None}

    def report(p: dict[str, Any]) -> None:
        message = p.get("message")
        if enabled and message and message != last["message"]:
            last["message"] = message
            print(f"[{p['step'] / max(p['total'], 1):4.0%}] {message}", flush=True)

    return report
