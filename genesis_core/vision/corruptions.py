"""Corruptions with a continuous level in [0, 1] (0 leaves the image as it is), and the classical filter
that undoes each one, the baseline a learned restorer has to beat.

  noise     additive Gaussian noise, sigma = 0.5 * level
  blur      Gaussian blur, sigma = 0.3 + 2.2 * level pixels (level 0: no blur)
  mask      a share 0.8 * level of the pixels replaced by grey (0.5), positions random
  pixelate  block averages, block side 1 + round(level * (size/4 - 1)) pixels

Artistic corruptions, deterministic (the same image and level give the same result), which a network can learn
to apply as well as to reverse (`image_restoration`'s `direction`):

  posterise  each channel quantised to round(16 - 14 * level) levels (level 1: 2 levels)
  halftone   ordered dithering against a 4x4 Bayer screen, blended with the image by the level
  kuwahara   the Kuwahara filter (each pixel the mean of the least varied of its four quadrants), radius
             1 + round(2 * level) pixels
  swirl      a swirl about the centre (scikit-image's formula): angle 4 * level * exp(-r / (ln 2 * size / 2))

Every function takes one level per image, so a batch can mix levels, and an optional generator so an
evaluation sees the same corruption every time.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genesis_core.vision.images import filter2d, gaussian_kernel

CORRUPTIONS = ("noise", "blur", "mask", "pixelate")
ARTISTIC = ("posterise", "halftone", "kuwahara", "swirl")
ALL_CORRUPTIONS = CORRUPTIONS + ARTISTIC
CLASSICAL_FILTERS = {"noise": "Gaussian smoothing", "blur": "unsharp masking", "mask": "3x3 median filter",
                     "pixelate": "Gaussian smoothing", "posterise": "Gaussian smoothing",
                     "halftone": "Gaussian smoothing", "kuwahara": "unsharp masking",
                     "swirl": "the exact inverse swirl"}
BAYER4 = torch.tensor([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], dtype=torch.float32)


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
    if kind in ARTISTIC:
        return artistic(x, kind, lv)
    raise ValueError(f"unknown corruption {kind!r}; known: {', '.join(ALL_CORRUPTIONS)}")


def artistic(x: torch.Tensor, kind: str, lv: torch.Tensor) -> torch.Tensor:
    view = lv.view(-1, 1, 1, 1)
    if kind == "posterise":
        n = torch.round(16 - 14 * view)
        return torch.where(view > 0, torch.round(x * (n - 1)) / (n - 1), x)
    if kind == "halftone":
        h, w = x.shape[-2:]
        screen = ((BAYER4 + 0.5) / 16).repeat((h + 3) // 4, (w + 3) // 4)[:h, :w].to(x.device)
        return (1 - view) * x + view * (x > screen).to(x.dtype)
    if kind == "kuwahara":
        out = x.clone()
        radius = 1 + torch.round(2 * lv).long()
        for r in radius.unique().tolist():
            idx = ((radius == r) & (lv > 0)).nonzero().flatten()
            if len(idx):
                out[idx] = kuwahara(x[idx], r)
        return out
    if kind == "swirl":
        return swirl(x, 4.0 * lv)
    raise ValueError(f"unknown artistic corruption {kind!r}")


def kuwahara(x: torch.Tensor, r: int) -> torch.Tensor:
    """Each pixel: the mean of whichever of its four (r+1)x(r+1) quadrants varies least (in luminance)."""
    n, c, h, w = x.shape
    xp = F.pad(x, (r, r, r, r), mode="replicate")
    mean = F.avg_pool2d(xp, r + 1, stride=1)  # mean[a, b]: rows a-r..a, columns b-r..b of x
    lum = xp.mean(1, keepdim=True)
    var = F.avg_pool2d(lum ** 2, r + 1, stride=1) - F.avg_pool2d(lum, r + 1, stride=1) ** 2
    corners = [(0, 0), (0, r), (r, 0), (r, r)]
    means = torch.stack([mean[..., a:a + h, b:b + w] for a, b in corners])  # (4, N, C, H, W)
    varis = torch.stack([var[..., a:a + h, b:b + w] for a, b in corners])  # (4, N, 1, H, W)
    pick = varis.argmin(0, keepdim=True).expand(1, n, c, h, w)
    return means.gather(0, pick)[0]


def swirl(x: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
    """scikit-image's swirl about the centre, one strength per image (radians at the centre); a negative
    strength undoes a positive one exactly (the radius is kept, only the angle turns)."""
    n, _, h, w = x.shape
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, device=x.device), torch.linspace(-1, 1, w, device=x.device),
                            indexing="ij")
    rho = torch.sqrt(xs ** 2 + ys ** 2)
    radius = torch.log(torch.tensor(2.0)) * 1.0  # half the image, in the grid's units
    theta = torch.atan2(ys, xs)[None] + strength.view(-1, 1, 1) * torch.exp(-rho / radius)[None]
    grid = torch.stack([rho * torch.cos(theta), rho * torch.sin(theta)], -1)
    out = F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="border", align_corners=True)
    return torch.where(strength.view(-1, 1, 1, 1) == 0, x, out)  # no swirl: the image itself, bit for bit


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
    if kind in ("posterise", "halftone"):
        sigma = 0.3 + (0.5 if kind == "posterise" else 0.9) * lv
        return torch.where(lv.view(-1, 1, 1, 1) > 0, filter2d(x, gaussian_kernel(
            sigma, _odd_kernel(float(sigma.max()), h))), x).clamp(0, 1)
    if kind == "kuwahara":
        sigma = 0.5 + 0.5 * lv
        smooth = filter2d(x, gaussian_kernel(sigma, _odd_kernel(float(sigma.max()), h)))
        return (x + lv.view(-1, 1, 1, 1) * (x - smooth)).clamp(0, 1)
    if kind == "swirl":
        return swirl(x, -4.0 * lv).clamp(0, 1)
    raise ValueError(f"unknown corruption {kind!r}; known: {', '.join(ALL_CORRUPTIONS)}")
