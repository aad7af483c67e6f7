"""The `audio_to_video` task: AudioToVideoNet learns a teacher visualizer from the infinite procedural
stream; evaluated on fixed validation seeds against the teacher (PSNR), the mean-frame baseline, and
audio-visual sync with its shuffled-audio control; previews are mp4s with sound."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from genesis_core.av.clips import ClipLibrary, ClipsAVDataset, load_library, validation_windows
from genesis_core.av.dataset import ClipSpec, ProceduralAVDataset, validation_clips
from genesis_core.av.model import AudioToVideoConfig, AudioToVideoNet
from genesis_core.av.sync import av_align
from genesis_core.registry import TASKS
from genesis_core.training.callbacks import Callback
from genesis_core.training.task import TaskConfigBase, TrainerConfig, TrainingTask
from genesis_core.vision.images import psnr_from_mse


@dataclass(frozen=True)
class AVDataConfig:
    clip: ClipSpec = field(default_factory=ClipSpec)
    batch_size: int = 8
    workers: int = 2  # DataLoader worker processes generating clips (0: in the training process)
    validation_clips: int = 4  # validation windows (procedural clips, or windows of the held-out clips)
    source: Literal["procedural", "clips", "both"] = "procedural"  # the procedural teachers, your own clips (videos
    # with sound: their frames are the teacher), or both, half the training windows each
    clips: str = ""  # source clips/both: a folder of video files with sound (mp4, mov, mkv, webm, avi, m4v)
    holdout: float = 0.2  # source clips/both: the share of whole clips held out for validation (at least one)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.workers < 0 or self.validation_clips < 1:
            raise ValueError("batch_size and validation_clips must be at least 1, workers at least 0")
        if self.source != "procedural" and not self.clips:
            raise ValueError(f"data.source {self.source} needs data.clips: a folder of videos with sound")
        if not 0 < self.holdout < 1:
            raise ValueError("data.holdout must be between 0 and 1")


@dataclass(frozen=True)
class AudioToVideoTaskConfig(TaskConfigBase):
    task: str = "audio_to_video"
    data: AVDataConfig = field(default_factory=AVDataConfig)
    model: AudioToVideoConfig = field(default_factory=AudioToVideoConfig)
    colour_weight: float = 30.0  # the colour term beside the pixels' cross-entropy (0: pixels only; bench/av_lab.py)
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(steps=600, lr=2e-3, eval_every=200,
                                                                          checkpoint_every=200, preview_every=200))


class StreamLoader:
    """Resumable batches from an endless dataset (the procedural one, or windows of your clips); measures how long
    each step waits for data."""

    def __init__(self, cfg: AVDataConfig, seed: int, rank: int, world_size: int, device: torch.device,
                 library: ClipLibrary | None = None):
        self.cfg, self.seed, self.rank, self.world_size, self.device = cfg, seed, rank, world_size, device
        self.library = library
        self.batches = 0
        self._iter: Any = None
        self.waited = 0.0
        self._last_return: float | None = None
        self.wait_share = 0.0

    def _start(self) -> None:
        ds: ProceduralAVDataset | ClipsAVDataset
        if self.library is None:
            ds = ProceduralAVDataset(self.cfg.clip, self.seed * 100_003, self.rank, self.world_size, self.batches,
                                     self.cfg.batch_size)
        else:
            ds = ClipsAVDataset(self.library.train, self.cfg.clip, self.seed, self.rank, self.world_size, self.batches,
                                procedural_share=0.5 if self.cfg.source == "both" else 0.0)
        self._iter = iter(DataLoader(ds, batch_size=self.cfg.batch_size, num_workers=self.cfg.workers,
                                     persistent_workers=self.cfg.workers > 0,
                                     prefetch_factor=4 if self.cfg.workers > 0 else None))

    def next_batch(self):
        if self._iter is None:
            self._start()
        t0 = time.perf_counter()
        features, frames = next(self._iter)
        now = time.perf_counter()
        wait = now - t0
        if self._last_return is not None:
            step = now - self._last_return
            self.wait_share = 0.9 * self.wait_share + 0.1 * (wait / step) if self.batches > 1 else wait / step
        self._last_return = now
        self.batches += 1
        return features.to(self.device), frames.to(self.device)

    def state_dict(self) -> dict[str, Any]:
        return {"batches": self.batches}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.batches = int(state["batches"])
        self._iter = None


def chroma(frames: torch.Tensor) -> torch.Tensor:
    """(T, 3, H, W) -> (T, 3): each frame's mean colour less its grey level (what is left of a grey frame is 0)."""
    mean = frames.float().mean((2, 3))
    return mean - mean.mean(1, keepdim=True)


