"""The contracts the generative families share, as typing.Protocols the scorer, the explorer and the page check
for (runtime-checkable: a model has the methods or it does not; no base class to inherit).

  FamilyTask       a training task of a family: one training step, n samples for a seed
  ExactLikelihood  a model whose log-likelihood is exact (flows, MAF, PixelCNN): bits per dim of test images
  Encodes          a model with a way into its latent and back (flow: exact; diffusion: DDIM inversion;
                   VQ-VAE: code indices; autoencoders)
  Samples          a model that draws images itself (every family but the conditional ones, which need labels)
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn


@runtime_checkable
class FamilyTask(Protocol):
    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(the loss to minimise, named values to log)."""

    def sample(self, model: nn.Module, n: int, labels: torch.Tensor | None, seed: int) -> torch.Tensor:
        """n images in [0, 1], (n, C, H, W), with these labels (conditional models) and this seed."""

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """The family's figures on held-out images (FD against its floor, and its own)."""


@runtime_checkable
class ExactLikelihood(Protocol):
    def bits_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        """-log2 p(x) / D for each image of x ([0, 1] pixels on 256 levels): exact, or an exact bound where
        continuous densities meet discrete pixels through uniform dequantisation."""


@runtime_checkable
class Encodes(Protocol):
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] -> the model's latent."""

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """The model's latent -> images in [0, 1]."""


@runtime_checkable
class Samples(Protocol):
    def sample(self, n: int, *args: Any, **kwargs: Any) -> torch.Tensor:
        """n images in [0, 1]."""


@torch.no_grad()
def held_out_bits_per_dim(model: ExactLikelihood, images: torch.Tensor, batch: int = 250, seed: int = 0) -> float:
    """Mean bits per dim over these images (dequantisation noise fixed by the seed: the same at every call)."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return float(torch.cat([model.bits_per_dim(b) for b in images.split(batch)]).mean())
    finally:
        torch.random.set_rng_state(state)
