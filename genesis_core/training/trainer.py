"""The shared training loop every lab uses.

    task = TASKS.build("image_autoencoder", config, device)
    result = Trainer(task, run).fit()

Order inside one step, chosen so that a checkpoint captures exactly the state before the next step:
forward/backward/update -> evaluation (if due) -> callbacks (metrics, progress, previews, checkpoint
last). Evaluation and previews run on a forked RNG, so they never shift the training randomness:
a run killed and resumed from a checkpoint produces the same losses as one that never stopped.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, cast

import numpy as np
import torch
from torch import nn

from genesis_core.device import pick_precision
from genesis_core.store import checkpoint as ckpt
from genesis_core.store.workspace import Run
from genesis_core.training import distributed as dist_utils
from genesis_core.training.callbacks import (
    BestCheckpoint,
    Callback,
    CheckpointCallback,
    EarlyStopping,
    MetricsCallback,
    PreviewCallback,
    ProgressCallback,
)
from genesis_core.training.task import TrainingTask

ProgressReporter = Callable[[dict[str, Any]], None]


@dataclass
class TrainResult:
    step: int
    total_steps: int
    reason: str  # finished | cancelled | early_stopped
    eval_metrics: dict[str, float] = field(default_factory=dict)
    checkpoint: Path | None = None


def capture_rng() -> dict[str, Any]:
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss), float(cached)))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def compile_for_training(model: nn.Module, device: torch.device) -> tuple[nn.Module, str]:
    """(the model torch.compile'd, "") or (the model as it is, why it cannot be compiled here)."""
    import shutil

    if device.type == "mps":
        return model, "torch.compile is not used on MPS; training eager"
    if device.type == "cpu" and not (shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")):
        return model, "torch.compile needs a C compiler on the CPU (none found); training eager"
    try:
        return cast(nn.Module, torch.compile(model)), ""
    except Exception as exc:  # e.g. an unsupported Python
        return model, f"torch.compile is not available ({type(exc).__name__}); training eager"


class Trainer:
    """Runs a TrainingTask: the loop, precision, clipping, evaluation, callbacks, checkpoints, resume, DDP."""

    def __init__(
        self,
        task: TrainingTask,
        run: Run | None = None,
        callbacks: list[Callback] | None = None,
        stop_event: threading.Event | None = None,
        reporter: ProgressReporter | None = None,
        resume: bool = False,
        progress_bar: bool = False,
    ):
        self.task = task
        self.config = task.config.trainer
        self.run = run
        self.stop_event = stop_event or threading.Event()
        self.resume = resume
        self.ctx = dist_utils.init_distributed(task.device)
        self.device = dist_utils.local_device(task.device, self.ctx)
        task.device = self.device
        self.precision = pick_precision(self.device, self.config.precision)
        self.total_steps = self.config.steps
        self.step = 0
        self.last_eval: dict[str, float] = {}
        self._stop_reason: str | None = None

        seed_everything(self.config.seed + self.ctx.rank)
        self.model: nn.Module = task.build_model().to(self.device)
        self.train_model: nn.Module = self.model
        if self.ctx.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.eager_model = self.train_model
        self.compile_note = ""
        if self.config.compile:
            self.train_model, self.compile_note = compile_for_training(self.train_model, self.device)
        self.optimizer = task.build_optimizer(self.model)
        self.scheduler = task.build_scheduler(self.optimizer)
        self.loader = task.build_loader(self.ctx.rank, self.ctx.world_size)

        if callbacks is None:
            callbacks = self.default_callbacks(reporter, progress_bar) if self.ctx.is_main else []
        self.callbacks = [*task.callbacks(), *callbacks]

    # -- callbacks ------------------------------------------------------------------------------
    def default_callbacks(self, reporter: ProgressReporter | None, progress_bar: bool) -> list[Callback]:
        cbs: list[Callback] = [ProgressCallback(reporter, progress_bar)]
        if self.config.early_stop_metric:
            cbs.append(EarlyStopping(self.config.early_stop_metric, self.config.early_stop_mode,
                                     self.config.early_stop_patience))
        if self.run is not None:
            tracker = self.config.tracker
            if tracker == "tensorboard" and not self.config.tensorboard:
                tracker = "none"
            cbs.insert(0, MetricsCallback(self.run, tracker=tracker))
            if self.config.best_metric:  # before previews and the last checkpoint: they show the best weights
                cbs.append(BestCheckpoint(self.run, self.config.best_metric, self.config.best_mode))
            cbs.append(PreviewCallback(self.run, self.config.preview_every))
            cbs.append(CheckpointCallback(self.run, self.config.checkpoint_every, self.config.keep_checkpoints))
        return cbs

    def callback(self, kind: type) -> Any:
        return next((cb for cb in self.callbacks if isinstance(cb, kind)), None)

    def request_stop(self, reason: str) -> None:
        """Stop after the current step (callbacks use this, e.g. early stopping)."""
        self._stop_reason = self._stop_reason or reason

    # -- state ----------------------------------------------------------------------------------
    def train_state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "rng": capture_rng(),
            "loader": self.loader.state_dict(),
            "callbacks": {type(cb).__name__: cb.state_dict() for cb in self.callbacks},
            "last_eval": self.last_eval,
        }

    def checkpoint_meta(self) -> dict[str, Any]:
        from genesis_core.config import to_dict

        return {
            "kind": "training",
            "task": self.task.config.task,
            "model_class": type(self.model).__name__,
            "config": to_dict(self.task.config),
            "step": self.step,
            "total_steps": self.total_steps,
            "metrics": self.last_eval,
            **self.task.checkpoint_meta(),
        }

    def save_checkpoint(self) -> Path | None:
        cb = self.callback(CheckpointCallback)
        return cb.save(self) if cb is not None else None

    def restore(self, folder: Path) -> None:
        self.model.load_state_dict(ckpt.load_weights(folder))
        state = ckpt.load_train_state(folder)
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.loader.load_state_dict(state["loader"])
        for cb in self.callbacks:
            cb_state = state["callbacks"].get(type(cb).__name__)
            if cb_state is not None:
                cb.load_state_dict(cb_state)
        self.step = int(state["step"])
        self.last_eval = dict(state.get("last_eval") or {})
        if self.ctx.rank == 0:
            restore_rng(state["rng"])
        else:  # only rank 0's RNG is stored; other ranks continue from a seed derived from the step
            seed_everything(self.config.seed + self.ctx.rank + 7919 * self.step)

    def rollback(self) -> int | None:
        """Load the weights and optimizer state of the latest checkpoint and carry on from the current step with
        the data that follows (the batches since then are not replayed). The checkpoint's step, or None when
        there is none yet."""
        latest = self.run.latest_checkpoint() if self.run is not None else None
        if latest is None:
            return None
        self.model.load_state_dict(ckpt.load_weights(latest))
        self.optimizer.load_state_dict(ckpt.load_train_state(latest)["optimizer"])
        return int(ckpt.read_meta(latest).get("step", 0))

    # -- loop -----------------------------------------------------------------------------------
    def _evaluate(self, notify: bool | list[Callback] = True) -> dict[str, float]:
        """Evaluate, record (metrics callback) and tell the callbacks (all, or the ones given)."""
        self.phase("evaluating")
        self.model.eval()
        try:
            with torch.random.fork_rng(devices=[]), torch.no_grad(), self.precision.autocast(self.device):
                metrics = {f"eval/{k}": float(v) for k, v in self.task.evaluate(self.model).items()}
        finally:
            self.model.train()
            self.phase("")
        self.last_eval = metrics
        told = self.callbacks if notify is True else [self.callback(MetricsCallback), *(notify or [])]
        for cb in told:
            if cb is not None:
                cb.on_eval(self, metrics)
        return metrics

    def phase(self, name: str) -> None:
        """Say which phase between steps training is in ("" back to steps): progress shows it, never a frozen bar."""
        for cb in self.callbacks:
            cb.on_phase(self, name)

    def evaluate_now(self, notify: list[Callback] | None = None) -> dict[str, float]:
        """Evaluate the model as it is now and record it; only the callbacks in `notify` are told, not those
        that steer training."""
        return self._evaluate(notify=notify or [])

    def log_event(self, kind: str, message: str, step: int | None = None, **data: Any) -> None:
        """An event in the run's metrics store (rank 0, when the run is recorded)."""
        cb = self.callback(MetricsCallback)
        if cb is not None:
            cb.writer.log_event(self.step if step is None else step, kind, message, **data)

    def _forward(self, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        try:
            with self.precision.autocast(self.device):
                return self.task.training_step(self.train_model, batch)
        except Exception as exc:  # a compiled model that cannot compile here: say why once, train eager
            if self.train_model is self.eager_model:
                raise
            self.train_model, self.compile_note = self.eager_model, f"torch.compile failed ({type(exc).__name__}: " \
                f"{str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''}); training eager"
            self.log_event("compile", self.compile_note)
            print(self.compile_note, flush=True)
            with self.precision.autocast(self.device):
                return self.task.training_step(self.train_model, batch)

    def _due(self, every: int) -> bool:
        return every > 0 and self.step % every == 0

    def fit(self) -> TrainResult:
        resumed_from = None
        if self.run is not None and self.ctx.rank == 0:
            ckpt.clean_partial_writes(self.run.checkpoints_dir)
        if self.resume and self.run is not None:
            latest = self.run.latest_checkpoint()
            if latest is not None:
                self.restore(latest)
                resumed_from = latest
        for cb in self.callbacks:
            cb.on_train_start(self, resumed_from)

        clip = self.config.grad_clip
        gates = [cb for cb in self.callbacks if cb.gates_updates]
        self.model.train()
        try:
            while self.step < self.total_steps:
                if dist_utils.any_rank(self.stop_event.is_set(), self.ctx, self.device):
                    self.request_stop("cancelled")
                if self._stop_reason:
                    break
                batch = self.loader.next_batch()
                loss, extra = self._forward(batch)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = None
                if clip > 0:
                    grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
                if not any(cb.before_update(self, loss) for cb in gates):
                    self.optimizer.step()
                if self.scheduler is not None:
                    self.scheduler.step()
                self.step += 1

                logs = None
                if self._due(self.config.log_every) or self.step == self.total_steps:
                    values = {"loss": loss.detach(), **{k: v.detach() for k, v in extra.items()}}
                    if grad_norm is not None:
                        values["grad_norm"] = grad_norm
                    logs = {k: float(v) for k, v in values.items()}
                    logs = dist_utils.mean_across_ranks(logs, self.ctx, self.device)
                    logs["lr"] = self.optimizer.param_groups[0]["lr"]
                if self._due(self.config.eval_every) or self.step == self.total_steps:
                    self._evaluate()
                for cb in self.callbacks:
                    cb.on_step_end(self, logs)
                if dist_utils.any_rank(self._stop_reason is not None, self.ctx, self.device):
                    self.request_stop(self._stop_reason or "stopped on another rank")
            if self.step == self.total_steps and self._stop_reason is None:
                reason = "finished"
            else:
                reason = self._stop_reason or "cancelled"
            for cb in self.callbacks:
                cb.on_train_end(self, reason)
        finally:
            for cb in self.callbacks:
                cb.close()
        cb = self.callback(CheckpointCallback)
        return TrainResult(self.step, self.total_steps, reason, dict(self.last_eval),
                           cb.last_saved if cb else None)

