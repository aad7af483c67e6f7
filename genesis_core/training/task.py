"""The contract between the shared Trainer and a lab: a TrainingTask.

The Trainer owns the loop (steps, precision, clipping, checkpoints, resume, DDP, callbacks); the task
owns the model, its data and what a loss is. Neither reaches into the other: the Trainer never looks
inside the model, and the model never sees a loader.

A lab subclasses TrainingTask, declares its frozen config class (which has a `trainer` field of type
TrainerConfig) and registers the task by name:

    @TASKS.register("image_autoencoder")
    class ImageAutoencoderTask(TrainingTask):
        config_cls = ImageAutoencoderConfig
        ...
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from genesis_core.training.resumable import ResumableLoader


@dataclass(frozen=True)
class TrainerConfig:
    """Settings of the shared training loop, the same for every lab."""

    steps: int = 200  # optimizer steps in total
    lr: float = 1e-3  # peak learning rate (AdamW)
    weight_decay: float = 0.0  # decoupled weight decay (AdamW)
    warmup_steps: int = 0  # linear warmup, then constant (labs may schedule differently)
    grad_clip: float = 1.0  # max global gradient norm; 0 disables clipping
    seed: int = 0  # seeds weights, data order and sampling: the same seed gives the same run
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 autocast on CUDA, fp32 elsewhere
    log_every: int = 10  # steps between scalar logs
    eval_every: int = 100  # steps between evaluations (0: only at the end)
    checkpoint_every: int = 100  # steps between checkpoints (0: only at the end and on cancel)
    keep_checkpoints: int = 2  # newest checkpoints kept on disk
    preview_every: int = 0  # steps between sample previews (0: only at the end)
    early_stop_metric: str = ""  # an eval metric to watch, e.g. "eval/mse"; empty disables
    early_stop_mode: Literal["min", "max"] = "min"  # min: lower is better (a loss); max: higher (PSNR)
    early_stop_patience: int = 5  # evaluations without improvement before stopping
    best_metric: str = ""  # an eval metric that picks the best weights, e.g. "eval/val_mse": they are kept in
    # checkpoints/best and are the final model when training ends (empty: the last weights are final)
    best_mode: Literal["min", "max"] = "min"  # min: lower is better; max: higher is better
    tracker: Literal["tensorboard", "mlflow", "wandb", "none"] = "tensorboard"  # where scalars go besides the run's
    # own store: TensorBoard event files, a local MLflow store (WORKSPACE/mlflow.db), W&B offline (RUN/wandb)
    tensorboard: bool = True  # false turns the tensorboard tracker off (older configs); other trackers ignore it
    auto_resume: int = 0  # times a job whose worker crashed (killed, out of memory) resumes by itself
    compile: bool = False  # torch.compile the model for training (CPU and CUDA); when it cannot, it says why once
    # and trains eager

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError("steps must be at least 1")
        if self.lr <= 0:
            raise ValueError("lr must be positive")
        for name in ("log_every", "eval_every", "checkpoint_every", "preview_every", "warmup_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.log_every == 0:
            raise ValueError("log_every must be at least 1")


@dataclass(frozen=True)
class TaskConfigBase:
    """Fields every task config has; a lab's config subclasses this and adds `model`, `data`, ..."""

    task: str = ""  # the task this config is for (genesis config lists them)
    name: str = ""  # a human name for the run
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


class TrainingTask(abc.ABC):
    """Builds what a run trains and defines one step of it. Subclasses override the hooks below."""

    config_cls: ClassVar[type] = TaskConfigBase
    title: ClassVar[str] = ""  # shown in the UI
    description: ClassVar[str] = ""
    lane: ClassVar[str] = "train"  # the queue lane: long training runs share a device's training slots

    def __init__(self, config: Any, device: torch.device):
        self.config = config
        self.device = device

    @classmethod
    def saved_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """A checkpoint's config as an earlier version wrote it -> as this one reads it (a key added since then
        with a default that would change the model's shape gets the value those weights were trained with)."""
        return config

    # -- required -------------------------------------------------------------------------------
    @abc.abstractmethod
    def build_model(self) -> nn.Module:
        """The model to train (a plain nn.Module; it never sees a loader)."""

    @abc.abstractmethod
    def build_loader(self, rank: int = 0, world_size: int = 1) -> ResumableLoader:
        """This rank's share of the training data, as a resumable loader."""

    @abc.abstractmethod
    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Return the loss to minimise and extra values to log (tensors; read only at log steps)."""

    # -- optional -------------------------------------------------------------------------------
    def build_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        t = self.config.trainer
        return torch.optim.AdamW(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)

    def build_scheduler(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
        warmup = self.config.trainer.warmup_steps
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min(1.0, (step + 1) / warmup) if warmup else 1.0
        )

    @torch.no_grad()
    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """Held-out metrics, logged under eval/."""
        return {}

    @torch.no_grad()
    def preview(self, model: nn.Module) -> dict[str, Any]:
        """Name -> PIL image (or bytes with a file suffix in the name), saved as run artifacts."""
        return {}

    def callbacks(self) -> list:
        """Callbacks the task needs on every rank (e.g. loss analytics that steer the LR); they run before
        the Trainer's own, so what they add to a step's logs is written with it."""
        return []

    def checkpoint_meta(self) -> dict[str, Any]:
        """Extra JSON metadata stored with each checkpoint (component names, shapes, ...)."""
        return {}


@dataclass
class JobResult:
    """What a JobTask hands back to the worker, shaped like the Trainer's result."""

    step: int
    total_steps: int
    reason: str  # finished | cancelled
    eval_metrics: dict[str, float] = field(default_factory=dict)
    checkpoint: Any = None


class JobTask(abc.ABC):
    """A background job that owns its whole loop instead of handing a model to the Trainer (e.g. fitting a
    tabular generator). The worker calls `fit_job`; the result has the Trainer result's fields (step,
    total_steps, reason, eval_metrics, checkpoint)."""

    config_cls: ClassVar[type] = TaskConfigBase
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    lane: ClassVar[str] = "short"  # runs beside long training (its own slot per device), not behind it

    def __init__(self, config: Any, device: torch.device):
        self.config = config
        self.device = device

    @abc.abstractmethod
    def fit_job(self, run: Any, stop_event: Any, reporter: Any) -> Any:
        """Do the work, report progress through `reporter`, write results into `run`."""
