"""An inverse autoregressive flow (IAF, Kingma et al. 2016) as a VAE's posterior, beside the diagonal Gaussian.

The encoder gives a Gaussian's mean and log-variance and a context vector h; a draw z0 = mu + sigma * eps is pushed
through `steps` autoregressive affine maps z_t = z_{t-1} * exp(alpha_t) + m_t, where (m_t, alpha_t) come from a MADE
(genesis_core.vision.networks.maf) over z_{t-1} and h, the order reversed between steps. Each map's Jacobian is
triangular, so log q(z_T | x) = log N(eps) - sum(log sigma) - sum_t sum(alpha_t) is exact and cheap, and the KL term of
the ELBO becomes the one-sample estimate log q(z_T | x) - log p(z_T) (no closed form any more).
Choices made here: the affine form with log-scales soft-bounded by 4 tanh(a / 4) (MAF's), not the paper's sigmoid
gate; every step starts as the identity (its MADE's last layer is zero), so an untrained IAF posterior is the
Gaussian one; the context has the latent's size.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from genesis_core.vision.networks.maf import MADE


class IAFPosterior(nn.Module):
    def __init__(self, latent_dim: int, steps: int = 2, hidden: int = 64):
        super().__init__()
        self.latent_dim = latent_dim
        self.mades = nn.ModuleList(MADE(latent_dim, hidden, reverse=i % 2 == 1, context=latent_dim)
                                   for i in range(steps))

    def flow(self, z: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_T, sum of the maps' log-determinants per row)."""
        logdet = torch.zeros(len(z), device=z.device, dtype=z.dtype)
        for made in self.mades:
            m, alpha = made(z, context)
            z = z * alpha.exp() + m
            logdet = logdet + alpha.sum(1)
        return z, logdet

    def sample(self, mu: torch.Tensor, logvar: torch.Tensor, context: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(a draw z_T of q(z | x), the one-sample KL estimate log q(z_T | x) - log p(z_T) per row, in nats)."""
        eps = torch.randn_like(mu)
        z, logdet = self.flow(mu + eps * (0.5 * logvar).exp(), context)
        log_q = -0.5 * (eps ** 2 + logvar + math.log(2 * math.pi)).sum(1) - logdet
        log_p = -0.5 * (z ** 2 + math.log(2 * math.pi)).sum(1)
        return z, log_q - log_p

    def mean_path(self, mu: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The latent of eps = 0 (the Gaussian's mean through the flow): what `encode` gives."""
        return self.flow(mu, context)[0]
