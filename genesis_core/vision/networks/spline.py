"""Rational-quadratic spline couplings (neural spline flows, Durkan et al. 2019), beside the affine coupling.

Each transformed value passes through a monotone rational-quadratic spline on [-B, B] with K bins whose widths,
heights and inner knot derivatives a network predicts from the other half of the channels; outside [-B, B] the map is
the identity (the paper's "linear tails", so the boundary derivatives are 1). The spline is invertible in closed form
(a quadratic per bin) and its log-derivative is exact, so the flow keeps an exact likelihood while each coupling can
bend a value's distribution far more than a scale and a shift.
Choices made here: minimum bin width, height and derivative 1e-3 (the paper's), the derivative parameters offset so
that a network whose last layer is zero gives the identity map (every coupling starts as the identity, as the affine
one does).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.vision.networks.layers import zero_init

MIN_BIN = 1e-3
MIN_DERIVATIVE = 1e-3
_IDENTITY_DERIVATIVE = math.log(math.expm1(1 - MIN_DERIVATIVE))  # softplus of this + MIN_DERIVATIVE is 1


def _knots(raw: torch.Tensor, bound: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Unnormalised bin sizes (..., K) -> (knot positions (..., K + 1) from -bound to bound, bin sizes (..., K))."""
    k = raw.shape[-1]
    sizes = MIN_BIN + (1 - MIN_BIN * k) * torch.softmax(raw, -1)
    knots = F.pad(torch.cumsum(sizes, -1), (1, 0)) * 2 * bound - bound
    knots = torch.cat([torch.full_like(knots[..., :1], -bound), knots[..., 1:-1], torch.full_like(knots[..., :1], bound)], -1)
    return knots, knots[..., 1:] - knots[..., :-1]


def _bin(knots: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """The bin of each value (..., 1): the last knot at or below it, the top knot counted in the last bin."""
    inner = knots[..., 1:-1].contiguous()
    return torch.searchsorted(inner, values[..., None].contiguous(), right=True)


def rational_quadratic_spline(x: torch.Tensor, raw_widths: torch.Tensor, raw_heights: torch.Tensor,
                              raw_derivatives: torch.Tensor, bound: float = 3.0,
                              inverse: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The spline applied elementwise to x (shape S), with its log |dy/dx| (shape S; of the inverse map when inverse).

    raw_widths, raw_heights: S + (K,); raw_derivatives: S + (K - 1,), the inner knots' (the outer two are 1).
    """
    inside = (x >= -bound) & (x <= bound)
    xc = x.clamp(-bound, bound)
    xk, w = _knots(raw_widths, bound)
    yk, h = _knots(raw_heights, bound)
    ones = torch.ones_like(raw_derivatives[..., :1])
    d = torch.cat([ones, MIN_DERIVATIVE + F.softplus(raw_derivatives + _IDENTITY_DERIVATIVE), ones], -1)
    idx = _bin(yk if inverse else xk, xc)

    def pick(t: torch.Tensor) -> torch.Tensor:
        return t.gather(-1, idx)[..., 0]

    x0, y0, wk, hk, d0, d1 = pick(xk), pick(yk), pick(w), pick(h), pick(d[..., :-1]), pick(d[..., 1:])
    s = hk / wk
    bend = d1 + d0 - 2 * s
    if inverse:
        dy = xc - y0
        a = hk * (s - d0) + dy * bend
        b = hk * d0 - dy * bend
        c = -s * dy
        xi = (2 * c) / (-b - torch.sqrt((b * b - 4 * a * c).clamp_min(0)))
        out = xi * wk + x0
    else:
        xi = (xc - x0) / wk
        out = y0 + hk * (s * xi ** 2 + d0 * xi * (1 - xi)) / (s + bend * xi * (1 - xi))
    one = xi * (1 - xi)
    denominator = s + bend * one
    logdet = torch.log(s ** 2 * (d1 * xi ** 2 + 2 * s * one + d0 * (1 - xi) ** 2)) - 2 * torch.log(denominator)
    if inverse:
        logdet = -logdet
    return torch.where(inside, out, x), torch.where(inside, logdet, torch.zeros_like(logdet))


class SplineCoupling(nn.Module):
    """Half the channels set a rational-quadratic spline of `bins` bins on [-bound, bound] for each value of the
    other half (the same network shape as the affine Coupling, 3 * bins - 1 outputs per value instead of 2)."""

    def __init__(self, c: int, hidden: int, bins: int = 8, bound: float = 3.0):
        super().__init__()
        self.bins, self.bound, self.out_channels = bins, bound, c - c // 2
        self.net = nn.Sequential(nn.Conv2d(c // 2, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, hidden, 1),
                                 nn.ReLU(), nn.Conv2d(hidden, self.out_channels * (3 * bins - 1), 3, padding=1))
        zero_init(self.net[-1])

    def _params(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n, _, hgt, wid = a.shape
        p = self.net(a).view(n, self.out_channels, 3 * self.bins - 1, hgt, wid).permute(0, 1, 3, 4, 2)
        return p[..., :self.bins], p[..., self.bins:2 * self.bins], p[..., 2 * self.bins:]

    def forward(self, x):
        a, b = x[:, :x.shape[1] // 2], x[:, x.shape[1] // 2:]
        y, logdet = rational_quadratic_spline(b, *self._params(a), bound=self.bound)
        return torch.cat([a, y], 1), logdet.flatten(1).sum(1)

    def inverse(self, y):
        a, b = y[:, :y.shape[1] // 2], y[:, y.shape[1] // 2:]
        x, _ = rational_quadratic_spline(b, *self._params(a), bound=self.bound, inverse=True)
        return torch.cat([a, x], 1)
