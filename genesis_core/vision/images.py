"""Image helpers: tensors in [0, 1] to PIL grids, PSNR."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def to_pil_grid(rows: list[torch.Tensor], scale: int = 1) -> Image.Image:
    """Each tensor of `rows` is (N, C, H, W) in [0, 1]; they become rows of one image, 1-pixel gaps."""
    n = max(len(r) for r in rows)
    c, h, w = rows[0].shape[1:]
    canvas = np.ones((len(rows) * (h + 1) - 1, n * (w + 1) - 1, c), dtype=np.float32)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            canvas[i * (h + 1):i * (h + 1) + h, j * (w + 1):j * (w + 1) + w] = (
                img.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
            )
    arr = (canvas * 255).round().astype(np.uint8)
    img = Image.fromarray(arr[..., 0] if c == 1 else arr, mode="L" if c == 1 else "RGB")
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    return img


def psnr_from_mse(mse: float, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, peak]."""
    return float(10 * np.log10(peak**2 / max(mse, 1e-12)))


def gaussian_kernel(sigma: torch.Tensor, size: int) -> torch.Tensor:
    """(N, size, size) normalised Gaussian kernels, one per sigma in `sigma` (N,)."""
    r = torch.arange(size, dtype=torch.float32, device=sigma.device) - (size - 1) / 2
    g = torch.exp(-(r[None] ** 2) / (2 * sigma.float().clamp_min(1e-3)[:, None] ** 2))
    g = g / g.sum(1, keepdim=True)
    return g[:, :, None] * g[:, None, :]


def filter2d(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Convolve each image of x (N, C, H, W) with its own kernel (N, k, k), reflect-padded."""
    n, c, h, w = x.shape
    k = kernels.shape[-1]
    pad = k // 2
    mode = "reflect" if min(h, w) > pad else "replicate"
    xp = torch.nn.functional.pad(x.reshape(1, n * c, h, w), (pad, pad, pad, pad), mode=mode)
    weight = kernels.to(x.dtype).repeat_interleave(c, 0)[:, None]
    return torch.nn.functional.conv2d(xp, weight, groups=n * c).view(n, c, h, w)


def ssim(a: torch.Tensor, b: torch.Tensor, peak: float = 1.0) -> torch.Tensor:
    """Structural similarity per image (N,), Gaussian window (sigma 1.5, 11 px, smaller for tiny images)."""
    size = min(11, a.shape[-1] - (1 - a.shape[-1] % 2), a.shape[-2] - (1 - a.shape[-2] % 2))
    kernel = gaussian_kernel(torch.full((len(a),), 1.5, device=a.device), max(3, size))
    mu_a, mu_b = filter2d(a, kernel), filter2d(b, kernel)
    var_a = filter2d(a * a, kernel) - mu_a**2
    var_b = filter2d(b * b, kernel) - mu_b**2
    cov = filter2d(a * b, kernel) - mu_a * mu_b
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1)


def image_metrics(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """Per-pixel MSE, PSNR (dB, of the mean MSE) and mean SSIM of two image batches in [0, 1]."""
    pred, target = pred.float().clamp(0, 1), target.float()
    mse = float(((pred - target) ** 2).mean())
    return {"mse": mse, "psnr_db": psnr_from_mse(mse), "ssim": float(ssim(pred, target).mean())}


def to_png(img: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
