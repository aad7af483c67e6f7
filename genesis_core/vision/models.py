"""Autoencoders whose encoder and decoder are separate components (checkpoint prefixes
"encoder." and "decoder."), so any encoder can later meet any decoder."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from genesis_core.registry import MODELS


@dataclass(frozen=True)
class AutoencoderConfig:
    kind: str = "mlp_autoencoder"  # a registered model name
    latent_dim: int = 8  # size of z
    hidden: int = 256  # width of the hidden layers

    def __post_init__(self) -> None:
        if self.latent_dim < 1:
            raise ValueError("latent_dim must be at least 1")
        if self.hidden < 1:
            raise ValueError("hidden must be at least 1")


@MODELS.register("mlp_autoencoder")
class MLPAutoencoder(nn.Module):
    """Image -> z -> image with two-layer MLPs; the decoder ends in a sigmoid (pixels in [0, 1])."""

    def __init__(self, config: AutoencoderConfig, image_shape: tuple[int, int, int]):
        super().__init__()
        self.image_shape = tuple(image_shape)
        n = math.prod(image_shape)
        h = config.hidden
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(n, h), nn.GELU(), nn.Linear(h, h), nn.GELU(),
                                     nn.Linear(h, config.latent_dim))
        self.decoder = nn.Sequential(nn.Linear(config.latent_dim, h), nn.GELU(), nn.Linear(h, h), nn.GELU(),
                                     nn.Linear(h, n), nn.Sigmoid(), nn.Unflatten(1, self.image_shape))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
