"""Normalizing flows over pixels: logit transform, ActNorm, invertible 1x1 convolutions and affine
couplings (Glow-style), exact bits per dimension.
"""

from __future__ import annotations

import abc
import math
from typing import Protocol, cast

import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.vision.networks.layers import zero_init

from genesis_core.vision.networks.spline import SplineCoupling

LOGIT_ALPHA = 0.05


def logit_transform(x: torch.Tensor, alpha: float = LOGIT_ALPHA) -> tuple[torch.Tensor, torch.Tensor]:
    """[0, 1] dequantised pixels -> logit(alpha + (1 - 2 alpha) x), with the log-determinant per image."""
    p = alpha + (1 - 2 * alpha) * x
    y = p.log() - (1 - p).log()
    logdet = (math.log(1 - 2 * alpha) - p.log() - (1 - p).log()).flatten(1).sum(1)
    return y, logdet


def dequantize(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] pixels on 256 levels -> uniformly dequantised values in [0, 1)."""
    return ((x * 255).round() + torch.rand_like(x)) / 256


def logit_inverse(y: torch.Tensor, alpha: float = LOGIT_ALPHA) -> torch.Tensor:
    return ((torch.sigmoid(y) - alpha) / (1 - 2 * alpha)).clamp(0, 1)



def squeeze(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    x = x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * 4, h // 2, w // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    x = x.view(n, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // 4, h * 2, w * 2)


class FlowStep(Protocol):
    """One invertible layer: x -> (y, log-determinant per image), and back."""

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def inverse(self, y: torch.Tensor) -> torch.Tensor: ...


def flow_steps(level: nn.Module) -> list[tuple[FlowStep, FlowStep, FlowStep]]:
    """A level's (actnorm, 1x1 convolution, coupling) steps, in order (nested ModuleLists hold them untyped)."""
    return [cast("tuple[FlowStep, FlowStep, FlowStep]", tuple(cast(nn.ModuleList, step)))
            for step in cast(nn.ModuleList, level)]


class ActNorm(nn.Module):
    ready: torch.Tensor  # a buffer

    def __init__(self, c: int):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.register_buffer("ready", torch.tensor(False))

    def forward(self, x):
        if not bool(self.ready) and self.training:  # data-dependent initialisation on the first batch
            with torch.no_grad():
                self.loc.copy_(-x.mean((0, 2, 3), keepdim=True))
                self.log_scale.copy_(-x.std((0, 2, 3), keepdim=True).add(1e-6).log())
                self.ready.fill_(True)
        y = (x + self.loc) * self.log_scale.exp()
        return y, self.log_scale.sum() * x.shape[2] * x.shape[3]

    def inverse(self, y):
        return y * (-self.log_scale).exp() - self.loc


class InvConv(nn.Module):
    """An invertible 1x1 convolution, LU-parametrised (Glow) so its log-determinant is a sum of logs."""

    p: torch.Tensor  # a buffer
    sign_s: torch.Tensor  # a buffer
    l_mask: torch.Tensor  # a buffer

    def __init__(self, c: int):
        super().__init__()
        w = torch.linalg.qr(torch.randn(c, c))[0]
        p, lower, upper = torch.linalg.lu(w)
        s = torch.diagonal(upper)
        self.register_buffer("p", p)
        self.register_buffer("sign_s", torch.sign(s))
        self.register_buffer("l_mask", torch.tril(torch.ones(c, c), -1))
        self.lower = nn.Parameter(lower)
        self.log_s = nn.Parameter(s.abs().log())
        self.upper = nn.Parameter(torch.triu(upper, 1))

    def weight(self):
        lower = self.lower * self.l_mask + torch.eye(len(self.l_mask), device=self.lower.device)
        upper = self.upper * self.l_mask.T + torch.diag(self.sign_s * self.log_s.exp())
        return self.p @ lower @ upper

    def forward(self, x):
        return F.conv2d(x, self.weight()[:, :, None, None]), self.log_s.sum() * x.shape[2] * x.shape[3]

    def inverse(self, y):
        return F.conv2d(y, torch.linalg.inv(self.weight())[:, :, None, None])


