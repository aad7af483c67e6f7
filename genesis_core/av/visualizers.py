"""Algorithmic visualizers: audio features -> frames (T, 3, H, W) float in [0, 1], any size and frame rate,
deterministic for a seed. They are the teachers AudioToVideoNet learns from.

  spectrum_bars   one bar per mel band, height = band energy, colour by band
  beat_pulse      a disc that swells on onsets and decays, its hue stepping on every strong onset
  particles       seeded particles orbiting the centre; speed and radius follow the loudness
  oscilloscope    the frame's waveform drawn as a line
  color_field     a colour field (low / mid / high bands -> R / G / B) with interference ripples whose
                  phase advances with the energy
"""

from __future__ import annotations

import math

import torch

from genesis_core.av.features import AudioFeatures

VISUALIZERS: dict = {}


def register(name):
    def deco(fn):
        VISUALIZERS[name] = fn
        return fn
    return deco


def hsv(h: torch.Tensor, s: float | torch.Tensor = 1.0, v: float | torch.Tensor = 1.0) -> torch.Tensor:
    """Hue in [0, 1) -> RGB (..., 3)."""
    k = torch.stack([(5 + h * 6) % 6, (3 + h * 6) % 6, (1 + h * 6) % 6], -1)
    v = torch.as_tensor(v, dtype=torch.float32)
    s = torch.as_tensor(s, dtype=torch.float32)
    return v[..., None] - v[..., None] * s[..., None] * torch.clamp(torch.minimum(k, 4 - k), 0, 1)


def _grid(h: int, w: int):
    y = torch.linspace(-1, 1, h)[:, None].expand(h, w)
    x = torch.linspace(-1, 1, w)[None, :].expand(h, w)
    return y, x


def _smooth_onset(f: AudioFeatures, decay: float = 0.75) -> torch.Tensor:
    out, level = torch.zeros_like(f.onset), 0.0
    for i, v in enumerate(f.onset.tolist()):
        level = max(v, level * decay)
        out[i] = level
    return out


@register("spectrum_bars")
def spectrum_bars(f: AudioFeatures, size=(128, 128), seed: int = 0) -> torch.Tensor:
    h, w = size
    t, bands = f.mel.shape
    col_band = (torch.arange(w) * bands // w).clamp(max=bands - 1)
    heights = f.mel[:, col_band].clamp(0, 1)  # (T, W)
    rows = torch.linspace(1, 0, h)[None, :, None]  # top = 1
    on = (rows <= heights[:, None, :]).float()  # (T, H, W)
    colour = hsv((col_band.float() / bands + seed * 0.137) % 1, 0.8, 1.0)  # (W, 3)
    return (on[:, None] * colour.T[None, :, None, :]).clamp(0, 1)


@register("beat_pulse")
def beat_pulse(f: AudioFeatures, size=(128, 128), seed: int = 0) -> torch.Tensor:
    h, w = size
    y, x = _grid(h, w)
    r = (y**2 + x**2).sqrt()
    env = _smooth_onset(f)
    radius = 0.2 + 0.6 * env  # (T,)
    beats = torch.cumsum((f.onset > 0.5).float(), 0)
    hue = (beats * 0.13 + seed * 0.21) % 1
    disc = torch.sigmoid((radius[:, None, None] - r[None]) * 30)  # (T, H, W)
    colour = hsv(hue, 0.7, 0.4 + 0.6 * env)  # (T, 3)
    glow = 0.15 * f.rms[:, None, None].clamp(0, 1) * 4 * torch.exp(-r[None] * 2)
    return (disc[:, None] * colour[:, :, None, None] + glow[:, None]).clamp(0, 1)


@register("particles")
def particles(f: AudioFeatures, size=(128, 128), seed: int = 0, count: int = 48) -> torch.Tensor:
    h, w = size
    t = len(f.rms)
    g = torch.Generator().manual_seed(seed)
    theta0 = torch.rand(count, generator=g) * 2 * math.pi
    speed = 0.5 + torch.rand(count, generator=g)
    base_r = 0.2 + 0.6 * torch.rand(count, generator=g)
    hue = torch.rand(count, generator=g)
    loud = (f.rms * 6).clamp(0, 1)
    theta = theta0[None] + torch.cumsum(loud, 0)[:, None] * speed[None] * 0.35  # (T, N)
    radius = base_r[None] * (0.7 + 0.6 * loud[:, None])
    py = ((radius * torch.sin(theta) + 1) / 2 * (h - 1)).round().long().clamp(0, h - 1)
    px = ((radius * torch.cos(theta) + 1) / 2 * (w - 1)).round().long().clamp(0, w - 1)
    frames = torch.zeros(t, 3, h, w)
    colour = hsv(hue, 0.8, 1.0)  # (N, 3)
    ti = torch.arange(t)[:, None].expand(t, count)
    for c in range(3):
        frames[:, c].index_put_((ti, py, px), colour[None, :, c].expand(t, count) * (0.4 + 0.6 * loud[:, None]),
                                accumulate=True)
    kernel = torch.tensor([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])[None, None].repeat(3, 1, 1, 1)
    return torch.nn.functional.conv2d(frames, kernel, padding=1, groups=3).clamp(0, 1)


@register("oscilloscope")
def oscilloscope(f: AudioFeatures, size=(128, 128), seed: int = 0) -> torch.Tensor:
    h, w = size
    samples = f.wave_frames  # (T, S)
    idx = torch.linspace(0, samples.shape[1] - 1, w).long()
    y = samples[:, idx]  # (T, W)
    peak = y.abs().amax().clamp_min(1e-6)
    row = ((1 - (y / peak * 0.9 + 1) / 2) * (h - 1))  # (T, W)
    rows = torch.arange(h).float()[None, :, None]
    line = torch.exp(-((rows - row[:, None, :]) ** 2) / 2.0)  # (T, H, W)
    colour = hsv(torch.tensor([(0.33 + seed * 0.11) % 1]), 0.6, 1.0)[0]
    return (line[:, None] * colour[None, :, None, None]).clamp(0, 1)


@register("color_field")
def color_field(f: AudioFeatures, size=(128, 128), seed: int = 0) -> torch.Tensor:
    h, w = size
    y, x = _grid(h, w)
    b = f.mel.shape[1]
    low, mid, high = f.mel[:, : b // 4].mean(1), f.mel[:, b // 4: b // 2].mean(1), f.mel[:, b // 2:].mean(1)
    phase = torch.cumsum(f.rms * 8, 0)  # (T,)
    g = torch.Generator().manual_seed(seed)
    kx, ky = (torch.rand(2, generator=g) * 4 + 2).tolist()
    ripple = torch.sin(kx * x[None] * math.pi + phase[:, None, None]) * torch.sin(ky * y[None] * math.pi - phase[:, None, None])
    base = torch.stack([low, mid, high], 1).clamp(0, 1.2)  # (T, 3)
    return (base[:, :, None, None] * (0.6 + 0.4 * ripple[:, None])).clamp(0, 1)


def render_teacher(name: str, f: AudioFeatures, size=(128, 128), seed: int = 0) -> torch.Tensor:
    if name not in VISUALIZERS:
        raise ValueError(f"unknown visualizer {name!r}; known: {', '.join(VISUALIZERS)}")
    return VISUALIZERS[name](f, size, seed)
