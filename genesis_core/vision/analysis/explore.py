"""The explorer's operations on a trained generative family, shared by the Generative families page and headless
use: same-seed samples, the way into a model's latent and back (the Encodes protocol), interpolation, and FD
against the number of sampler steps for a diffusion model."""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from genesis_core.vision.networks.gan import GAN
from genesis_core.vision.networks.diffusion import Diffusion, slerp
from genesis_core.vision.protocols import Encodes


@torch.no_grad()
def family_samples(task: Any, model: nn.Module, n: int, seed: int = 0, label: int | None = None,
                   sampler: str | None = None, steps: int | None = None) -> torch.Tensor:
    """n samples with a fixed seed (the same seed gives every family the same draw of its own noise); a diffusion
    model samples with `sampler` and `steps` where given, else with its config's."""
    labels = None
    if task.conditional:
        labels = torch.full((n,), label, dtype=torch.long) if label is not None else torch.arange(n) % len(
            task.split.classes)
    labels = None if labels is None else labels.to(task.device)
    if isinstance(model, Diffusion) and (sampler or steps):
        return task.sample(model.eval(), n, labels, seed, sampler=sampler, steps=steps).float().cpu()
    return task.sample(model.eval(), n, labels, seed).float().cpu()


@torch.no_grad()
def latent_of(task: Any, model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """A model's latent of these images: DDIM inversion (diffusion), the exact map (flows), the code indices
    (VQ-VAE). GANs, PixelCNNs and EBMs have no encoder."""
    if isinstance(model, Encodes):
        return model.encode(images)
    raise ValueError(f"{type(model).__name__} has no encoder: draw its latent (z sliders) instead")


@torch.no_grad()
def from_latent(task: Any, model: nn.Module, z: torch.Tensor) -> torch.Tensor:
    if isinstance(model, Encodes):
        return model.decode(z)
    if isinstance(model, GAN):
        y = torch.zeros(len(z), dtype=torch.long) if model.num_classes else None
        return model.sample(len(z), y, z=z)
    raise ValueError(f"{type(model).__name__}: no latent to decode")


@torch.no_grad()
def interpolate(task: Any, model: nn.Module, a: torch.Tensor, b: torch.Tensor, frames: int = 8) -> torch.Tensor:
    """Frames from image a to image b through the model's latent: slerp between DDIM-inverted noises
    (diffusion), straight lines between exact latents (flows), a growing share of b's codes (VQ-VAE)."""
    za, zb = latent_of(task, model, torch.stack([a, b])).unbind(0)
    ws = torch.linspace(0, 1, frames)
    if isinstance(model, Diffusion):
        z = torch.stack([slerp(za, zb, float(w)) for w in ws])
    elif za.is_floating_point():
        z = torch.stack([(1 - w) * za + w * zb for w in ws])
    else:  # discrete codes
        order = torch.randperm(za.numel(), generator=torch.Generator().manual_seed(0))
        z = za.repeat(frames, *[1] * za.dim())
        for i, w in enumerate(ws):
            take = order[:int(round(float(w) * za.numel()))]
            z[i].view(-1)[take] = zb.reshape(-1)[take]
    return from_latent(task, model, z).float().cpu()


@torch.no_grad()
def sampler_curve(task: Any, model: Diffusion, samplers: tuple[str, ...] = ("ancestral", "ddim", "ode", "sde"),
                  steps: tuple[int, ...] = (5, 10, 25, 50), n: int | None = None, seed: int = 0) -> list[dict]:
    """FD (domain features) of n samples for each sampler at each number of steps, with its network evaluations
    and seconds; the same noise for every row."""
    from genesis_core.vision.samplers import network_evaluations

    scorer = task.scorer()
    n = min(n or scorer.n, scorer.n)
    labels = task.eval_labels(n)
    rows = []
    for sampler in samplers:
        for k in steps:
            start = time.perf_counter()
            images = torch.cat([task.sample(model.eval(), len(c), None if labels is None else labels[c], seed + i,
                                            sampler=sampler, steps=k)
                                for i, c in enumerate(torch.arange(n).split(250))])
            seconds = time.perf_counter() - start
            fd = scorer.score(images.float().cpu(), None if labels is None else labels.cpu())["fd"]
            rows.append({"sampler": sampler, "steps": k, "network_evaluations": network_evaluations(sampler, k),
                         "fd": fd, "seconds": seconds, "samples": n})
    return rows
