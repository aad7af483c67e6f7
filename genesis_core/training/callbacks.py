"""Callbacks of the shared Trainer: metrics writer, checkpointer, progress/ETA, early stop, previews.

A callback sees the trainer's public state (step, total_steps, model, run, last_eval) and may keep
state of its own, which goes into every checkpoint through `state_dict` / `load_state_dict`.
"""

from __future__ import annotations

import io
import math
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import torch

from genesis_core.store import checkpoint as ckpt
from genesis_core.store.files import atomic_write_bytes, atomic_write_text
from genesis_core.store.metrics import MetricsWriter
from genesis_core.store.workspace import Run

if TYPE_CHECKING:
    from genesis_core.training.trainer import Trainer


class Callback:
    gates_updates = False  # True: the trainer asks before_update every step

    def on_train_start(self, trainer: Trainer, resumed_from: Path | None) -> None:
        """Called once before the first step (after a resume restored the state)."""

    def on_step_end(self, trainer: Trainer, logs: dict[str, float] | None) -> None:
        """Called after every step; `logs` holds floats on log steps and is None otherwise."""

    def on_eval(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """Called after each evaluation with the eval/ metrics."""

    def on_phase(self, trainer: Trainer, phase: str) -> None:
        """Called when training enters a phase between steps ("evaluating", "checkpointing") and with "" when it
        goes back to steps, so progress can say what it is doing while no step moves."""

    def before_update(self, trainer: Trainer, loss: torch.Tensor) -> bool:
        """Called after backward, before the optimizer step, only on callbacks whose `gates_updates` is True (it
        may cost a device sync); True skips this step's update (the batch still counts as seen)."""
        return False

    def on_train_end(self, trainer: Trainer, reason: str) -> None:
        """Called once when the loop ends: finished, cancelled or early_stopped."""

    def flush(self) -> None:
        """Make what was logged so far durable (called before every checkpoint)."""

    def close(self) -> None:
        """Release files and handles, also after an error."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what state_dict returned."""


class MetricsCallback(Callback):
    """Writes scalars and events to the run's SQLite store, and scalars to the configured tracker
    (training/trackers.py: tensorboard, mlflow, wandb or none)."""

    def __init__(self, run: Run, tracker: str = "tensorboard"):
        from genesis_core.training.trackers import build_tracker

        self.run = run
        self.writer = MetricsWriter(run.metrics_path)
        self._reason = "failed"  # until the loop says how it ended
        self.tracker = None
        try:  # a tracker library that is missing fails loudly (RuntimeError); one that cannot start is left out
            self.tracker = build_tracker(tracker, run)
        except RuntimeError:
            raise
        except Exception as exc:
            self._tracker_failed(0, tracker, exc)
        self._last_time: float | None = None
        self._last_step = 0

    def on_train_start(self, trainer: Trainer, resumed_from: Path | None) -> None:
        if resumed_from is not None:
            self.writer.truncate_after(trainer.step)
            self.writer.log_event(trainer.step, "resume", f"resumed from {resumed_from.name}",
                                  checkpoint=resumed_from.name)
        else:
            compiled = "compiled" if trainer.train_model is not trainer.eager_model else "eager"
            note = trainer.compile_note or compiled
            self.writer.log_event(0, "start", f"training on {trainer.device} ({trainer.precision.name}, {note})",
                                  device=str(trainer.device), world_size=trainer.ctx.world_size)
        if self.tracker is not None:
            from genesis_core.config import to_dict
            from genesis_core.training.trackers import flatten

            self._track(trainer.step, "log_params", flatten(to_dict(trainer.task.config)))
        self._last_time, self._last_step = time.perf_counter(), trainer.step

    def on_step_end(self, trainer: Trainer, logs: dict[str, float] | None) -> None:
        if logs is None:
            return
        now = time.perf_counter()
        values = dict(logs)
        if self._last_time is not None and trainer.step > self._last_step:
            values["time/steps_per_s"] = (trainer.step - self._last_step) / max(now - self._last_time, 1e-9)
        self._last_time, self._last_step = now, trainer.step
        self.writer.log_scalars(trainer.step, values)
        self._track(trainer.step, "log_scalars", trainer.step, values)

    def on_eval(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        self.writer.log_scalars(trainer.step, metrics)
        self._track(trainer.step, "log_scalars", trainer.step, metrics)

    def on_train_end(self, trainer: Trainer, reason: str) -> None:
        self._reason = reason
        self.writer.log_event(trainer.step, reason, f"training {reason.replace('_', ' ')} at step {trainer.step}")
        self.writer.flush()

    def flush(self) -> None:
        # rows up to a checkpoint must be on disk before it: a resume keeps them and rewrites the rest
        self.writer.flush()
        self._track(self._last_step, "flush")

    def close(self) -> None:
        self._track(self._last_step, "close", self._reason)
        self.tracker = None
        self.writer.close()

    def _track(self, step: int, method: str, *args: Any) -> None:
        """Call the tracker; one that fails is dropped with an event saying why, and training goes on."""
        if self.tracker is None:
            return
        try:
            getattr(self.tracker, method)(*args)
        except Exception as exc:
            name, self.tracker = type(self.tracker).__name__, None
            self._tracker_failed(step, name, exc)

    def _tracker_failed(self, step: int, name: str, exc: Exception) -> None:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        message = (f"tracker {name} failed ({type(exc).__name__}: {first}); it is off for the rest of this run, "
                   "the workbench's store has every metric")
        print(message, file=sys.stderr, flush=True)
        self.writer.log_event(step, "tracker", message)


class CheckpointCallback(Callback):
    """Saves every `every` steps, and always when training ends (finished, cancelled, early stop)."""

    def __init__(self, run: Run, every: int, keep: int = 2):
        self.run = run
        self.every = every
        self.keep = max(1, keep)
        self.last_saved: Path | None = None

    def save(self, trainer: Trainer) -> Path:
        folder = self.run.checkpoints_dir / f"step_{trainer.step:08d}"
        trainer.phase("checkpointing")
        for cb in trainer.callbacks:
            cb.flush()
        try:
            ckpt.save_checkpoint(folder, trainer.model.state_dict(), trainer.checkpoint_meta(), trainer.train_state())
        finally:
            trainer.phase("")
        atomic_write_text(self.run.checkpoints_dir / "latest", folder.name)
        self.last_saved = folder
        old = sorted(p for p in self.run.checkpoints_dir.glob("step_*") if p.is_dir())[:-self.keep]
        for p in old:
            shutil.rmtree(p, ignore_errors=True)
        return folder

    def on_step_end(self, trainer: Trainer, logs: dict[str, float] | None) -> None:
        if self.every and trainer.step % self.every == 0 and trainer.step < trainer.total_steps:
            self.save(trainer)

    def on_train_end(self, trainer: Trainer, reason: str) -> None:
        if self.last_saved is None or self.last_saved.name != f"step_{trainer.step:08d}":
            self.save(trainer)


class ProgressCallback(Callback):
    """Progress and ETA: reported to the job store (throttled) and, optionally, as a terminal bar."""

    def __init__(self, reporter: Callable[[dict[str, Any]], None] | None = None, bar: bool = False,
                 min_interval_s: float = 0.5):
        self.reporter = reporter
        self.min_interval_s = min_interval_s
        self.bar = None
        self._bar_enabled = bar
        self._start_time = 0.0
        self._start_step = 0
        self._last_report = 0.0
        self.latest: dict[str, float] = {}
        self.phase = ""
        self._phase_started = 0.0
        self._phase_seconds: dict[str, float] = {}  # how long each phase took last time (its ETA)
        self._end_phases_done: set[str] = set()  # the phases begun after the last step

    def on_train_start(self, trainer: Trainer, resumed_from: Path | None) -> None:
        self._start_time, self._start_step = time.perf_counter(), trainer.step
        if self._bar_enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=trainer.total_steps, initial=trainer.step, unit="step", file=sys.stderr,
                            dynamic_ncols=True)
        self._report(trainer, force=True)

    END_PHASES = ("evaluating", "checkpointing", "previewing")  # what a run does after its last step

    def eta_seconds(self, trainer: Trainer) -> float | None:
        """Seconds left: the steps at the rate so far, plus the phases that follow the last step (the final
        evaluation, checkpoint and previews) at the length each took last time. None when a phase that remains
        has not been timed yet, or runs longer than last time: unknown, never a false 0."""
        ended = trainer.step >= trainer.total_steps
        steps = 0.0
        if not ended:
            done = trainer.step - self._start_step
            if done <= 0:
                return None
            steps = (trainer.total_steps - trainer.step) / (done / max(time.perf_counter() - self._start_time, 1e-9))
        after = 0.0
        for name in self.END_PHASES:
            if ended and name in self._end_phases_done and name != self.phase:
                continue
            last = self._phase_seconds.get(name)
            if last is None:
                if ended:  # the phase has not been timed: how long is left is not known
                    return None
                continue
            if ended and name == self.phase:
                last -= time.perf_counter() - self._phase_started
                if last < 0:
                    return None
            after += last
        return steps + after

    def _report(self, trainer: Trainer, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_report < self.min_interval_s:
            return
        self._last_report = now
        if self.reporter is not None:
            message = ""
            if self.phase:
                last = self._phase_seconds.get(self.phase)
                message = self.phase + (f" (last time {last:.0f} s)" if last is not None else "")
            self.reporter({"step": trainer.step, "total": trainer.total_steps, "eta_s": self.eta_seconds(trainer),
                           "metrics": {**self.latest, **trainer.last_eval}, "message": message})

    def on_phase(self, trainer: Trainer, phase: str) -> None:
        now = time.perf_counter()
        if self.phase:
            self._phase_seconds[self.phase] = now - self._phase_started
        if phase and trainer.step >= trainer.total_steps:
            self._end_phases_done.add(phase)
        self.phase, self._phase_started = phase, now
        self._report(trainer, force=True)

    def on_step_end(self, trainer: Trainer, logs: dict[str, float] | None) -> None:
        if logs:
            self.latest = {k: v for k, v in logs.items() if math.isfinite(v)}
            if self.bar is not None:
                self.bar.set_postfix(loss=f"{logs['loss']:.4g}", refresh=False)
        if self.bar is not None:
            self.bar.update(trainer.step - self.bar.n)
        self._report(trainer)

    def on_train_end(self, trainer: Trainer, reason: str) -> None:
        self._report(trainer, force=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class EarlyStopping(Callback):
    """Stops when `metric` has not improved for `patience` evaluations."""

    def __init__(self, metric: str, mode: str = "min", patience: int = 5, min_delta: float = 0.0):
        self.metric, self.mode, self.patience, self.min_delta = metric, mode, patience, min_delta
        self.best: float | None = None
        self.bad_evals = 0

    def on_eval(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if self.metric not in metrics:
            return
        value = metrics[self.metric]
        better = self.best is None or (
            value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        )
        if better:
            self.best, self.bad_evals = value, 0
        else:
            self.bad_evals += 1
            if self.bad_evals >= self.patience:
                trainer.request_stop("early_stopped")

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "bad_evals": self.bad_evals}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.bad_evals = state["best"], int(state["bad_evals"])


class BestCheckpoint(Callback):
    """Keeps the weights of the best evaluation by `metric` in checkpoints/best (never pruned) and, when
    training ends normally, makes them the final model: the model a finished run hands out is its best,
    and its last evaluation is the best one's. A cancelled run keeps its last weights, so it resumes exactly."""

    def __init__(self, run: Run, metric: str, mode: str = "min"):
        self.run, self.metric, self.mode = run, metric, mode
        self.best: float | None = None
        self.best_step: int | None = None

    @property
    def folder(self) -> Path:
        return self.run.checkpoints_dir / "best"

    def on_train_start(self, trainer: Trainer, resumed_from: Path | None) -> None:
        if resumed_from is None and trainer.step == 0:  # the untrained model is a candidate too (a model that
            trainer.evaluate_now(notify=[self])  # starts at a baseline, e.g. PCA, never ends below it)

    def on_eval(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        value = metrics.get(self.metric)
        if value is None or value != value:  # missing or NaN
            return
        if self.best is None or (value < self.best if self.mode == "min" else value > self.best):
            self.best, self.best_step = value, trainer.step
            ckpt.save_checkpoint(self.folder, trainer.model.state_dict(),
                                 {**trainer.checkpoint_meta(), "best_metric": self.metric, "best_value": value})

    def on_train_end(self, trainer: Trainer, reason: str) -> None:
        if reason not in ("finished", "early_stopped") or self.best_step is None or self.best_step == trainer.step:
            return
        trainer.model.load_state_dict(ckpt.load_weights(self.folder))
        metrics = trainer.evaluate_now()
        what = (f"the untrained model (the baseline it starts from: no trained checkpoint beat it on {self.metric}) "
                "is the final model" if self.best_step == 0 else
                f"the best weights (step {self.best_step}, {self.metric} {self.best:.4g}) are the final model")
        trainer.log_event("best_restored", what, step=self.best_step,
                          **{k: v for k, v in metrics.items() if k == self.metric})

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_step = state.get("best"), state.get("best_step")


class PreviewCallback(Callback):
    """Saves the task's sample previews (images) as run artifacts every `every` steps and at the end (not when
    cancelled)."""

    def __init__(self, run: Run, every: int):
        self.run = run
        self.every = every

    def save(self, trainer: Trainer) -> None:
        trainer.phase("previewing")
        trainer.model.eval()
        try:
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                previews = trainer.task.preview(trainer.model)
        finally:
            trainer.model.train()
            trainer.phase("")
        for name, item in previews.items():
            if isinstance(item, bytes):
                data = item
            else:  # a PIL image
                buf = io.BytesIO()
                item.save(buf, format="PNG")
                data = buf.getvalue()
                name = f"{name}.png"
            atomic_write_bytes(self.run.artifact_path(f"preview_{name}"), data)

    def on_step_end(self, trainer: Trainer, logs: dict[str, float] | None) -> None:
        if self.every and trainer.step % self.every == 0 and trainer.step < trainer.total_steps:
            self.save(trainer)

    def on_train_end(self, trainer: Trainer, reason: str) -> None:
        if reason != "cancelled":  # a cancel frees its slot at once: no samples, video or grid on the way out
            self.save(trainer)
