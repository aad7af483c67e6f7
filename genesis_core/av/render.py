"""Audio in, video out: read any audio a user brings (wav, mp3, flac, ogg; any rate; mono or stereo) with
clear sentences for bad files, and write H.264 + AAC in one mp4 with torchcodec's Encoder."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from genesis_core.errors import WorkbenchError

ANALYSIS_RATE = 16000  # what the analysis hears: a mono copy at this rate (the mp4 keeps the file's own sound)
SHIPPED = Path(__file__).resolve().parents[2] / "favorites" / "av"  # the app's model and clips (build_av_favorites)
MAX_SECONDS = 600.0
MIN_SECONDS = 0.1  # below this there is not one mel frame's window plus a video frame to draw


class AudioError(WorkbenchError, ValueError):
    """Audio that cannot be used; the message is one sentence."""


def load_audio(source: str | Path | bytes, sample_rate: int = ANALYSIS_RATE, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Mono float32 at `sample_rate`."""
    from torchcodec.decoders import AudioDecoder

    if isinstance(source, (bytes, bytearray)) and len(source) == 0:
        raise AudioError("the audio file is empty.")
    try:
        dec = AudioDecoder(source if not isinstance(source, Path) else str(source), sample_rate=sample_rate)
        duration = dec.metadata.duration_seconds_from_header
        if duration is not None and duration > max_seconds:
            raise AudioError(f"the audio is {duration:.0f} s long; the limit is {max_seconds:.0f} s.")
        samples = dec.get_all_samples().data
    except AudioError:
        raise
    except Exception as exc:  # FFmpeg says "invalid data", "no audio stream", ...
        raise AudioError("the file is not audio we can decode (corrupt, or not wav/mp3/flac/ogg).") from exc
    wave = samples.float().mean(0).numpy()
    if len(wave) == 0:
        raise AudioError("the audio file holds no samples.")
    if len(wave) < MIN_SECONDS * sample_rate:
        raise AudioError(f"the audio is {len(wave) / sample_rate * 1000:.1f} ms long; it needs at least "
                         f"{MIN_SECONDS * 1000:.0f} ms to be analysed and drawn.")
    if len(wave) / sample_rate > max_seconds:
        raise AudioError(f"the audio is {len(wave) / sample_rate:.0f} s long; the limit is {max_seconds:.0f} s.")
    if float(np.abs(wave).max()) < 1e-4:
        raise AudioError("the audio is silent; there is nothing to visualise.")
    return wave.astype(np.float32)


def load_original_audio(source: str | Path | bytes) -> tuple[np.ndarray, int]:
    """The audio as the user gave it, for the mp4: (samples (channels, N) float32, its own sample rate).
    Call after `load_audio` accepted the file."""
    from torchcodec.decoders import AudioDecoder

    dec = AudioDecoder(source if not isinstance(source, Path) else str(source))
    samples = dec.get_all_samples()
    return samples.data.float().numpy(), int(samples.sample_rate)


def encode_mp4(frames: torch.Tensor, fps: float, wave: np.ndarray | None = None, sample_rate: int = 16000,
               chunk: int = 120, progress=None) -> bytes:
    """frames (T, 3, H, W) float [0, 1] or uint8 -> mp4 bytes (H.264 yuv420p, AAC audio if `wave`: mono (N,)
    or (channels, N), at `sample_rate`)."""
    from torchcodec.encoders import Encoder

    if frames.dtype != torch.uint8:
        frames = (frames.clamp(0, 1) * 255).round().to(torch.uint8)
    t, _, h, w = frames.shape
    if h % 2 or w % 2:
        frames = frames[:, :, : h - h % 2, : w - w % 2]
        h, w = h - h % 2, w - w % 2
    buf = io.BytesIO()
    enc = Encoder()
    video = enc.add_video(height=h, width=w, frame_rate=fps, codec="libx264", pixel_format="yuv420p")
    channels = 1 if wave is None or np.ndim(wave) == 1 else int(np.shape(wave)[0])
    audio = enc.add_audio(sample_rate=sample_rate, num_channels=channels) if wave is not None else None
    with enc.open_file_like(buf, format="mp4"):
        for start in range(0, t, chunk):
            video.add_frames(frames[start:start + chunk].contiguous())
            if progress:
                progress(min(t, start + chunk) / t)
        if audio is not None and wave is not None:
            n = int(round(t / fps * sample_rate))
            a = torch.as_tensor(np.atleast_2d(wave)[:, :n], dtype=torch.float32)
            audio.add_samples(a.contiguous())
    return buf.getvalue()


def render_audio(wave: np.ndarray, sample_rate: int, fps: float, size: int, model=None, model_fps: float | None = None,
                 visualizer: str = "beat_pulse", events: np.ndarray | None = None, progress=None,
                 original: tuple[np.ndarray, int] | None = None) -> dict:
    """What the page shows for one render: the video (through `model` if given, else the `visualizer`
    teacher), the teacher's video of the same audio when a model rendered, and the sync scores of both,
    the model's with its controls (another track's audio, offsets). `wave` at `sample_rate` (mono) is what
    the analysis hears; the mp4 carries `original` (samples (channels, N), rate) when given, the user's own
    audio at its own rate and channels. `progress(fraction, message)`."""
    from genesis_core.av.features import audio_features, feature_matrix
    from genesis_core.av.music import generate_track
    from genesis_core.av.sync import sync_report
    from genesis_core.av.visualizers import render_teacher

    say = progress or (lambda fraction, message: None)
    say(0.0, "computing audio features")
    feats = audio_features(wave, sample_rate, fps)
    teacher = render_teacher(visualizer, feats, (size, size))
    if model is None:
        frames = teacher
    else:
        samples = getattr(model, "samples_per_frame", 0)
        if samples and samples != feats.wave_frames.shape[1]:
            raise AudioError(f"this CLAP model hears {samples} samples per frame: render it at the frame rate it was "
                             f"trained at ({model_fps:g} fps)" if model_fps else "render this CLAP model at its "
                             "training frame rate")
        frames = model.render(feature_matrix(feats, samples > 0), progress=lambda p: say(0.1 + 0.5 * p, f"rendering frames {p:.0%}"))
        frames = torch.nn.functional.interpolate(frames, size=(size, size), mode="bilinear",
                                                 align_corners=False).clamp(0, 1)
    other = audio_features(generate_track(123_457, len(wave) / sample_rate, sample_rate).wave, sample_rate, fps)
    sound = original if original is not None else (wave, sample_rate)
    result = {
        "frames": len(frames),
        "scores": sync_report(feats.onset.numpy(), frames, fps, events, other.onset.numpy()),
        "teacher_scores": sync_report(feats.onset.numpy(), teacher, fps, events),
        "mp4": encode_mp4(frames, fps, *sound, progress=lambda p: say(0.6 + 0.35 * p, f"encoding H.264 + AAC {p:.0%}")),
        "teacher_mp4": encode_mp4(teacher, fps, *sound) if model is not None else None,
        "note": (f"this model was trained at {model_fps:g} fps; rendering at {fps:g} fps changes its timing"
                 if model is not None and model_fps and model_fps != fps else ""),
    }
    say(1.0, "done")
    return result
