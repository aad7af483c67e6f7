"""AudioToVideoNet from swappable parts chosen in the config:

  audio encoder   "mel_cnn": temporal 1-D convolutions over per-frame mel features; "clap": LAION-CLAP's
                  HTS-AT audio encoder, frozen, over the frames' samples, beside a MelCNN (av/clap.py)
  bridge          "none", "gru" (bidirectional) or "transformer" over the frame sequence
  phase           `phase_channels` learned accumulators: each frame adds a non-negative rate read off its code to
                  a running phase, and the sine and cosine of every phase join the code. A visualizer whose colour
                  steps on every beat, or whose ripples advance with the loudness, is a function of such a running
                  sum; a recurrent net trained on 4 s clips regresses to the mean colour (a grey disc) instead.
  video decoder   "conv": a linear map to a 4x4 grid, then transposed-conv upsampling to the frame size
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from genesis_core.registry import MODELS

RENDER_CONTEXT = 400  # frames of context on each side of a render chunk (17 s at 24 fps). The shipped model's
# bidirectional GRU hears about 200 frames, and its fastest phase turns 0.44 of a circle per frame, so a small
# change in a rate adds up: against one pass over 40 s, 192 frames of context left 0.12 of the pixel range at worst,
# 400 leave 0.05 (mean 0.001)


@dataclass(frozen=True)
class AudioToVideoConfig:
    audio_encoder: Literal["mel_cnn", "clap"] = "mel_cnn"
    bridge: Literal["none", "gru", "transformer"] = "gru"
    video_decoder: Literal["conv"] = "conv"
    width: int = 128  # channels of the per-frame code
    decoder_channels: int = 32
    clap_weights: str = ""  # the "clap" encoder's weights: a local 630k-best.pt / .safetensors, or "random"
    phase_channels: int = 8  # running-phase accumulators (0: none, as models saved before they existed)

    def __post_init__(self) -> None:
        if self.width < 8 or self.decoder_channels < 4:
            raise ValueError("width must be at least 8 and decoder_channels at least 4")
        if not 0 <= self.phase_channels <= 64:
            raise ValueError("phase_channels must be between 0 and 64")


class MelCNN(nn.Module):
    def __init__(self, features: int, width: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(features, width, 5, padding=2), nn.GELU(),
                                 nn.Conv1d(width, width, 5, padding=2), nn.GELU())

    def forward(self, x):  # (B, T, F) -> (B, T, W)
        return self.net(x.transpose(1, 2)).transpose(1, 2)


class Bridge(nn.Module):
    def __init__(self, kind: str, width: int):
        super().__init__()
        self.kind = kind
        if kind == "gru":
            self.rnn = nn.GRU(width, width // 2, batch_first=True, bidirectional=True)
        elif kind == "transformer":
            self.pos = nn.Parameter(torch.zeros(1, 1024, width))
            layer = nn.TransformerEncoderLayer(width, 4, 2 * width, batch_first=True, dropout=0.0)
            self.tf = nn.TransformerEncoder(layer, 2)

    def forward(self, h):
        if self.kind == "gru":
            return h + self.rnn(h)[0]
        if self.kind == "transformer":
            return self.tf(h + self.pos[:, : h.shape[1]])
        return h


class PhaseAccumulator(nn.Module):
    """phase_t = offset + sum over frames s <= t of 0.5 sigmoid(rate(h_s)), in turns; the code gains
    out([sin 2 pi phase, cos 2 pi phase]). Rates start between 0.001 and 0.06 turns per frame (a phase that turns
    about once a minute, one that turns every 2 s), the output at zero (an untrained accumulator changes nothing)."""

    def __init__(self, width: int, channels: int):
        super().__init__()
        self.rate = nn.Linear(width, channels)
        self.out = nn.Linear(2 * channels, width)
        with torch.no_grad():
            self.rate.weight.mul_(0.1)
            self.rate.bias.copy_(torch.linspace(-6.0, -2.0, channels))
            self.out.weight.zero_()
            self.out.bias.zero_()

    def rates(self, h: torch.Tensor) -> torch.Tensor:
        return 0.5 * torch.sigmoid(self.rate(h))  # (B, T, P) turns per frame, at most half a turn: a step per beat

    def mix(self, h: torch.Tensor, rate: torch.Tensor, offset: torch.Tensor | None = None) -> torch.Tensor:
        phase = torch.cumsum(rate, 1)
        if offset is not None:
            phase = phase + offset
        phase = phase - phase.detach().floor()  # whole turns dropped: float32 keeps its precision on long tracks
        angle = 2 * math.pi * phase
        return h + self.out(torch.cat([angle.sin(), angle.cos()], -1))

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rate = self.rates(h)
        return self.mix(h, rate), rate


class ConvVideoDecoder(nn.Module):
    def __init__(self, width: int, channels: int, size: int):
        super().__init__()
        self.size = size
        ups = max(1, int(math.log2(size // 4)))
        self.fc = nn.Linear(width, channels * 16)
        layers = []
        for _ in range(ups):
            layers += [nn.ConvTranspose2d(channels, channels, 4, 2, 1), nn.GELU()]
        self.up = nn.Sequential(*layers)
        self.out = nn.Conv2d(channels, 3, 3, padding=1)
        self.channels = channels

    def forward(self, h):  # (B, T, W) -> (B, T, 3, S, S)
        b, t, _ = h.shape
        x = self.fc(h.reshape(b * t, -1)).view(b * t, self.channels, 4, 4)
        x = self.out(self.up(x))
        if x.shape[-1] != self.size:
            x = nn.functional.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return x.view(b, t, 3, self.size, self.size)  # logits


@MODELS.register("audio_to_video")
class AudioToVideoNet(nn.Module):
    def __init__(self, cfg: AudioToVideoConfig, features: int, size: int, samples_per_frame: int = 0,
                 sample_rate: int = 16000):
        super().__init__()
        self.samples_per_frame = samples_per_frame if cfg.audio_encoder == "clap" else 0  # raw samples it needs
        if cfg.audio_encoder == "clap":
            from genesis_core.av.clap import ClapEncoder

            mel = MelCNN(features - samples_per_frame, cfg.width)
            self.audio_encoder: nn.Module = ClapEncoder(cfg.clap_weights, mel, samples_per_frame, sample_rate,
                                                        cfg.width)
        else:
            self.audio_encoder = MelCNN(features, cfg.width)
        self.bridge = Bridge(cfg.bridge, cfg.width)
        self.phase = PhaseAccumulator(cfg.width, cfg.phase_channels) if cfg.phase_channels else None
        self.video_decoder = ConvVideoDecoder(cfg.width, cfg.decoder_channels, size)

    def forward(self, features, logits: bool = False):  # (B, T, F) -> (B, T, 3, S, S) in [0, 1] (or logits)
        h = self.bridge(self.audio_encoder(features))
        if self.phase is not None:
            h = self.phase(h)[0]
        out = self.video_decoder(h)
        return out if logits else torch.sigmoid(out)

    @torch.no_grad()
    def render(self, features: torch.Tensor, chunk: int = 480, context: int = RENDER_CONTEXT,
               progress=None) -> torch.Tensor:
        """A whole track (T, F) -> frames (T, 3, S, S), in chunks of `chunk` frames, each computed with `context`
        frames of the track on either side (then dropped), so the bridge carries the music across a chunk's edge:
        a long render has no seam where one chunk ends and the next begins. The running phases carry on from the
        rates of the frames before the chunk (kept from the chunks already rendered), as in one pass."""
        out = []
        t = len(features)
        device = next(self.parameters()).device
        kept_rates = None if self.phase is None else torch.zeros(t, self.phase.rate.out_features, dtype=torch.float64)
        for start in range(0, t, chunk):
            end = min(t, start + chunk)
            lo, hi = max(0, start - context), min(t, end + context)
            h = self.bridge(self.audio_encoder(features[None, lo:hi].to(device)))
            # anchored at the chunk's first frame: the phase the frames before it reached
            if self.phase is not None and kept_rates is not None:
                rate = self.phase.rates(h)
                before = kept_rates[:start].sum(0) - rate[0, :start - lo].double().cpu().sum(0)
                h = self.phase.mix(h, rate, (before % 1.0).float().to(device))
                kept_rates[start:end] = rate[0, start - lo:end - lo].double().cpu()
            window = torch.sigmoid(self.video_decoder(h))[0].float().cpu()
            out.append(window[start - lo:end - lo])
            if progress:
                progress(end / t)
        return torch.cat(out)
