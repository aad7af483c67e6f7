"""Small pieces the image networks share."""

from __future__ import annotations

import torch
from torch import nn


def zero_init(layer: nn.Module) -> nn.Module:
    """Zero a layer's weight and bias, so the branch it ends (a residual, a coupling's output, a block's modulation)
    starts as the identity or as nothing; returns the layer."""
    for name in ("weight", "bias"):
        p = getattr(layer, name, None)
        if isinstance(p, torch.Tensor):
            nn.init.zeros_(p)
    return layer
