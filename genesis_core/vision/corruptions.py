"""Corruptions with a continuous level in [0, 1] (0 leaves the image as it is), and the classical filter
that undoes each one, the baseline a learned restorer has to beat.

  noise     additive Gaussian noise, sigma = 0.5 * level
  blur      Gaussian blur, sigma = 0.3 + 2.2 * level pixels (level 0: no blur)
  mask      a share 0.8 * level of the pixels replaced by grey (0.5), positions random
  pixelate  block averages, block side 1 + round(level * (size/4 - 1)) pixels

Every function takes one level per image, so a batch can mix levels, and an optional generator so an
evaluation sees the same corruption every time.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genesis_core.vision.images import filter2d, gaussian_kernel

CORRUPTIONS = ("noise", "blur", "mask", "pixelate")
CLASSICAL_FILTERS = {"noise": "Gaussian smoothing", "blur": "unsharp masking", "mask": "3x3 median filter",
                     "pixelate": "Gaussian smoothing"}


def _levels(level: float | torch.Tensor, n: int, device: torch.device) -> torch.Tensor:
    lv = torch.as_tensor(level, dtype=torch.float32, device=device).flatten()
    lv = lv.expand(n) if lv.numel() == 1 else lv
    if lv.numel() != n:
        raise ValueError(f"got {lv.numel()} levels for {n} images")
    return lv.clamp(0, 1)


def _odd_kernel(sigma_max: float, h: int) -> int:
    k = 2 * int(3 * sigma_max + 0.5) + 1
    return max(3, min(k, h if h % 2 else h - 1))


def blur_sigma(level: torch.Tensor) -> torch.Tensor:
    return 0.3 + 2.2 * level


def pixelate_block(level: torch.Tensor, size: int) -> torch.Tensor:
    return 1 + torch.round(level * max(0, size / 4 - 1)).long()


def corrupt(x: torch.Tensor, kind: str, level: float | torch.Tensor,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """x (N, C, H, W) in [0, 1] -> corrupted copy, clamped to [0, 1]."""
    lv = _levels(level, len(x), x.device)
    view = lv.view(-1, 1, 1, 1)
    if kind == "noise":
        noise = torch.randn(x.shape, generator=generator, device="cpu").to(x.device)
        return (x + 0.5 * view * noise).clamp(0, 1)
    if kind == "blur":
        sigma = blur_sigma(lv)
        blurred = filter2d(x, gaussian_kernel(sigma, _odd_kernel(float(sigma.max()), x.shape[-1])))
        return torch.where(view > 0, blurred, x).clamp(0, 1)
    if kind == "mask":
        u = torch.rand((x.shape[0], 1, *x.shape[2:]), generator=generator, device="cpu").to(x.device)
        return torch.where(u < 0.8 * view, torch.full_like(x, 0.5), x)
    if kind == "pixelate":
        blocks = pixelate_block(lv, x.shape[-1])
        out = x.clone()
        for b in blocks.unique().tolist():
            if b <= 1:
                continue
            idx = (blocks == b).nonzero().flatten()
            small = F.avg_pool2d(x[idx], b, stride=b, ceil_mode=True)
            out[idx] = F.interpolate(small, scale_factor=b, mode="nearest")[..., :x.shape[-2], :x.shape[-1]]
        return out
    raise ValueError(f"unknown corruption {kind!r}; known: {', '.join(CORRUPTIONS)}")


def median3(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    patches = F.unfold(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3)
    return patches.view(n, c, 9, h * w).median(dim=2).values.view(n, c, h, w)


def classical_restore(x: torch.Tensor, kind: str, level: float | torch.Tensor) -> torch.Tensor:
    """The textbook filter for each corruption, with its strength following the known level."""
    lv = _levels(level, len(x), x.device)
    h = x.shape[-1]
    if kind == "noise":
        sigma = 0.2 + 1.2 * lv
        return filter2d(x, gaussian_kernel(sigma, _odd_kernel(float(sigma.max()), h))).clamp(0, 1)
    if kind == "blur":
        sigma = blur_sigma(lv)
        smooth = filter2d(x, gaussian_kernel(sigma, _odd_kernel(float(sigma.max()), h)))
        amount = (1.5 * lv).view(-1, 1, 1, 1)
        return (x + amount * (x - smooth)).clamp(0, 1)
    if kind == "mask":
        return torch.where(lv.view(-1, 1, 1, 1) > 0, median3(x), x)
    if kind == "pixelate":
        sigma = 0.2 + 0.45 * pixelate_block(lv, h).float()
        return filter2d(x, gaussian_kernel(sigma, _odd_kernel(float(sigma.max()), h))).clamp(0, 1)
    raise ValueError(f"unknown corruption {kind!r}; known: {', '.join(CORRUPTIONS)}")
