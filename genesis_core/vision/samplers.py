"""Samplers of a trained epsilon-prediction diffusion model (genesis_core.vision.networks.diffusion.Diffusion), chosen by name.

  ancestral  DDPM's ancestral sampling (Ho et al. 2020): x_{t-1} drawn from the posterior q(x_{t-1} | x_t, x0_hat);
             over a sub-sequence of the T steps it is DDIM with eta = 1 (Song et al. 2021), which with all T steps
             is exactly DDPM
  ddim       DDIM with eta = 0: deterministic, the same noise always gives the same image
  ode        the probability-flow ODE (Song et al. 2021) solved with Heun's second-order method (Karras et al. 2022,
             Algorithm 1) in the variance-exploding variables x/sqrt(alpha_bar) and sigma = sqrt((1 - alpha_bar)
             / alpha_bar), on the same grid of timesteps; the last step to sigma = 0 is an Euler step. DDIM is Euler's
             method on the same ODE, so the two agree as the steps grow. Costs 2 * steps - 1 network evaluations.
  sde        the reverse-time SDE (Song et al. 2021; Anderson 1982) solved by Euler–Maruyama in the same variables:
             x/sqrt(alpha_bar) follows a variance-exploding SDE with variance sigma^2, whose reverse step from sigma to
             sigma' < sigma is x + 2 (sigma' - sigma) eps + sqrt(2 sigma (sigma - sigma')) z: twice the ODE's drift and
             fresh noise. The last step to sigma = 0 is the denoised estimate x - sigma eps (Tweedie), without noise.
             First order and stochastic: it needs more steps than the ODE for the same error.
Each sampler starts from x_T (noise in the model's space) on the timesteps `ts` (descending) and returns x_0.
x0 predictions are clamped to [-clip, clip] by ancestral and ddim where the model sets a clip, and the noise estimate
re-derived from the clamped x0 (so ancestral is exactly the posterior given x_t and the clamped x0); the ODE is solved
as it is (clamping is not part of the ODE or the SDE).
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from genesis_core.registry import Registry

SAMPLERS: Registry[Callable[..., torch.Tensor]] = Registry("diffusion sampler")


def network_evaluations(sampler: str, steps: int) -> int:
    """How many times the denoiser runs for one sample (classifier-free guidance doubles each)."""
    return 2 * steps - 1 if sampler == "ode" else steps


def _alpha_bars(model: Any, ts: list[int], i: int, dev) -> tuple[torch.Tensor, torch.Tensor]:
    ab = model.alpha_bar[ts[i]]
    ab_prev = model.alpha_bar[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0, device=dev)
    return ab, ab_prev


def _eta_step(model, x, ts, y, guidance, eta: float, generator) -> torch.Tensor:
    dev = x.device
    for i, t in enumerate(ts):
        e = model.eps(x, torch.full((len(x),), t, device=dev, dtype=torch.long), y, guidance)
        ab, ab_prev = _alpha_bars(model, ts, i, dev)
        x0 = (x - (1 - ab).sqrt() * e) / ab.sqrt()
        if model.clip:  # the noise is re-derived from the clamped x0, so that x_t, x0 and e stay one consistent
            # triple (GLIDE; diffusers' use_clipped_model_output). Clamping x0 but stepping with the network's raw e
            # drifts a little at every step: DDIM got worse beyond 25 steps (FD 355 at 25, 667 at 100, 1,162 at 200
            # on the zoo's U-Net) and is monotone with the re-derived e (373, 340, 336)
            x0 = x0.clamp(-model.clip, model.clip)
            e = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
        sigma = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).clamp(min=0).sqrt()
        x = ab_prev.sqrt() * x0 + (1 - ab_prev - sigma ** 2).clamp(min=0).sqrt() * e
        if eta and i + 1 < len(ts):
            x = x + sigma * torch.randn(x.shape, generator=generator).to(dev)
    return x


@SAMPLERS.register("ancestral")
def ancestral(model, x, ts, y=None, guidance=1.0, generator=None) -> torch.Tensor:
    return _eta_step(model, x, ts, y, guidance, 1.0, generator)


@SAMPLERS.register("ddim")
def ddim(model, x, ts, y=None, guidance=1.0, generator=None) -> torch.Tensor:
    return _eta_step(model, x, ts, y, guidance, 0.0, generator)


@SAMPLERS.register("ode")
def probability_flow_heun(model, x, ts, y=None, guidance=1.0, generator=None) -> torch.Tensor:
    dev = x.device

    def sigma(ab):
        return ((1 - ab) / ab).sqrt()

    def eps_at(xbar, i):
        ab = model.alpha_bar[ts[i]]
        tt = torch.full((len(xbar),), ts[i], device=dev, dtype=torch.long)
        return model.eps(xbar * ab.sqrt(), tt, y, guidance)

    xbar = x / model.alpha_bar[ts[0]].sqrt()
    for i in range(len(ts)):
        s = sigma(model.alpha_bar[ts[i]])
        s_next = sigma(model.alpha_bar[ts[i + 1]]) if i + 1 < len(ts) else torch.tensor(0.0, device=dev)
        d = eps_at(xbar, i)
        x_next = xbar + (s_next - s) * d
        if i + 1 < len(ts):  # Heun's correction with the slope at the end of the step
            x_next = xbar + (s_next - s) * (d + eps_at(x_next, i + 1)) / 2
        xbar = x_next
    return xbar


@SAMPLERS.register("sde")
def reverse_sde_euler_maruyama(model, x, ts, y=None, guidance=1.0, generator=None) -> torch.Tensor:
    dev = x.device

    def sigma(ab):
        return ((1 - ab) / ab).sqrt()

    xbar = x / model.alpha_bar[ts[0]].sqrt()
    for i in range(len(ts)):
        ab = model.alpha_bar[ts[i]]
        e = model.eps(xbar * ab.sqrt(), torch.full((len(xbar),), ts[i], device=dev, dtype=torch.long), y, guidance)
        s = sigma(ab)
        if i + 1 == len(ts):
            return xbar - s * e
        s_next = sigma(model.alpha_bar[ts[i + 1]])
        z = torch.randn(xbar.shape, generator=generator, dtype=xbar.dtype).to(dev)
        xbar = xbar + 2 * (s_next - s) * e + (2 * s * (s - s_next)).clamp(min=0).sqrt() * z
    return xbar
