"""Encoder/decoder swapping: encoder A meets decoder B through a translator T fitted on anchor images.

Translators (z_A -> z_B), fitted on anchors encoded by both models:
  none          identity; only when both latents have the same size
  lstsq         linear least squares, z_B ~ z_A W (no bias)
  procrustes    orthogonal Procrustes after standard scaling, the smaller latent zero-padded; a rotation
                between the two standardised spaces, then B's scale and mean put back
  affine        least squares with a bias, z_B ~ z_A W + b

The score of a pair is the MSE / PSNR of D_B(T(E_A(x))) against D_B(E_B(x)) on held-out images: how
close the swap gets to B's own reconstruction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genesis_core.vision.images import psnr_from_mse
from genesis_core.vision.analysis.latent import decode_latents, encode_images

TRANSLATORS = ("none", "lstsq", "procrustes", "affine")


@dataclass
class Translator:
    kind: str
    weight: torch.Tensor | None = None  # (D_A, D_B)
    bias: torch.Tensor | None = None  # (D_B,)
    in_mean: torch.Tensor | None = None
    in_std: torch.Tensor | None = None
    out_mean: torch.Tensor | None = None
    out_std: torch.Tensor | None = None

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        z = z.float()
        if self.kind == "none":
            return z
        if self.weight is None:
            raise ValueError(f"this {self.kind} translator has not been fitted")
        if self.kind == "procrustes":
            if self.in_mean is None or self.in_std is None or self.out_mean is None or self.out_std is None:
                raise ValueError("this procrustes translator has not been fitted")
            d_in, d = z.shape[1], self.weight.shape[0]
            zs = (z - self.in_mean) / self.in_std
            zs = torch.nn.functional.pad(zs, (0, d - d_in))
            out = zs @ self.weight
            return out[:, : self.out_mean.shape[0]] * self.out_std + self.out_mean
        out = z @ self.weight
        return out + self.bias if self.bias is not None else out


def fit_translator(za: torch.Tensor, zb: torch.Tensor, kind: str = "affine") -> Translator:
    """Fit T with T(za) ~ zb on paired anchor latents (N, D_A) and (N, D_B)."""
    za, zb = za.double(), zb.double()
    if kind == "none":
        if za.shape[1] != zb.shape[1]:
            raise ValueError(f"translator 'none' needs equal latent sizes (got {za.shape[1]} and {zb.shape[1]})")
        return Translator("none")
    if kind == "lstsq":
        return Translator("lstsq", torch.linalg.lstsq(za, zb).solution.float())
    if kind == "affine":
        ones = torch.ones(len(za), 1, dtype=za.dtype)
        sol = torch.linalg.lstsq(torch.cat([za, ones], 1), zb).solution
        return Translator("affine", sol[:-1].float(), sol[-1].float())
    if kind == "procrustes":
        ma, sa = za.mean(0), za.std(0).clamp_min(1e-8)
        mb, sb = zb.mean(0), zb.std(0).clamp_min(1e-8)
        d = max(za.shape[1], zb.shape[1])
        a = torch.nn.functional.pad((za - ma) / sa, (0, d - za.shape[1]))
        b = torch.nn.functional.pad((zb - mb) / sb, (0, d - zb.shape[1]))
        u, _, vt = torch.linalg.svd(a.T @ b)
        return Translator("procrustes", (u @ vt).float(), None, ma.float(), sa.float(), mb.float(), sb.float())
    raise ValueError(f"unknown translator {kind!r}; use one of {', '.join(TRANSLATORS)}")


def available_translators(dim_a: int, dim_b: int) -> list[str]:
    return [t for t in TRANSLATORS if t != "none" or dim_a == dim_b]


def _decode_b(model_b, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return decode_latents(model_b, z, labels if getattr(model_b, "conditional", False) else None)


@torch.no_grad()
def stitch(model_a, model_b, anchors: torch.Tensor, images: torch.Tensor, labels: torch.Tensor,
           translator: str = "affine") -> dict:
    """Fit T on `anchors`, then swap on `images` (held out from the anchors). Returns the swapped and
    B's own reconstructions and the MSE / PSNR between them (and against the originals)."""
    t = fit_translator(encode_images(model_a, anchors), encode_images(model_b, anchors), translator)
    swapped = _decode_b(model_b, t(encode_images(model_a, images)), labels).clamp(0, 1)
    own = _decode_b(model_b, encode_images(model_b, images), labels).clamp(0, 1)
    mse = float(((swapped - own) ** 2).mean())
    mse_x = float(((swapped - images) ** 2).mean())
    return {"swapped": swapped, "own": own, "mse": mse, "psnr_db": psnr_from_mse(mse),
            "mse_vs_original": mse_x, "psnr_vs_original_db": psnr_from_mse(mse_x),
            "own_psnr_vs_original_db": psnr_from_mse(float(((own - images) ** 2).mean()))}


def stitching_matrix(models: dict[str, object], anchors: torch.Tensor, images: torch.Tensor, labels: torch.Tensor,
                     translator: str = "affine", progress=lambda fraction, message: None) -> "np.ndarray":
    """PSNR (dB) of every encoder (rows) -> decoder (columns) pair; NaN where the translator does not
    apply (none with different sizes)."""
    names = list(models)
    out = np.full((len(names), len(names)), np.nan)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            try:
                out[i, j] = stitch(models[a], models[b], anchors, images, labels, translator)["psnr_db"]
            except ValueError:
                pass
            progress((i * len(names) + j + 1) / len(names) ** 2, f"{a} → {b}")
    return out


def anchor_curve(model_a, model_b, pool: torch.Tensor, images: torch.Tensor, labels: torch.Tensor,
                 counts=(8, 16, 32, 64, 128, 256, 512), translators=("lstsq", "procrustes", "affine"),
                 seed: int = 0, progress=lambda fraction, message: None) -> list[dict]:
    """How the swap error falls with the number of anchors (drawn at random from `pool`)."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(pool), generator=g)
    counts = [n for n in counts if n <= len(pool)]
    rows = []
    for i, n in enumerate(counts):
        for j, kind in enumerate(translators):
            try:
                r = stitch(model_a, model_b, pool[order[:n]], images, labels, kind)
            except ValueError:
                continue
            finally:
                progress((i * len(translators) + j + 1) / (len(counts) * len(translators)), f"{kind}, {n} anchors")
            rows.append({"anchors": n, "translator": kind, "mse": r["mse"], "psnr_db": r["psnr_db"]})
    return rows
