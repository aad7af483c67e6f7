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
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return img


def psnr_from_mse(mse: float, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, peak]."""
    return float(10 * np.log10(peak**2 / max(mse, 1e-12)))
