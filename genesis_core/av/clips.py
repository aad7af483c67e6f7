"""Your own clips as training pairs: a folder (or a zip) of videos with sound, decoded by torchcodec into frames at
the model's size and rate and audio at its sample rate, then served as random windows of the clip length, beside or
instead of the procedural teachers. The frames of a clip are its teacher: the model learns to draw what the camera
saw from what the microphone heard.

Files that cannot be read, have no sound, are silent or are shorter than one window are skipped and counted (with
the reason); whole clips, not windows, are held out for validation, so a validation score is on footage the model
never saw.
"""

from __future__ import annotations

import math
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import IterableDataset, get_worker_info

from genesis_core.av.dataset import ClipSpec, make_clip
from genesis_core.av.features import audio_features, feature_matrix
from genesis_core.errors import WorkbenchError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")
MAX_CLIP_SECONDS = 600.0  # longer files are decoded up to here
MAX_ZIP_BYTES = 2 << 30  # what an uploaded zip may unpack to
SILENT_RMS = 1e-3  # a clip whose sound stays below this (-60 dBFS) has nothing to learn from
DECODE_CHUNK = 64  # frames decoded at full size at a time, then shrunk


class ClipError(WorkbenchError):
    """A clip folder or zip that cannot give training pairs; a single file's problem is a skip, not this."""


@dataclass(frozen=True)
class Sound:
    """A clip's audio as the previews and the sync scores use it (the procedural Track's two fields)."""

    wave: np.ndarray
    sample_rate: int


@dataclass
class DecodedClip:
    name: str
    frames: torch.Tensor  # (T, 3, size, size) uint8 at spec.fps
    wave: np.ndarray  # (T * sample_rate / fps,) float32 mono at spec.sample_rate


@dataclass
class ClipLibrary:
    train: list[DecodedClip]
    validation: list[DecodedClip]
    skipped: dict[str, str] = field(default_factory=dict)  # file name -> why

    def summary(self) -> str:
        text = f"{len(self.train)} clips for training, {len(self.validation)} held out for validation"
        if self.skipped:
            text += f"; skipped {len(self.skipped)}: " + "; ".join(f"{k} ({v})" for k, v in self.skipped.items())
        return text

    def counts(self) -> dict:
        return {"train": len(self.train), "validation": len(self.validation), "skipped": dict(self.skipped),
                "train_frames": sum(len(c.frames) for c in self.train)}


def _square(frames: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 3, H, W) uint8 -> (N, 3, size, size) uint8: the centre square, area-averaged down (or up)."""
    _, _, h, w = frames.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = frames[:, :, top:top + side, left:left + side].float()
    mode = "area" if side >= size else "bilinear"
    out = F.interpolate(crop, size=(size, size), mode=mode, **({} if mode == "area" else {"align_corners": False}))
    return out.round().clamp(0, 255).to(torch.uint8)


def decode_clip(path: Path, spec: ClipSpec) -> DecodedClip:
    """One video file as frames at spec.fps (the frame shown at each instant) and mono audio at spec.sample_rate,
    cut to the same length. A file that cannot give a training window raises ClipError with the reason."""
    from torchcodec.decoders import AudioDecoder, VideoDecoder

    try:
        video = VideoDecoder(str(path), dimension_order="NCHW", seek_mode="approximate")
        meta = video.metadata
        duration = meta.duration_seconds or meta.duration_seconds_from_header
    except Exception:
        raise ClipError("not a readable video") from None
    try:
        audio = AudioDecoder(str(path), sample_rate=spec.sample_rate, num_channels=1).get_all_samples().data[0]
    except Exception:
        raise ClipError("no sound track") from None
    duration = min(float(duration or 0.0), len(audio) / spec.sample_rate, MAX_CLIP_SECONDS)
    n = int(math.floor(duration * spec.fps))
    if n < int(round(spec.seconds * spec.fps)):
        raise ClipError(f"shorter than one {spec.seconds:g} s window")
    times = (torch.arange(n, dtype=torch.float64) + 0.5) / spec.fps
    chunks = []
    try:
        for i in range(0, n, DECODE_CHUNK):
            chunks.append(_square(video.get_frames_played_at(times[i:i + DECODE_CHUNK].tolist()).data[:, :3],
                                  spec.size))
    except Exception:
        raise ClipError("its frames could not be decoded") from None
    frames = torch.cat(chunks)
    samples = int(round(n * spec.sample_rate / spec.fps))
    wave = torch.nn.functional.pad(audio.float(), (0, max(0, samples - len(audio))))[:samples].numpy()
    if float(np.sqrt(np.mean(wave ** 2))) < SILENT_RMS:
        raise ClipError("silent")
    if frames.shape[1] == 1:  # a grey video
        frames = frames.expand(-1, 3, -1, -1).contiguous()
    return DecodedClip(path.name, frames, wave.astype(np.float32))


def clip_files(source: Path) -> list[Path]:
    if not source.exists():
        raise ClipError(f"{source} does not exist: give a folder of videos with sound (or a zip of them)")
    if source.is_file():
        raise ClipError(f"{source} is a file: unpack a zip with `unpack_clips_zip` first, or give a folder")
    return sorted(p for p in source.rglob("*") if p.is_file() and not p.name.startswith("."))


def load_library(source: str | Path, spec: ClipSpec, holdout: float = 0.2, seed: int = 0,
                 log: Callable[[str], None] = lambda line: None) -> ClipLibrary:
    """Decode every video under `source` and hold out a share of whole clips (at least one when there are two or
    more usable clips) for validation; everything skipped is counted with its reason."""
    files = clip_files(Path(source).expanduser())
    clips, skipped = [], {}
    for i, path in enumerate(files):
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            skipped[path.name] = f"not a video ({path.suffix or 'no suffix'})"
            continue
        log(f"decoding clip {i + 1}/{len(files)}: {path.name}")
        try:
            clips.append(decode_clip(path, spec))
        except ClipError as exc:
            skipped[path.name] = str(exc)
    if not clips:
        reasons = "; ".join(f"{k}: {v}" for k, v in list(skipped.items())[:5]) or "the folder is empty"
        raise ClipError(f"no usable clip in {source} ({reasons}); a clip is a video with sound at least "
                        f"{spec.seconds:g} s long")
    order = np.random.default_rng(seed).permutation(len(clips))
    held = min(len(clips) - 1, max(1, int(round(holdout * len(clips))))) if len(clips) > 1 else 0
    validation = [clips[i] for i in sorted(order[:held])]
    train = [clips[i] for i in sorted(order[held:])]
    return ClipLibrary(train, validation or train[:1], skipped)


def _window_audio(clip: DecodedClip, start: int, spec: ClipSpec) -> np.ndarray:
    """The samples under the window of spec.seconds from frame `start`."""
    lo = int(math.floor(start * spec.sample_rate / spec.fps))
    return clip.wave[lo:lo + int(round(round(spec.seconds * spec.fps) * spec.sample_rate / spec.fps))]


def clip_window(clip: DecodedClip, start: int, spec: ClipSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (T, F), frames (T, 3, S, S) float in [0, 1]) of the window of spec.seconds from frame `start`."""
    t = int(round(spec.seconds * spec.fps))
    f = audio_features(_window_audio(clip, start, spec), spec.sample_rate, spec.fps, spec.n_mels)
    return feature_matrix(f, spec.raw_samples)[:t], clip.frames[start:start + t].float() / 255