def chromaticity(frames: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) -> (..., 3): the mean colour's share of each channel, r / (r + g + b), whatever the brightness
    (a dark frame's share is damped towards 0 rather than undefined)."""
    mean = frames.mean((-2, -1))
    return mean / (mean.sum(-1, keepdim=True) + 0.05)


def colour_loss(pred: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """The frames' colour, apart from their brightness: squared error of the mean colour's chromaticity. Pixel
    cross-entropy alone lets a model that cannot tell which hue comes draw the average of them all, grey; the
    colour's share of the loss is too small to pull it off that mean (a measured 0.0206 colour error, a grey video's
    own, without this term)."""
    return F.mse_loss(chromaticity(pred.float()), chromaticity(teacher.float()))


def colour_scores(pred: torch.Tensor, teacher: torch.Tensor) -> dict[str, float]:
    """colour_error: mean absolute difference of the frames' chroma (pixel units, 0..1); grey_colour_error: the
    same for a grey video of any brightness (the control a model without colour scores); sharpness_ratio: root
    mean square spatial gradient of the prediction over the teacher's (1 is as sharp, below 1 blurred; a blur keeps
    the mean absolute gradient of an edge and spreads it, so the square is what tells)."""
    def grad(x):
        x = x.float()
        return ((x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean()).sqrt()

    target = chroma(teacher)
    return {"colour_error": float((chroma(pred) - target).abs().mean()),
            "grey_colour_error": float(target.abs().mean()),
            "sharpness_ratio": float(grad(pred) / grad(teacher).clamp_min(1e-8))}


def clip_scores(pred: torch.Tensor, teacher: torch.Tensor, onset: np.ndarray, other_onset: np.ndarray,
                mean_frame: torch.Tensor) -> dict[str, float]:
    """One clip's scores against its teacher, with their baselines and controls: squared error (and the mean
    frame's), colour and sharpness (colour_scores), AV-Align of the prediction with its own audio, with another
    track's (shuffled) and the teacher's own."""
    return {"mse": float(((pred - teacher) ** 2).mean()), "mean_frame_mse": float(((mean_frame[None] - teacher) ** 2).mean()),
            **colour_scores(pred, teacher), "av_align": av_align(onset, pred),
            "shuffled_av_align": av_align(other_onset[: len(pred)], pred), "teacher_av_align": av_align(onset, teacher)}


class ClipsReport(Callback):
    """The clips a run trains on, as an event at its start: how many train, how many are held out, which were
    skipped and why."""

    def __init__(self, task: "AudioToVideoTask"):
        self.task = task

    def on_train_start(self, trainer, resumed_from) -> None:
        library = self.task.library
        if library is not None:
            trainer.log_event("clips", library.summary(), **library.counts())


@TASKS.register("audio_to_video")
class AudioToVideoTask(TrainingTask):
    config_cls = AudioToVideoTaskConfig
    title = "Audio to video"
    description = ("Learn a visualizer from endless procedural music, or from your own clips (their frames are the "
                   "teacher): render video for any audio, with sound.")

    @classmethod
    def saved_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Saved before the phase accumulators and the colour term: a model without either."""
        model = config.get("model")
        if isinstance(model, dict) and "phase_channels" not in model:
            config = {**config, "model": {**model, "phase_channels": 0}}
        if "colour_weight" not in config:
            config = {**config, "colour_weight": 0.0}
        return config

    def __init__(self, config: AudioToVideoTaskConfig, device: torch.device):
        super().__init__(config, device)
        self.loader: StreamLoader | None = None
        self._val = None
        self._library: ClipLibrary | None = None
        clip = replace(config.data.clip, raw_samples=config.model.audio_encoder == "clap")
        self.data = replace(config.data, clip=clip)  # the data as the model hears it

    @property
    def n_features(self) -> int:
        clip = self.data.clip
        return clip.n_mels + 2 + (clip.samples_per_frame if clip.raw_samples else 0)

    def build_model(self) -> AudioToVideoNet:
        clip = self.data.clip
        return AudioToVideoNet(self.config.model, self.n_features, clip.size, clip.samples_per_frame, clip.sample_rate)

    @property
    def library(self) -> ClipLibrary | None:
        """Your clips, decoded on first use (never when a saved model is only loaded to render); None for the
        procedural source."""
        if self.data.source == "procedural":
            return None
        if self._library is None:
            self._library = load_library(self.data.clips, self.data.clip, self.data.holdout, seed=0, log=print)
        return self._library

    def build_loader(self, rank: int = 0, world_size: int = 1) -> StreamLoader:
        self.loader = StreamLoader(self.data, self.config.trainer.seed, rank, world_size, self.device, self.library)
        return self.loader

    def callbacks(self) -> list:
        return [ClipsReport(self)]

    def training_step(self, model: nn.Module, batch: Any):
        features, frames = batch
        logits = model(features, logits=True).float()
        # binary cross-entropy on logits: pixels in [0, 1] keep a gradient where a sigmoid would saturate
        pixels = F.binary_cross_entropy_with_logits(logits, frames)
        colour = colour_loss(torch.sigmoid(logits), frames)
        logs = {"data_wait_share": torch.tensor(self.loader.wait_share if self.loader else 0.0),
                "pixel_loss": pixels.detach(), "colour_loss": colour.detach()}
        return pixels + self.config.colour_weight * colour, logs

    def validation(self):
        if self._val is None:
            if self.library is None:
                self._val = validation_clips(self.data.clip, self.data.validation_clips)
            else:  # windows of the held-out clips: footage the model never trains on
                self._val = validation_windows(self.library, self.data.clip, self.data.validation_clips)
        return self._val

    @torch.no_grad()
    def evaluate(self, model: nn.Module) -> dict[str, float]:
        val = self.validation()
        mean_frame = torch.stack([frames.mean(0) for _, frames, _ in val]).mean(0)
        scores: dict[str, list[float]] = {}
        for i, (features, frames, track) in enumerate(val):
            pred = model(features[None].to(self.device))[0].float().cpu()
            # the control: another window's audio (one window: its own audio played backwards)
            other = val[(i + 1) % len(val)][0][:, -1].numpy() if len(val) > 1 else features[:, -1].numpy()[::-1].copy()
            for key, value in clip_scores(pred, frames, features[:, -1].numpy(), other, mean_frame).items():
                scores.setdefault(key, []).append(value)
        out = {key: float(np.mean(v)) for key, v in scores.items() if not key.endswith("mse")}
        return {"psnr_db": psnr_from_mse(float(np.mean(scores["mse"]))),
                "mean_frame_psnr_db": psnr_from_mse(float(np.mean(scores["mean_frame_mse"]))), **out}

    @torch.no_grad()
    def preview(self, model: nn.Module) -> dict[str, Any]:
        from genesis_core.av.render import encode_mp4

        features, frames, track = self.validation()[0]
        pred = model(features[None].to(self.device))[0].float().cpu()
        side = torch.cat([pred, frames], dim=3)  # model | teacher
        side = F.interpolate(side, scale_factor=max(1, 128 // side.shape[-2]), mode="nearest")
        return {"validation.mp4": encode_mp4(side, self.config.data.clip.fps, track.wave, track.sample_rate)}

    def checkpoint_meta(self) -> dict[str, Any]:
        c = self.config.data.clip
        meta = {"components": ["audio_encoder", "bridge", "video_decoder"],
                "visualizer": c.visualizer if self.data.source == "procedural" else f"clips ({self.data.source})",
                "fps": c.fps, "size": c.size, "sample_rate": c.sample_rate, "n_mels": c.n_mels}
        if self.library is not None:
            meta["clips"] = self.library.counts()
        return meta
