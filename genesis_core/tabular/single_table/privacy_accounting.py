"""What a private generator may learn about a table's domain, and what it costs.

  zCDP accounting   rho from (epsilon, delta) and back (Canonne, Kamath and Steinke 2020), as MST uses it
  bounds            a numerical column's range from a noisy histogram over fixed, data-independent cells
                    (edges at 0 and ±10^k in 10 steps per decade from 1e-6 to 1e12): the first and the last cell
                    whose noisy count clears a threshold; Gaussian (zCDP) or Laplace (pure epsilon) noise, a
                    share of the budget; or declared public by the user
  categories        the categories released are those whose noisy count clears a threshold (the rest merge
                    into one "rare" bucket that is never written back as a real value)
"""

from __future__ import annotations

import math

import numpy as np

GRID = np.unique(np.concatenate([[0.0], *[s * np.logspace(-6, 12, 18 * 10 + 1) for s in (-1.0, 1.0)]]))


def cdp_delta(rho: float, eps: float) -> float:
    """The delta of (eps, delta)-DP implied by rho-zCDP (tight conversion, Canonne et al. 2020)."""
    if rho <= 0:
        return 0.0
    amin, amax = 1.01, (eps + 1) / (2 * rho) + 2
    for _ in range(200):
        alpha = (amin + amax) / 2
        if (2 * alpha - 1) * rho - eps + math.log1p(-1.0 / alpha) < 0:
            amin = alpha
        else:
            amax = alpha
    alpha = (amin + amax) / 2
    delta = math.exp((alpha - 1) * (alpha * rho - eps) + alpha * math.log1p(-1 / alpha)) / (alpha - 1.0)
    return min(delta, 1.0)


def cdp_rho(eps: float, delta: float) -> float:
    """The largest rho whose rho-zCDP implies (eps, delta)-DP."""
    lo, hi = 0.0, eps + 1
    for _ in range(200):
        rho = (lo + hi) / 2
        if cdp_delta(rho, eps) <= delta:
            lo = rho
        else:
            hi = rho
    return lo


def exponential_mechanism(utility: np.ndarray, eps: float, rng: np.random.Generator, sensitivity: float = 1.0) -> int:
    """Index drawn with probability proportional to exp(eps * utility / (2 * sensitivity))."""
    logits = eps * (utility - utility.max()) / (2 * sensitivity)
    p = np.exp(logits)
    return int(rng.choice(len(p), p=p / p.sum()))


def private_range(x: np.ndarray, rng: np.random.Generator, rho: float | None = None, eps: float | None = None,
                  miss: float = 0.05) -> tuple[float, float]:
    """(low, high) of a numerical column, paid from the budget: a histogram of the values over GRID's fixed
    cells with Gaussian noise (`rho`-zCDP) or Laplace noise (`eps`-DP), each row in exactly one cell; the range
    runs from the first to the last cell whose noisy count clears a threshold that an empty cell passes with
    probability `miss` over all cells together. Values beyond it are clipped to it."""
    x = x[~np.isnan(x)]
    cells = len(GRID) + 1  # below the first edge, between edges, above the last
    counts = np.bincount(np.searchsorted(GRID, x, side="right"), minlength=cells).astype(float)
    if rho is not None:
        sigma = math.sqrt(1 / (2 * rho))
        noisy = counts + rng.normal(0, sigma, cells)
        threshold = sigma * float(_gauss_isf(miss / cells))
    else:
        if eps is None:
            raise ValueError("private_range needs rho (zCDP) or eps (pure DP)")
        noisy = counts + rng.laplace(0, 1 / eps, cells)
        threshold = math.log(cells / miss) / eps
    kept = np.flatnonzero(noisy >= threshold)
    if len(kept) == 0:
        kept = np.array([int(np.argmax(noisy))])
    edges = np.concatenate([[GRID[0] * 10], GRID, [GRID[-1] * 10]])
    return float(edges[kept[0]]), float(edges[kept[-1] + 1])


def _gauss_isf(p: float) -> float:
    from scipy.stats import norm

    return float(norm.isf(p))
