"""The families that model a density directly, as training tasks beside those of genesis_core.vision.tasks.families
(same Trainer, same scorer, same page):

  image_pixelcnn  a gated PixelCNN: exact log-likelihood of the discrete pixels, in bits per dim
  image_maf       a masked autoregressive flow: exact log-likelihood (dequantised), bits per dim beside the
                  coupling flow's
  image_ebm       an energy-based model trained with short-run Langevin samples from a replay buffer; its
                  instabilities (a runaway energy gap, non-finite energies) are logged as events
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from genesis_core.registry import TASKS
from genesis_core.training.callbacks import Callback
from genesis_core.training.task import TaskConfigBase, TrainerConfig
from genesis_core.vision.tasks.families import ExactLikelihoodTask, GenerativeTask
from genesis_core.vision.networks.losses import WeightedLoss, contrastive_energy
from genesis_core.vision.tasks.autoencoders import ImageDataConfig


def _trainer(**kw) -> TrainerConfig:
    base = {"steps": 2000, "lr": 1e-3, "eval_every": 500, "checkpoint_every": 500, "log_every": 20}
    return field(default_factory=lambda: TrainerConfig(**{**base, **kw}))


# -- PixelCNN --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PixelCNNModelConfig:
    dim: int = 64  # channels of both stacks
    layers: int = 7  # gated layers (the first masks the pixel it predicts)
    kernel: int = 7  # odd
    temperature: float = 1.0  # of the categorical distributions at sampling (1: the model's own)

    def __post_init__(self) -> None:
        if self.kernel < 3 or self.kernel % 2 == 0:
            raise ValueError("kernel must be odd and at least 3")
        if self.layers < 1 or self.dim < 4 or self.temperature <= 0:
            raise ValueError("layers must be at least 1, dim at least 4 and temperature positive")


@dataclass(frozen=True)
class PixelCNNConfig(TaskConfigBase):
    task: str = "image_pixelcnn"
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: PixelCNNModelConfig = field(default_factory=PixelCNNModelConfig)
    eval_samples: int = 500
    trainer: TrainerConfig = _trainer()


@TASKS.register("image_pixelcnn")
class PixelCNNTask(ExactLikelihoodTask):
    config_cls = PixelCNNConfig
    family = "pixelcnn"
    title = "Image PixelCNN (autoregressive, exact likelihood)"
    description = "A gated PixelCNN over 256 pixel levels: exact bits per dim; sampling draws one pixel at a time."

    def build_model(self) -> nn.Module:
        from genesis_core.vision.networks.pixelcnn import ImagePixelCNN

        m = self.config.model
        return ImagePixelCNN(self.split.image_shape, m.dim, m.layers, m.kernel)


# -- MAF -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MAFModelConfig:
    layers: int = 5  # MADEs, the order reversed between them
    hidden: int = 512  # units in each MADE's hidden layer
    temperature: float = 1.0  # of the prior at sampling

    def __post_init__(self) -> None:
        if self.layers < 1 or self.hidden < 2 or self.temperature <= 0:
            raise ValueError("layers must be at least 1, hidden at least 2 and temperature positive")


@dataclass(frozen=True)
class MAFConfig(TaskConfigBase):
    task: str = "image_maf"
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: MAFModelConfig = field(default_factory=MAFModelConfig)
    eval_samples: int = 500
    trainer: TrainerConfig = _trainer(warmup_steps=100)


@TASKS.register("image_maf")
class MAFTask(ExactLikelihoodTask):
    config_cls = MAFConfig
    family = "maf"
    title = "Image MAF (masked autoregressive flow)"
    description = "A masked autoregressive flow over the flattened image: exact bits per dim in one pass."

    def build_model(self) -> nn.Module:
        from genesis_core.vision.networks.maf import MAF

        return MAF(self.split.image_shape, self.config.model.layers, self.config.model.hidden)


# -- EBM -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EBMModelConfig:
    width: int = 32  # channels of the energy network (x2 at the lower resolutions)
    buffer_size: int = 8192  # replay buffer of Langevin samples
    reinit: float = 0.05  # share of each batch's chains restarted from uniform noise
    langevin_steps: int = 60  # per training step
    step_size: float = 10.0  # on the (clamped) energy gradient
    noise: float = 0.005  # standard deviation of the Langevin noise, in [-1, 1] pixels
    grad_clamp: float = 0.03  # per-pixel clamp of the energy gradient in each Langevin step
    reg: float = 0.1  # weight of E(data)^2 + E(samples)^2
    data_noise: float = 0.005  # noise added to the data images (smooths the energy around them)
    sample_steps: int = 256  # Langevin steps from noise for evaluation and previews
    unstable_gap: float = 5.0  # an event when |E(data) - E(samples)| exceeds this (energies of order 1 are healthy)

    def __post_init__(self) -> None:
        if self.langevin_steps < 1 or self.sample_steps < 1 or self.buffer_size < 1:
            raise ValueError("langevin_steps, sample_steps and buffer_size must be at least 1")
        if not 0 <= self.reinit <= 1 or self.step_size <= 0 or self.noise < 0 or self.grad_clamp <= 0:
            raise ValueError("reinit must be in [0, 1], step_size and grad_clamp positive, noise not negative")


@dataclass(frozen=True)
class EBMConfig(TaskConfigBase):
    task: str = "image_ebm"
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: EBMModelConfig = field(default_factory=EBMModelConfig)
    eval_samples: int = 500
    trainer: TrainerConfig = _trainer(lr=1e-4, grad_clip=0.1)


class EnergyWatch(Callback):
    """Events when an EBM's training turns unstable: non-finite energies, or the gap between the energies of data
    and of samples beyond `gap` (the sampler no longer reaches the data's energy, or the energies run away).
    One event when it starts and one when it settles, not one per step."""

    def __init__(self, gap: float):
        self.gap, self.unstable = gap, False

    def on_step_end(self, trainer, logs):
        if not logs or "energy_gap" not in logs:
            return
        value = logs["energy_gap"]
        bad = not math.isfinite(value) or abs(value) > self.gap
        if bad and not self.unstable:
            trainer.log_event("ebm_unstable", f"energy gap E(data) - E(samples) = {value:.3g} at step {trainer.step} "
                                              f"(beyond +-{self.gap:g}): the Langevin samples no longer track the "
                                              "model; lower the learning rate or raise reg")
        elif not bad and self.unstable:
            trainer.log_event("ebm_stable", f"energy gap back to {value:.3g} at step {trainer.step}")
        self.unstable = bad


@TASKS.register("image_ebm")
class EBMTask(GenerativeTask):
    config_cls = EBMConfig
    family = "ebm"
    title = "Image EBM (energy-based, Langevin)"
    description = "A convolutional energy trained against short-run Langevin samples from a replay buffer."

    def build_model(self) -> nn.Module:
        from genesis_core.vision.networks.energy import EBM

        return EBM(self.split.image_shape, self.config.model.width, self.config.model.buffer_size)

    def build_optimizer(self, model):
        return torch.optim.Adam(model.parameters(), lr=self.config.trainer.lr, betas=(0.0, 0.999))

    def training_step(self, model, batch):
        x, _ = batch
        m = self.config.model
        data = (x * 2 - 1 + m.data_noise * torch.randn_like(x)).clamp(-1, 1)
        start, rows = model.replay_batch(len(x), m.reinit)
        negatives = model.langevin(start, m.langevin_steps, m.step_size, m.noise, m.grad_clamp)
        model.buffer[rows] = negatives
        e_data, e_samples = model.energy(data), model.energy(negatives)
        gap, reg = contrastive_energy(e_data, e_samples)
        loss, logs = WeightedLoss(energy_gap=1.0, regulariser=m.reg)(energy_gap=gap, regulariser=reg)
        logs.update(energy_data=e_data.detach().mean(), energy_samples=e_samples.detach().mean())
        return loss, logs

    def sample(self, model, n, labels, seed):
        m = self.config.model
        return model.sample(n, m.sample_steps, m.step_size, m.noise, m.grad_clamp, torch.Generator().manual_seed(seed))

    def callbacks(self) -> list:
        return [EnergyWatch(self.config.model.unstable_gap)]
