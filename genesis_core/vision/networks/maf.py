"""A masked autoregressive flow (MAF, Papamakarios et al. 2017) over flattened images, beside the coupling flow.

Pixels -> dequantised -> logit (the coupling flow's pre-processing, so bits per dim compare) -> `layers` MADEs
(Germain et al. 2015), each an affine autoregressive map u_d = (y_d - mu_d(y_<d)) * exp(-alpha_d(y_<d)) with the
order reversed between layers -> standard normal. The density is one pass (exact); sampling inverts one dimension
at a time (D passes per layer), the price MAF pays for a fast density.
Choices made here: one hidden layer per MADE (as the paper's MNIST models), hidden units given degrees cyclically
(deterministic: the masks are rebuilt from the shapes, not stored), log-scales soft-bounded by 4 tanh(a / 4) for
stability, no batch normalisation between MADEs.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.vision.networks.flow import PixelFlow, logit_inverse, logit_transform


class MADE(nn.Module):
    """(mu, alpha) for each of D inputs, each depending only on the inputs before it in `order` (and on a context
    vector, when `context` > 0: the IAF posterior's encoder features)."""

    order: torch.Tensor  # a buffer
    mask_in: torch.Tensor  # a buffer
    mask_out: torch.Tensor  # a buffer

    def __init__(self, dim: int, hidden: int, reverse: bool, context: int = 0):
        super().__init__()
        self.dim = dim
        order = torch.arange(dim).flip(0) if reverse else torch.arange(dim)
        degree_in = torch.empty(dim, dtype=torch.long)
        degree_in[order] = torch.arange(1, dim + 1)  # the d-th variable in the order has degree d
        degree_hidden = torch.arange(hidden) % max(1, dim - 1) + 1
        self.register_buffer("order", order, persistent=False)
        self.register_buffer("mask_in", (degree_hidden[:, None] >= degree_in[None]).float(), persistent=False)
        self.register_buffer("mask_out", (degree_in[:, None] > degree_hidden[None]).float().repeat(2, 1),
                             persistent=False)
        self.inp, self.out = nn.Linear(dim, hidden), nn.Linear(hidden, 2 * dim)
        if context:
            self.context = nn.Linear(context, hidden, bias=False)
        nn.init.zeros_(self.out.weight)  # every layer starts as the identity
        nn.init.zeros_(self.out.bias)

    def forward(self, y: torch.Tensor, context: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        pre = F.linear(y, self.inp.weight * self.mask_in, self.inp.bias)
        h = F.relu(pre if context is None else pre + self.context(context))
        mu, alpha = F.linear(h, self.out.weight * self.mask_out, self.out.bias).chunk(2, 1)
        return mu, 4 * torch.tanh(alpha / 4)


class MAF(PixelFlow):
    def __init__(self, image_shape: tuple[int, int, int], layers: int = 5, hidden: int = 512):
        super().__init__()
        self.image_shape, self.dim = tuple(image_shape), int(torch.tensor(image_shape).prod())
        self.mades = nn.ModuleList(MADE(self.dim, hidden, reverse=i % 2 == 1) for i in range(layers))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(u, log-determinant of the whole map from [0, 1] pixels to u)."""
        y, logdet = logit_transform(x)
        u = y.flatten(1)
        for made in self.mades:
            mu, alpha = made(u)
            u = (u - mu) * torch.exp(-alpha)
            logdet = logdet - alpha.sum(1)
        return u, logdet

    def inverse(self, u: torch.Tensor) -> torch.Tensor:
        y = u
        for made in cast("list[MADE]", list(self.mades))[::-1]:
            x = torch.zeros_like(y)
            for d in made.order.tolist():  # one dimension at a time, in the MADE's order
                mu, alpha = made(x)
                x[:, d] = y[:, d] * torch.exp(alpha[:, d]) + mu[:, d]
            y = x
        return logit_inverse(y.view(len(y), *self.image_shape))

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        u = torch.randn(n, self.dim, generator=generator).to(next(self.parameters()).device)
        return self.inverse(u * temperature)