class Coupling(nn.Module):
    """Affine coupling: half the channels scale and shift the other half (tanh-bounded log-scales)."""

    def __init__(self, c: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(c // 2, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, hidden, 1),
                                 nn.ReLU(), nn.Conv2d(hidden, (c - c // 2) * 2, 3, padding=1))
        zero_init(self.net[-1])

    def forward(self, x):
        a, b = x[:, :x.shape[1] // 2], x[:, x.shape[1] // 2:]
        s, t = self.net(a).chunk(2, 1)
        s = torch.tanh(s)
        return torch.cat([a, b * s.exp() + t], 1), s.flatten(1).sum(1)

    def inverse(self, y):
        a, b = y[:, :y.shape[1] // 2], y[:, y.shape[1] // 2:]
        s, t = self.net(a).chunk(2, 1)
        s = torch.tanh(s)
        return torch.cat([a, (b - t) * (-s).exp()], 1)


class PixelFlow(nn.Module, abc.ABC):
    """What the two exact-likelihood flows (Flow, MAF) share: forward maps [0, 1] pixels to a standard normal latent
    with its log-determinant, inverse maps back; from those, the log density, bits per dim on 256 levels (bounded
    through uniform dequantisation) and the Encodes protocol."""
    latent_path = "the flow's exact inverse, a straight line between the latents"  # how the explorer goes from one image to another through the latent

    @abc.abstractmethod
    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """The latent -> pixels in [0, 1] (each flow's own exact inverse)."""

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log density (nats) of dequantised pixels x in [0, 1]^D."""
        z, logdet = self(x)
        return -0.5 * (z ** 2 + math.log(2 * math.pi)).flatten(1).sum(1) + logdet

    def dequantize(self, x: torch.Tensor) -> torch.Tensor:
        return dequantize(x)

    def bits_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        """-log2 p(discrete image) / D: the density of x / 256 on 256 levels per dim."""
        d = x[0].numel()
        logp = self.log_prob(self.dequantize(x)) - d * math.log(256)
        return -logp / (d * math.log(2))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self(images.clamp(1 / 512, 1 - 1 / 512))[0]

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return self.inverse(latent)


class Flow(PixelFlow):
    """Pixels -> dequantised (x * 255 + u) / 256 -> logit(alpha + (1 - 2 alpha) x) -> two scales of
    [squeeze, `depth` x (actnorm, 1x1 conv, coupling)] -> standard normal. `log_prob` is exact for the
    dequantised data; `bits_per_dim` counts the discrete pixels' 256 levels (the usual figure). The coupling is
    affine (Glow's, RealNVP's) or a rational-quadratic spline of `bins` bins on [-bound, bound] (neural spline
    flows, genesis_core.vision.networks.spline)."""

    ALPHA = LOGIT_ALPHA

    def __init__(self, image_shape, depth: int = 4, hidden: int = 64, coupling: str = "affine", bins: int = 8,
                 bound: float = 3.0):
        super().__init__()

        def make(c: int) -> nn.Module:
            return Coupling(c, hidden) if coupling == "affine" else SplineCoupling(c, hidden, bins, bound)

        if coupling not in ("affine", "spline"):
            raise ValueError(f"coupling must be affine or spline, not {coupling!r}")
        self.image_shape = tuple(image_shape)
        c = image_shape[0]
        self.levels = nn.ModuleList()
        for scale in range(2):
            c = c * 4
            self.levels.append(nn.ModuleList(
                nn.ModuleList([ActNorm(c), InvConv(c), make(c)]) for _ in range(depth)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, log-determinant of the whole map from [0, 1] pixels to z)."""
        h, logdet = logit_transform(x, self.ALPHA)
        for level in self.levels:
            h = squeeze(h)
            for actnorm, conv, coupling in flow_steps(level):
                for layer in (actnorm, conv, coupling):
                    h, ld = layer(h)
                    logdet = logdet + ld
        return h, logdet

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for level in reversed(self.levels):
            for actnorm, conv, coupling in reversed(flow_steps(level)):
                h = actnorm.inverse(conv.inverse(coupling.inverse(h)))
            h = unsqueeze(h)
        return logit_inverse(h, self.ALPHA)

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        c, h, w = self.image_shape
        z = torch.randn(n, c * 16, h // 4, w // 4, generator=generator).to(next(self.parameters()).device)
        return self.inverse(z * temperature)
