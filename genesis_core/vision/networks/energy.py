"""An energy-based model of images: a small convolutional energy E(x) (low on data), trained by contrasting data
with short-run Langevin samples drawn from a replay buffer (Du & Mordatch 2019, "Implicit Generation and
Generalization in Energy-Based Models"; the MNIST recipe of Lippe's UvA tutorial: Swish activations, 60 steps of
size 10 with noise 0.005 and gradients clamped to 0.03 per pixel, 5% of each batch restarted from noise, the
squared-energy regulariser of weight 0.1, Adam with beta1 = 0).

  loss      E(data) - E(samples) + reg * (E(data)^2 + E(samples)^2)  (genesis_core.vision.networks.losses)
  Langevin  x <- clamp(x - step_size * clamp(grad E(x), +-grad_clamp) + noise * N(0, I), -1, 1), in [-1, 1] pixels
  samples   evaluation and previews start from uniform noise and run `sample_steps` Langevin steps (no buffer:
            the figures measure the model, not a pool of samples refined over training)
The buffer is not saved in checkpoints (it is state of the sampler, not of the model): a resumed run refills it
from noise.
"""

from __future__ import annotations

import torch
from torch import nn


class EnergyNet(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], width: int = 32):
        super().__init__()
        c, h, w = image_shape
        self.body = nn.Sequential(
            nn.Conv2d(c, width // 2, 3, 1, 1), nn.SiLU(), nn.Conv2d(width // 2, width, 4, 2, 1), nn.SiLU(),
            nn.Conv2d(width, width * 2, 4, 2, 1), nn.SiLU(), nn.Conv2d(width * 2, width * 2, 3, 1, 1), nn.SiLU(),
            nn.Flatten(), nn.Linear(width * 2 * (h // 4) * (w // 4), width * 2), nn.SiLU(), nn.Linear(width * 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Energies, one per image in [-1, 1] pixels."""
        return self.body(x).squeeze(1)


class EBM(nn.Module):
    buffer: torch.Tensor  # a buffer

    def __init__(self, image_shape: tuple[int, int, int], width: int = 32, buffer_size: int = 8192):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.energy = EnergyNet(image_shape, width)
        self.register_buffer("buffer", torch.rand(buffer_size, *image_shape) * 2 - 1, persistent=False)

    def langevin(self, x: torch.Tensor, steps: int, step_size: float, noise: float, grad_clamp: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """`steps` Langevin steps from x (in [-1, 1]); the energy's parameters get no gradient."""
        x = x.detach()
        with torch.enable_grad():
            for _ in range(steps):
                x.requires_grad_(True)
                grad, = torch.autograd.grad(self.energy(x).sum(), x)
                z = torch.randn(x.shape, generator=generator).to(x.device) if generator else torch.randn_like(x)
                x = (x.detach() - step_size * grad.clamp(-grad_clamp, grad_clamp) + noise * z).clamp(-1, 1)
        return x.detach()

    def replay_batch(self, n: int, reinit: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(starting points, their buffer rows): buffer samples with a share `reinit` restarted from noise."""
        rows = torch.randint(len(self.buffer), (n,), device=self.buffer.device)
        start = self.buffer[rows].clone()
        fresh = torch.rand(n, device=start.device) < reinit
        start[fresh] = torch.rand_like(start[fresh]) * 2 - 1
        return start, rows

    @torch.no_grad()
    def sample(self, n: int, steps: int = 256, step_size: float = 10.0, noise: float = 0.005,
               grad_clamp: float = 0.03, generator: torch.Generator | None = None) -> torch.Tensor:
        dev = self.buffer.device
        start = torch.rand((n, *self.image_shape), generator=generator).to(dev) * 2 - 1
        return (self.langevin(start, steps, step_size, noise, grad_clamp, generator) + 1) / 2