def validation_windows(library: ClipLibrary, spec: ClipSpec, count: int) -> list:
    """Up to `count` windows from the held-out clips, spread over them (each clip's first, then later ones), as
    (features, frames, Sound) like the procedural validation clips."""
    t = int(round(spec.seconds * spec.fps))
    out = []
    for k in range(count):
        clip = library.validation[k % len(library.validation)]
        start = (k // len(library.validation)) * t
        if start + t > len(clip.frames):
            break
        features, frames = clip_window(clip, start, spec)
        out.append((features, frames, Sound(_window_audio(clip, start, spec), spec.sample_rate)))
    return out


class ClipsAVDataset(IterableDataset):
    """Endless random windows of the training clips; with `procedural_share` > 0 that share of the items are
    procedural teacher clips instead (the two sources side by side). Each DataLoader worker and rank draws from
    its own seeded stream; a resumed run starts new streams (the windows are random, not a fixed sequence)."""

    def __init__(self, clips: list[DecodedClip], spec: ClipSpec, base_seed: int = 0, rank: int = 0,
                 world_size: int = 1, start_batches: int = 0, procedural_share: float = 0.0):
        self.clips, self.spec, self.base_seed, self.rank, self.world_size = clips, spec, base_seed, rank, world_size
        self.start_batches, self.procedural_share = start_batches, procedural_share
        self.window = int(round(spec.seconds * spec.fps))
        self.weights = np.array([len(c.frames) - self.window + 1 for c in clips], dtype=np.float64)
        self.weights /= self.weights.sum()

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        stream = self.rank * workers + worker
        rng = np.random.default_rng([self.base_seed, stream, self.start_batches])
        while True:
            if self.procedural_share and rng.random() < self.procedural_share:
                features, frames, _ = make_clip(int(rng.integers(0, 10_000_000)), self.spec)
                yield features, frames
                continue
            clip = self.clips[int(rng.choice(len(self.clips), p=self.weights))]
            yield clip_window(clip, int(rng.integers(0, len(clip.frames) - self.window + 1)), self.spec)


def store_clips_zip(workspace, data: bytes) -> Path:
    """An uploaded zip's videos in the workspace's uploads/, unpacked once per content (clips-<sha256 prefix>/):
    the folder a clips job reads, the same for the page and `genesis av clips`."""
    import hashlib
    import io

    dest = workspace.upload_path(f"clips-{hashlib.sha256(data).hexdigest()[:12]}")
    if not dest.exists():
        building = dest.with_name(f".{dest.name}.building")
        shutil.rmtree(building, ignore_errors=True)
        try:
            unpack_clips_zip(io.BytesIO(data), building)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        building.rename(dest)  # never a half-unpacked folder under the name a later upload reuses
    return dest


def unpack_clips_zip(archive: str | Path | IO[bytes], dest: Path) -> Path:
    """The videos of a zip into `dest` (flattened, names kept, nothing outside `dest`, at most MAX_ZIP_BYTES in all);
    other members are left out. Returns `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir() and Path(m.filename).suffix.lower() in VIDEO_SUFFIXES
                       and not Path(m.filename).name.startswith(".")]
            total = sum(m.file_size for m in members)
            if total > MAX_ZIP_BYTES:
                raise ClipError(f"the zip's videos unpack to {total / 2**30:.1f} GiB; the limit is "
                                f"{MAX_ZIP_BYTES / 2**30:.0f} GiB")
            if not members:
                raise ClipError("the zip holds no video files (" + ", ".join(VIDEO_SUFFIXES) + ")")
            for m in members:
                name = Path(m.filename).name
                target = dest / name
                k = 1
                while target.exists():
                    target = dest / f"{Path(name).stem}-{k}{Path(name).suffix}"
                    k += 1
                with zf.open(m) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
    except zipfile.BadZipFile:
        raise ClipError("the upload is not a readable zip file") from None
    return dest
