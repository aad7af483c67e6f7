"""Diffusion: the timestep-conditioned U-Net, the epsilon-prediction DDPM, the vector denoiser
and latent diffusion over an autoencoder's codes.
"""

from __future__ import annotations

import math

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.vision.networks.layers import zero_init

if TYPE_CHECKING:
    from genesis_core.vision.networks.autoencoders import Autoencoder

# -- diffusion -----------------------------------------------------------------------------------------

def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], 1)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb: int):
        super().__init__()
        self.n1, self.c1 = nn.GroupNorm(8, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb, c_out)
        self.n2, self.c2 = nn.GroupNorm(8, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.emb(F.silu(e))[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    """A small U-Net: two resolutions down (H, H/2, H/4; width x1, x2, x4 channels), a residual block at each,
    time and class embeddings added in every block. Class index `num_classes` is "no class" (classifier-free guidance)."""

    def __init__(self, channels: int, width: int = 16, num_classes: int = 0):
        super().__init__()
        emb = width * 4
        self.width = width
        self.t_mlp = nn.Sequential(nn.Linear(width, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.y_emb = nn.Embedding(num_classes + 1, emb) if num_classes else None
        self.num_classes = num_classes
        w1, w2, w3 = width, width * 2, width * 4  # every level costs about the same
        self.inp = nn.Conv2d(channels, w1, 3, padding=1)
        self.d1 = ResBlock(w1, w1, emb)
        self.down1 = nn.Conv2d(w1, w2, 3, stride=2, padding=1)
        self.d2 = ResBlock(w2, w2, emb)
        self.down2 = nn.Conv2d(w2, w3, 3, stride=2, padding=1)
        self.mid1, self.mid2 = ResBlock(w3, w3, emb), ResBlock(w3, w3, emb)
        self.up2 = nn.ConvTranspose2d(w3, w2, 4, stride=2, padding=1)
        self.u2 = ResBlock(w2 * 2, w2, emb)
        self.up1 = nn.ConvTranspose2d(w2, w1, 4, stride=2, padding=1)
        self.u1 = ResBlock(w1 * 2, w1, emb)
        self.out = nn.Sequential(nn.GroupNorm(8, w1), nn.SiLU(), nn.Conv2d(w1, channels, 3, padding=1))
        zero_init(self.out[-1])

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        e = self.t_mlp(timestep_embedding(t, self.width))
        if self.y_emb is not None:
            e = e + self.y_emb(y if y is not None else torch.full_like(t, self.num_classes))
        h1 = self.d1(self.inp(x), e)
        h2 = self.d2(self.down1(h1), e)
        h = self.mid2(self.mid1(self.down2(h2), e), e)
        h = self.u2(torch.cat([self.up2(h), h2], 1), e)
        h = self.u1(torch.cat([self.up1(h), h1], 1), e)
        return self.out(h)


class Diffusion(nn.Module):
    alpha_bar: torch.Tensor  # (steps,) the noise schedule's cumulative products, a buffer

    latent_path = 'DDIM inversion of both images, slerp between their noises'  # how the explorer goes from one image to another through the latent
    def __init__(self, image_shape: tuple[int, int, int], width: int = 16, num_classes: int = 0, steps: int = 1000,
                 p_uncond: float = 0.1, net: nn.Module | None = None):
        super().__init__()
        self.image_shape, self.T, self.p_uncond, self.num_classes = tuple(image_shape), steps, p_uncond, num_classes
        self.net = net if net is not None else UNet(image_shape[0], width, num_classes)  # net(x, t, y) -> epsilon
        betas = torch.linspace(1e-4, 0.02, steps, dtype=torch.float64)
        self.register_buffer("alpha_bar", torch.cumprod(1 - betas, 0).float(), persistent=False)

    clip: float | None = 1.0  # x0 predictions are clamped to [-clip, clip] while sampling (pixels in [-1, 1])
    sample_steps: int = 25  # encode / decode (the Encodes protocol): DDIM inversion and sampling with these steps

    @property
    def noise_shape(self) -> tuple[int, ...]:
        return self.image_shape

    def to_model(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] -> the space the diffusion runs in."""
        return x * 2 - 1

    def from_model(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + 1) / 2).clamp(0, 1)

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x0 = self.to_model(x)
        t = torch.randint(0, self.T, (len(x),), device=x.device)
        noise = torch.randn_like(x0)
        ab = self.alpha_bar[t]
        ab = ab.view(-1, *[1] * (x0.dim() - 1))
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        if self.num_classes and y is not None:  # the class dropped from p_uncond of the batch: guidance learns
            y = torch.where(torch.rand(len(y), device=x.device) < self.p_uncond, torch.full_like(y, self.num_classes), y)
        else:
            y = None
        return F.mse_loss(self.net(xt, t, y), noise)

    def eps(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None, guidance: float) -> torch.Tensor:
        if y is None or not self.num_classes:
            return self.net(x, t, None)
        if guidance == 1.0:
            return self.net(x, t, y)
        both = self.net(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, torch.full_like(y, self.num_classes)]))
        cond, uncond = both.chunk(2)
        return uncond + guidance * (cond - uncond)

    def _schedule(self, steps: int) -> list[int]:
        return torch.linspace(self.T - 1, 0, steps).round().long().tolist()

    @torch.no_grad()
    def sample(self, n: int, steps: int = 50, y: torch.Tensor | None = None, guidance: float = 1.0,
               noise: torch.Tensor | None = None, generator: torch.Generator | None = None,
               sampler: str = "ddim") -> torch.Tensor:
        """From noise in `steps` steps with a sampler of genesis_core.vision.samplers (ancestral, ddim, ode, sde); with
        labels y and guidance > 1, classifier-free guidance."""
        from genesis_core.vision.samplers import SAMPLERS

        dev = self.alpha_bar.device
        x = noise if noise is not None else torch.randn((n, *self.noise_shape), generator=generator).to(dev)
        return self.from_model(SAMPLERS.get(sampler)(self, x, self._schedule(steps), y, guidance, generator))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.invert(images, self.sample_steps)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return self.sample(len(latent), self.sample_steps, noise=latent)

    @torch.no_grad()
    def invert(self, images: torch.Tensor, steps: int = 50, y: torch.Tensor | None = None) -> torch.Tensor:
        """DDIM inversion: the noise that DDIM sampling (same steps, no guidance) maps back to these images."""
        x = self.to_model(images)
        ts = self._schedule(steps)[::-1]
        for i, t in enumerate(ts):
            t_prev = ts[i - 1] if i else None
            ab_prev = self.alpha_bar[t_prev] if t_prev is not None else torch.tensor(1.0, device=x.device)
            tt = torch.full((len(x),), t_prev if t_prev is not None else 0, device=x.device, dtype=torch.long)
            e = self.eps(x, tt, y, 1.0)
            x0 = (x - (1 - ab_prev).sqrt() * e) / ab_prev.sqrt()
            x = self.alpha_bar[t].sqrt() * x0 + (1 - self.alpha_bar[t]).sqrt() * e
        return x


class VectorDenoiser(nn.Module):
    """The epsilon network for latent vectors: an MLP with time (and class) embeddings added."""

    def __init__(self, dim: int, hidden: int = 256, num_classes: int = 0):
        super().__init__()
        self.hidden, self.num_classes = hidden, num_classes
        self.t_mlp = nn.Sequential(nn.Linear(64, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.y_emb = nn.Embedding(num_classes + 1, hidden) if num_classes else None
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, hidden))
                                    for _ in range(3))
        self.out = nn.Linear(hidden, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x, t, y=None):
        e = self.t_mlp(timestep_embedding(t, 64))
        if self.y_emb is not None:
            e = e + self.y_emb(y if y is not None else torch.full_like(t, self.num_classes))
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h + e)
        return self.out(h)


class LatentDiffusion(Diffusion):
    """Diffusion on the codes of a trained autoencoder (frozen; its weights are saved in the checkpoint):
    images are encoded, standardised with the training codes' mean and spread, diffused by an MLP, and
    sampled codes are decoded."""

    clip = None
    autoencoder: Autoencoder
    code_mean: torch.Tensor
    code_std: torch.Tensor

    def __init__(self, autoencoder: Autoencoder, image_shape, hidden: int = 256, num_classes: int = 0,
                 steps: int = 1000, p_uncond: float = 0.1):
        super().__init__(image_shape, 8, num_classes, steps, p_uncond)
        self.autoencoder = autoencoder.eval().requires_grad_(False)
        k = autoencoder.latent_dim
        self.net = VectorDenoiser(k, hidden, num_classes)
        self.register_buffer("code_mean", torch.zeros(k))
        self.register_buffer("code_std", torch.ones(k))

    @property
    def noise_shape(self) -> tuple[int, ...]:
        return (len(self.code_mean),)

    @torch.no_grad()
    def fit_codes(self, images: torch.Tensor) -> None:
        z = torch.cat([self.autoencoder.encode(b) for b in images.split(500)])
        self.code_mean.copy_(z.mean(0))
        self.code_std.copy_(z.std(0).clamp(min=1e-4))

    def to_model(self, x):
        with torch.no_grad():
            return (self.autoencoder.encode(x) - self.code_mean) / self.code_std

    def from_model(self, z):
        return self.autoencoder.decode(z * self.code_std + self.code_mean).clamp(0, 1)

    def train(self, mode: bool = True):
        super().train(mode)
        self.autoencoder.eval()  # frozen, batch norms included
        return self


def slerp(a: torch.Tensor, b: torch.Tensor, w: float) -> torch.Tensor:
    """Spherical interpolation between two noise tensors (what Gaussian noise keeps its norm under)."""
    fa, fb = a.flatten(), b.flatten()
    omega = torch.arccos((fa @ fb / (fa.norm() * fb.norm())).clamp(-1, 1))
    if omega.abs() < 1e-4:
        return (1 - w) * a + w * b
    return (torch.sin((1 - w) * omega) * a + torch.sin(w * omega) * b) / torch.sin(omega)
