"""The generative families' losses in one place, and the composite that weighs them.

  WeightedLoss          named terms times their weights, summed; every term logged unweighted beside the total
  logistic_gan          the non-saturating logistic GAN loss (Goodfellow et al. 2014), discriminator and generator
  wasserstein_gan       WGAN critic and generator losses (Arjovsky et al. 2017)
  gradient_penalty      WGAN-GP's (|grad D(x_hat)| - 1)^2 on random interpolates (Gulrajani et al. 2017)
  vector_quantization   VQ-VAE's codebook and commitment terms (van den Oord et al. 2017)
  contrastive_energy    an EBM's E(data) - E(samples) with the squared-energy regulariser (Du & Mordatch 2019)
Each function returns plain tensors; a task's training step names them and a WeightedLoss adds them up.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


class WeightedLoss:
    """total = sum(weight[name] * term[name]). Every term must have a weight (a typo fails loudly); a term of
    weight 0 is logged but costs no gradient."""

    def __init__(self, **weights: float):
        self.weights = dict(weights)

    def __call__(self, **terms: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        unknown = sorted(set(terms) - set(self.weights))
        if unknown:
            raise KeyError(f"loss terms without a weight: {', '.join(unknown)} (weights: {sorted(self.weights)})")
        total = sum(self.weights[k] * v for k, v in terms.items() if self.weights[k])
        if not isinstance(total, torch.Tensor):  # every weight zero
            total = next(iter(terms.values())) * 0
        return total, {k: v.detach() for k, v in terms.items()}


def logistic_gan(d_real: torch.Tensor, d_fake: torch.Tensor, d_fake_for_g: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """(discriminator loss, non-saturating generator loss) from logits: d_fake is on detached samples,
    d_fake_for_g through a discriminator whose parameters are detached."""
    d_loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    return d_loss, F.softplus(-d_fake_for_g).mean()


def wasserstein_gan(d_real: torch.Tensor, d_fake: torch.Tensor, d_fake_for_g: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """(critic loss E[D(fake)] - E[D(real)], generator loss -E[D(fake)])."""
    return d_fake.mean() - d_real.mean(), -d_fake_for_g.mean()


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
                     ) -> torch.Tensor:
    """E[(|grad_x D(x_hat)|_2 - 1)^2] at x_hat uniformly between paired real and (detached) fake images."""
    eps = torch.rand(len(real), *[1] * (real.dim() - 1), device=real.device)
    x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    grad, = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def vector_quantization(h: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(codebook term |sg(h) - q|^2, commitment term |h - sg(q)|^2)."""
    return F.mse_loss(q, h.detach()), F.mse_loss(h, q.detach())


def contrastive_energy(e_data: torch.Tensor, e_samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(E(data) - E(samples) averaged, the regulariser E(data)^2 + E(samples)^2 that keeps energies near 0)."""
    return e_data.mean() - e_samples.mean(), (e_data ** 2).mean() + (e_samples ** 2).mean()
