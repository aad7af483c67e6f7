"""Audio-visual synchrony, with the controls that keep a score honest.

  onsets          audio onsets: peaks of the onset-strength envelope (above mean + k·std, ≥ 2 frames apart)
  motion peaks    peaks of visual motion (mean absolute difference between consecutive frames)
  av_align        AV-Align style: audio onsets and motion peaks matched within `tolerance` frames,
                  score = matched / (audio + visual - matched) (an intersection over union)
  event F1        motion peaks against the generator's known drum onsets (precision, recall, F1)
  best lag        the lag (frames) that maximises the cross-correlation of the audio onset envelope and
                  the motion envelope
Controls: the teacher visualizer's own video (the reference the model imitates), the same video against another track's audio
(shuffled), and the video shifted by growing offsets: the score must fall as the offset grows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def peaks(x: np.ndarray, k: float = 1.0, min_gap: int = 2) -> np.ndarray:
    """Indices of the peaks of `x` above mean + k·std, at least `min_gap` apart (the higher one is kept)."""
    from scipy.signal import find_peaks

    x = np.asarray(x, dtype=np.float64)
    if len(x) < 3:
        return np.zeros(0, dtype=int)
    found, _ = find_peaks(x, height=x.mean() + k * x.std() + 1e-12, distance=max(1, min_gap))
    return found.astype(int)


def motion(frames: torch.Tensor) -> np.ndarray:
    """(T, 3, H, W) -> (T,) mean absolute change from the previous frame (0 for the first)."""
    d = (frames[1:].float() - frames[:-1].float()).abs().flatten(1).mean(1)
    return np.concatenate([[0.0], d.numpy()])


def _match(a: np.ndarray, b: np.ndarray, tolerance: int) -> int:
    used, hits = set(), 0
    for i in a:
        cands = [j for j in np.flatnonzero(np.abs(b - i) <= tolerance) if j not in used]
        if cands:
            used.add(min(cands, key=lambda j: abs(b[j] - i)))
            hits += 1
    return hits


def av_align(audio_onset: np.ndarray, frames: torch.Tensor, tolerance: int = 1) -> float:
    a, v = peaks(audio_onset), peaks(motion(frames))
    if len(a) == 0 and len(v) == 0:
        return 0.0
    m = _match(a, v, tolerance)
    return m / (len(a) + len(v) - m)


def event_f1(event_times: np.ndarray, frames: torch.Tensor, fps: float, tolerance: int = 1) -> dict[str, float]:
    truth = np.unique(np.round(np.asarray(event_times) * fps).astype(int))
    v = peaks(motion(frames))
    m = _match(truth, v, tolerance)
    p = m / len(v) if len(v) else 0.0
    r = m / len(truth) if len(truth) else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def best_lag(audio_onset: np.ndarray, frames: torch.Tensor, max_lag: int = 12) -> int:
    """Positive: the video lags the audio by that many frames."""
    a = np.asarray(audio_onset, dtype=np.float64)
    v = motion(frames)
    a, v = a - a.mean(), v - v.mean()
    best, arg = -np.inf, 0
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            c = float(np.dot(a[: len(a) - lag], v[lag:]))
        else:
            c = float(np.dot(a[-lag:], v[: len(v) + lag]))
        if c > best:
            best, arg = c, lag
    return arg


def shift(frames: torch.Tensor, offset: int) -> torch.Tensor:
    """The video delayed by `offset` frames (the first frame repeated)."""
    if offset <= 0:
        return frames
    return torch.cat([frames[:1].expand(offset, *frames.shape[1:]), frames[:-offset]])


def sync_report(audio_onset: np.ndarray, frames: torch.Tensor, fps: float, events: np.ndarray | None = None,
                shuffled_onset: np.ndarray | None = None, offsets=(2, 4, 8)) -> dict:
    """The score of a video with its controls: shuffled audio and growing offsets."""
    out: dict[str, Any] = {"av_align": av_align(audio_onset, frames), "best_lag_frames": best_lag(audio_onset, frames)}
    if events is not None:
        out["event_f1"] = event_f1(events, frames, fps)["f1"]
    if shuffled_onset is not None:
        n = min(len(shuffled_onset), len(frames))
        out["shuffled_audio_av_align"] = av_align(shuffled_onset[:n], frames[:n])
    out["offset_av_align"] = {int(o): av_align(audio_onset, shift(frames, o)) for o in offsets}
    return out
