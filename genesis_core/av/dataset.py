"""The infinite data engine: a PyTorch IterableDataset that generates (audio features, teacher frames)
clips on the fly from seeds. Every DataLoader worker and DDP rank draws its own arithmetic progression of
seeds (seed = base + stream + k * streams), so no two streams ever repeat; validation uses a fixed set of
seeds outside the training range. Nothing is stored on disk."""

from __future__ import annotations

from dataclasses import dataclass

from torch.utils.data import IterableDataset, get_worker_info

from genesis_core.av.features import audio_features, feature_matrix
from genesis_core.av.music import generate_track
from genesis_core.av.visualizers import render_teacher

VALIDATION_BASE = 10_000_000  # training seeds stay below this


@dataclass(frozen=True)
class ClipSpec:
    visualizer: str = "beat_pulse"
    seconds: float = 4.0
    fps: float = 24.0
    size: int = 32
    sample_rate: int = 16000
    n_mels: int = 32
    raw_samples: bool = False  # features end with each frame's samples (set by the task for the CLAP encoder)

    @property
    def samples_per_frame(self) -> int:
        return int(round(self.sample_rate / self.fps))


def make_clip(seed: int, spec: ClipSpec):
    """(features (T, F), frames (T, 3, S, S), track)."""
    track = generate_track(seed, spec.seconds, spec.sample_rate)
    f = audio_features(track.wave, spec.sample_rate, spec.fps, spec.n_mels)
    frames = render_teacher(spec.visualizer, f, (spec.size, spec.size), seed=0)
    return feature_matrix(f, spec.raw_samples), frames, track


class ProceduralAVDataset(IterableDataset):
    def __init__(self, spec: ClipSpec, base_seed: int = 0, rank: int = 0, world_size: int = 1,
                 start_batches: int = 0, batch_size: int = 1):
        self.spec, self.base_seed, self.rank, self.world_size = spec, base_seed, rank, world_size
        self.start_batches, self.batch_size = start_batches, batch_size  # batches already drawn (resume)

    def seeds(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        streams = self.world_size * workers
        stream = self.rank * workers + worker
        # a DataLoader takes whole batches from its workers in turn: worker w made ceil((B - w) / workers)
        k = max(0, -(-(self.start_batches - worker) // workers)) * self.batch_size
        while True:
            yield self.base_seed + stream + k * streams
            k += 1

    def __iter__(self):
        for seed in self.seeds():
            features, frames, _ = make_clip(seed, self.spec)
            yield features, frames


def validation_clips(spec: ClipSpec, count: int = 4):
    return [make_clip(VALIDATION_BASE + i, spec) for i in range(count)]
