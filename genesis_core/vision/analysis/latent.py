"""Latent-space operations on a trained autoencoder: encoding a split, slider axes, interpolation paths
with a smoothness figure, exports (PNG strip, GIF, MP4), and 2-D projections with trustworthiness."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from genesis_core.vision.images import to_pil_grid

Method = Literal["lerp", "slerp", "direction_slerp"]
METHODS: tuple[str, ...] = ("lerp", "slerp", "direction_slerp")
PROJECTIONS: tuple[str, ...] = ("pca", "umap", "tsne")


@torch.no_grad()
def encode_images(model, x: torch.Tensor, batch: int = 512) -> torch.Tensor:
    device = next(model.parameters()).device
    return torch.cat([model.encode(b.to(device)).float().cpu() for b in x.split(batch)])


@torch.no_grad()
def decode_latents(model, z: torch.Tensor, y: torch.Tensor | int | None = None, batch: int = 512) -> torch.Tensor:
    """Decode z (N, D); for a class-conditional model `y` is the labels (or one label for all)."""
    device = next(model.parameters()).device
    if isinstance(y, int):
        y = torch.full((len(z),), y, dtype=torch.long)
    if y is None and getattr(model, "conditional", False):
        raise ValueError("this model is class-conditional: choose a class to decode with")
    ys = y.split(batch) if y is not None else [None] * len(z.split(batch))
    return torch.cat([model.decode(zb.to(device), None if yb is None else yb.to(device)).float().cpu()
                      for zb, yb in zip(z.split(batch), ys)])


def class_means(z: torch.Tensor, labels: torch.Tensor) -> dict[int, torch.Tensor]:
    return {int(c): z[labels == c].mean(0) for c in labels.unique()}


# -- sliders -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LatentAxes:
    """Directions the page puts sliders on: the latent's own dimensions when there are few, otherwise
    the principal axes of the encoded test set. A slider value is in standard deviations."""

    origin: torch.Tensor  # (D,)
    directions: torch.Tensor  # (K, D), unit rows
    scales: torch.Tensor  # (K,) standard deviation along each direction
    names: tuple[str, ...]
    explained: tuple[float, ...] = ()  # share of variance per principal axis (empty for raw dimensions)

    def point(self, coefficients) -> torch.Tensor:
        c = torch.as_tensor(np.asarray(coefficients, dtype=np.float32))
        return self.origin + (c * self.scales) @ self.directions

    def coefficients(self, z: torch.Tensor) -> torch.Tensor:
        return ((z - self.origin) @ self.directions.T) / self.scales


def latent_axes(z: torch.Tensor, max_sliders: int = 16) -> LatentAxes:
    d = z.shape[1]
    origin = z.mean(0)
    if d <= max_sliders:
        return LatentAxes(origin, torch.eye(d), z.std(0).clamp_min(1e-6), tuple(f"z[{i}]" for i in range(d)))
    centred = z - origin
    _, s, vt = torch.linalg.svd(centred, full_matrices=False)
    k = min(max_sliders, vt.shape[0])
    var = s**2 / max(1, len(z) - 1)
    return LatentAxes(origin, vt[:k], var[:k].sqrt().clamp_min(1e-6), tuple(f"PC{i + 1}" for i in range(k)),
                      tuple((var[:k] / var.sum()).tolist()))


# -- interpolation -------------------------------------------------------------------------------
def _slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    an, bn = a / a.norm().clamp_min(1e-8), b / b.norm().clamp_min(1e-8)
    omega = torch.arccos((an * bn).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    if omega.abs() < 1e-4:
        return (1 - t)[:, None] * a + t[:, None] * b
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so)[:, None] * a + (torch.sin(t * omega) / so)[:, None] * b


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int = 9, method: Method = "lerp") -> torch.Tensor:
    """Latent path (steps, D) from z0 to z1, endpoints included.

    lerp: straight line. slerp: great-circle arc of the two vectors as they are. direction_slerp: the
    directions follow the great circle of the unit sphere and the norm moves linearly from |z0| to |z1|
    (keeps points at a typical radius, where a Gaussian prior puts its mass)."""
    if steps < 2:
        raise ValueError("an interpolation needs at least 2 steps")
    t = torch.linspace(0, 1, steps)
    z0, z1 = z0.float(), z1.float()
    if method == "lerp":
        return (1 - t)[:, None] * z0 + t[:, None] * z1
    if method == "slerp":
        return _slerp(z0, z1, t)
    if method == "direction_slerp":
        norms = (1 - t) * z0.norm() + t * z1.norm()
        return _slerp(z0 / z0.norm().clamp_min(1e-8), z1 / z1.norm().clamp_min(1e-8), t) * norms[:, None]
    raise ValueError(f"unknown interpolation {method!r}; use one of {', '.join(METHODS)}")


def class_path(start_class: int, end_class: int, steps: int) -> torch.Tensor:
    """The class each frame of an interpolation is decoded with by a class-conditional model: the start's
    class for the first steps // 2 frames, the end's for the rest (the middle frame of an odd path takes the
    end's class). The page and the CLI both call this, so they decode the same frames."""
    return torch.tensor([start_class if i < steps // 2 else end_class for i in range(steps)])


def path_smoothness(frames: torch.Tensor) -> dict[str, float]:
    """Pixel change between consecutive frames: mean and max of the per-step mean absolute difference,
    and their ratio (1.0 = the path moves evenly; large = it jumps somewhere)."""
    steps = (frames[1:] - frames[:-1]).abs().flatten(1).mean(1)
    mean, mx = float(steps.mean()), float(steps.max())
    return {"mean_step": mean, "max_step": mx, "max_over_mean": mx / mean if mean > 0 else 1.0}


# -- exports -------------------------------------------------------------------------------------
def _uint8_frames(frames: torch.Tensor, min_side: int = 128) -> np.ndarray:
    """(T, C, H, W) in [0, 1] -> (T, H', W', 3) uint8, upscaled (nearest) to at least min_side, even sides."""
    scale = max(1, -(-min_side // frames.shape[-1]))
    f = frames.clamp(0, 1)
    if f.shape[1] == 1:
        f = f.repeat(1, 3, 1, 1)
    f = torch.nn.functional.interpolate(f, scale_factor=scale, mode="nearest")
    h, w = f.shape[-2] // 2 * 2, f.shape[-1] // 2 * 2
    return (f[..., :h, :w] * 255).round().byte().permute(0, 2, 3, 1).numpy()


def strip_png(frames: torch.Tensor, scale: int = 3) -> bytes:
    from genesis_core.vision.images import to_png

    return to_png(to_pil_grid([frames], scale=scale))


def animation_gif(frames: torch.Tensor, fps: int = 12, bounce: bool = True) -> bytes:
    from PIL import Image

    arr = _uint8_frames(frames)
    seq = list(arr) + (list(arr[-2:0:-1]) if bounce else [])
    images = [Image.fromarray(a) for a in seq]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return buf.getvalue()


def animation_mp4(frames: torch.Tensor, fps: int = 12, bounce: bool = True) -> bytes:
    """H.264 mp4 (yuv420p, plays in browsers) through torchcodec's VideoEncoder."""
    from torchcodec.encoders import VideoEncoder

    arr = _uint8_frames(frames)
    if bounce:
        arr = np.concatenate([arr, arr[-2:0:-1]])
    video = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).contiguous()
    data = VideoEncoder(video, frame_rate=fps).to_tensor("mp4", codec="libx264", pixel_format="yuv420p")
    return data.numpy().tobytes()


# -- projections ---------------------------------------------------------------------------------
@dataclass
class Projection:
    method: str
    coords: np.ndarray  # (N, 2)
    trustworthiness: float  # in [0, 1]; 1 = the 2-D neighbourhoods are neighbourhoods in z
    can_place_new_points: bool
    _fitted: Any = None

    def transform(self, z: np.ndarray) -> np.ndarray:
        if not self.can_place_new_points:
            raise ValueError(f"{self.method} cannot place new points; it only embeds the points it was fitted on")
        return self._fitted.transform(np.asarray(z, dtype=np.float32))


def project(z: torch.Tensor | np.ndarray, method: str = "pca", seed: int = 0, n_neighbors: int = 10) -> Projection:
    """2-D projection of latents with the trustworthiness of the map (sklearn, k = n_neighbors)."""
    from sklearn.manifold import trustworthiness

    x = np.asarray(z, dtype=np.float32)
    if x.shape[1] < 2:
        x = np.concatenate([x, np.zeros_like(x)], 1)
    if method == "pca":
        from sklearn.decomposition import PCA

        fitted = PCA(n_components=2, random_state=seed).fit(x)
        coords, can_place = fitted.transform(x), True
    elif method == "umap":
        import umap

        fitted = umap.UMAP(n_components=2, n_neighbors=15, random_state=seed, n_jobs=1).fit(x)
        coords, can_place = fitted.embedding_, True
    elif method == "tsne":
        from sklearn.manifold import TSNE

        fitted = None
        coords = TSNE(n_components=2, random_state=seed, init="pca",
                      perplexity=min(30.0, max(2.0, (len(x) - 1) / 3))).fit_transform(x)
        can_place = False
    else:
        raise ValueError(f"unknown projection {method!r}; use one of {', '.join(PROJECTIONS)}")
    k = min(n_neighbors, max(1, len(x) // 2 - 1))
    trust = float(trustworthiness(x, coords, n_neighbors=k))
    return Projection(method, np.asarray(coords, dtype=np.float32), trust, can_place, fitted)
