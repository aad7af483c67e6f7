"""Audio features at the video frame rate: log-mel bands, RMS and an onset-strength envelope (positive
spectral flux), one row per video frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class AudioFeatures:
    mel: torch.Tensor  # (T, n_mels) log-mel, roughly in [0, 1]
    rms: torch.Tensor  # (T,)
    onset: torch.Tensor  # (T,) onset strength, >= 0, normalised to max 1
    wave_frames: torch.Tensor  # (T, samples_per_frame) raw samples of each frame (oscilloscope)
    fps: float


_MEL: dict = {}


def audio_features(wave: np.ndarray | torch.Tensor, sample_rate: int, fps: float, n_mels: int = 32) -> AudioFeatures:
    """Features of each video frame i, from the audio between i/fps and (i+1)/fps exactly: a 10 ms mel
    spectrogram is averaged over each frame's span, so frame timing never drifts on long tracks."""
    import torchaudio

    x = torch.as_tensor(wave, dtype=torch.float32).flatten()
    frames = max(1, int(round(len(x) * fps / sample_rate)))
    hop = max(1, sample_rate // 100)
    key = (sample_rate, hop, n_mels)
    if key not in _MEL:
        with torch.device("cpu"):  # never a meta-device transform in the cache (models' shape checks use meta)
            _MEL[key] = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=max(512, 4 * hop), hop_length=hop,
                                                             n_mels=n_mels, center=True, power=2.0)
    power = _MEL[key](x).T  # (T_10ms, n_mels)
    edges = np.floor(np.arange(frames + 1) * sample_rate / fps / hop).astype(int)
    edges = np.clip(edges, 0, len(power) - 1)
    ends = np.maximum(edges[1:], edges[:-1] + 1)
    cum = torch.cat([torch.zeros(1, n_mels), power.cumsum(0)])
    lo, hi = torch.as_tensor(edges[:-1]), torch.as_tensor(np.minimum(ends, len(power)))
    spec = (cum[hi] - cum[lo]) / (hi - lo).clamp_min(1)[:, None]
    mel = ((torch.log10(spec + 1e-6) + 6) / 6).clamp(0, 1.5)  # about [0, 1]
    flux = torch.relu(mel[1:] - mel[:-1]).sum(1)
    onset = torch.cat([torch.zeros(1), flux])  # one frame has no flux: its onset is 0
    onset = onset / onset.max().clamp_min(1e-6)
    per = int(round(sample_rate / fps))
    starts = np.floor(np.arange(frames) * sample_rate / fps).astype(int)
    padded = torch.nn.functional.pad(x, (0, per + 1))
    xs = padded[torch.as_tensor(starts)[:, None] + torch.arange(per)[None]]
    rms = xs.pow(2).mean(1).sqrt()
    return AudioFeatures(mel, rms, onset, xs, fps)


def feature_matrix(f: AudioFeatures, samples: bool = False) -> torch.Tensor:
    """What a network sees per frame: (T, n_mels + 2); with `samples`, each frame's raw samples follow (the CLAP
    encoder hears those): (T, n_mels + 2 + samples per frame)."""
    parts = [f.mel, f.rms[:, None] * 4, f.onset[:, None]]
    return torch.cat(parts + [f.wave_frames] if samples else parts, 1)
