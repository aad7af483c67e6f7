"""Training audio-to-video on your own clips: videos the tests make themselves (the ffmpeg command line, from generated
frames and tones: a square that flashes on each beep), decoded to the model's size, rate and sample rate with picture
and sound still in step; broken, silent, short and non-video files skipped and counted; whole clips held out; a job
in a real worker process trains on them and scores the held-out clips against the shuffled-audio control."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from genesis_core.av.clips import ClipError, clip_window, load_library, unpack_clips_zip, validation_windows
from genesis_core.av.dataset import ClipSpec
from genesis_core.jobs import api
from genesis_core.store.metrics import MetricsReader
from genesis_core.training.loading import load_model
from tests.timeouts import scaled

SPEC = ClipSpec(seconds=2.0, fps=12, size=16, sample_rate=16000)


def beeping_clip(path: Path, seconds: float, seed: int, fps: int = 25, size: tuple[int, int] = (64, 48),
                 rate: int = 22050, silent: bool = False) -> Path:
    """A video whose centre square lights up (in a colour of its own) exactly while a tone sounds, at random
    instants, written by the ffmpeg command line (H.264 + AAC, or whatever the suffix asks)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fps)
    on = np.zeros(n, dtype=bool)
    for start in rng.choice(n - 4, size=max(2, n // 10), replace=False):
        on[start:start + int(rng.integers(2, 5))] = True
    w, h = size
    frames = np.full((n, h, w, 3), 20, dtype=np.uint8)
    colour = rng.integers(80, 256, size=3).astype(np.uint8)
    frames[on, h // 4:3 * h // 4, w // 4:3 * w // 4] = colour
    t = np.arange(int(seconds * rate)) / rate
    lit = on[np.minimum((t * fps).astype(int), n - 1)]
    wave = (0.0 if silent else 0.5) * np.sin(2 * np.pi * 660 * t) * lit
    raw, audio = path.with_suffix(".rgb"), path.with_suffix(".f32")
    raw.write_bytes(frames.tobytes())
    audio.write_bytes(wave.astype(np.float32).tobytes())
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                    "-r", str(fps), "-i", str(raw), "-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", str(audio),
                    "-pix_fmt", "yuv420p", "-shortest", str(path)], check=True)
    raw.unlink()
    audio.unlink()
    return path


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clips")
    for i, (seconds, suffix) in enumerate([(7, ".mp4"), (6, ".mkv"), (8, ".mp4"), (6, ".mov"), (7, ".mp4")]):
        beeping_clip(root / f"beeps{i}{suffix}", seconds, seed=i)
    beeping_clip(root / "quiet.mp4", 5, seed=9, silent=True)
    beeping_clip(root / "short.mp4", 1, seed=10)
    (root / "broken.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    (root / "notes.txt").write_text("not a video")
    return root


def test_clips_decode_in_step_and_every_unusable_file_is_skipped_with_its_reason(clip_folder):
    lib = load_library(clip_folder, SPEC, holdout=0.2)
    assert (len(lib.train), len(lib.validation)) == (4, 1)
    assert lib.skipped == {"broken.mp4": "not a readable video", "quiet.mp4": "silent",
                           "short.mp4": "shorter than one 2 s window", "notes.txt": "not a video (.txt)"}
    for clip in lib.train + lib.validation:
        assert clip.frames.shape[1:] == (3, 16, 16) and clip.frames.dtype.is_floating_point is False
        assert len(clip.wave) == round(len(clip.frames) * SPEC.sample_rate / SPEC.fps)
        # picture and sound in step: the square's brightness follows the tone's loudness frame by frame
        features, frames = clip_window(clip, 0, SPEC)
        assert features.shape == (24, SPEC.n_mels + 2) and frames.shape == (24, 3, 16, 16)
        bright = frames[:, :, 4:12, 4:12].mean((1, 2, 3)).numpy()
        loud = features[:, SPEC.n_mels].numpy()  # the RMS column
        assert np.corrcoef(bright, loud)[0, 1] > 0.8, clip.name
    assert "skipped 4" in lib.summary()


def test_whole_clips_are_held_out_and_validation_windows_come_only_from_them(clip_folder):
    lib = load_library(clip_folder, SPEC, holdout=0.5)
    names = {c.name for c in lib.train} | {c.name for c in lib.validation}
    assert not {c.name for c in lib.train} & {c.name for c in lib.validation} and len(names) == 5
    windows = validation_windows(lib, SPEC, 4)
    assert len(windows) == 4
    for features, frames, sound in windows:
        pixels = (frames * 255).round().to(lib.validation[0].frames.dtype)
        assert any(bool(pixels.eq(c.frames[s:s + 24]).all()) for c in lib.validation
                   for s in range(0, len(c.frames) - 23, 24))  # a window of a held-out clip, never a training one
        assert sound.sample_rate == SPEC.sample_rate and len(sound.wave) == 2 * SPEC.sample_rate
    assert load_library(clip_folder, SPEC, holdout=0.5).validation[0].name == lib.validation[0].name  # repeatable


def test_a_folder_without_usable_clips_is_one_sentence(tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(ClipError, match="no usable clip") as err:
        load_library(tmp_path, SPEC)
    assert "broken.mp4: not a readable video" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ClipError, match="does not exist"):
        load_library(tmp_path / "nowhere", SPEC)


def test_a_zip_unpacks_only_its_videos_and_never_outside_the_folder(clip_folder, tmp_path):
    archive = tmp_path / "clips.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(clip_folder / "beeps0.mp4", "holiday/beeps0.mp4")
        zf.write(clip_folder / "beeps1.mkv", "../../escape/beeps1.mkv")
        zf.writestr("readme.txt", "hello")
    out = unpack_clips_zip(archive, tmp_path / "unpacked")
    assert sorted(p.name for p in out.iterdir()) == ["beeps0.mp4", "beeps1.mkv"]
    assert not (tmp_path / "escape").exists()
    (tmp_path / "bad.zip").write_bytes(b"PK not really")
    with pytest.raises(ClipError, match="not a readable zip"):
        unpack_clips_zip(tmp_path / "bad.zip", tmp_path / "x")


@pytest.mark.slow
def test_a_job_trains_on_the_clips_and_scores_held_out_clips_against_the_control(workspace, clip_folder):
    cfg = {"task": "audio_to_video", "name": "own clips",
           "data": {"source": "clips", "clips": str(clip_folder), "clip": {"seconds": 2.0, "size": 16, "fps": 12},
                    "batch_size": 8, "workers": 1, "validation_clips": 4},
           "model": {"width": 48, "decoder_channels": 16},
           "trainer": {"steps": 120, "lr": 3e-3, "log_every": 10, "eval_every": 120, "checkpoint_every": 120,
                       "preview_every": 120, "device": "cpu", "tensorboard": False}}
    done = api.wait(api.submit(cfg, workspace=workspace).id, workspace, timeout=scaled(300))
    assert done.status == "succeeded", api.log_tail(done, workspace)
    m = done.metrics
    assert m["eval/psnr_db"] > m["eval/mean_frame_psnr_db"]  # the held-out clips, not the training ones
    assert np.isfinite(m["eval/av_align"]) and np.isfinite(m["eval/shuffled_av_align"])
    run = workspace.get_run(done.run_id)
    events = MetricsReader(run.metrics_path).events()
    clips = events[events["kind"] == "clips"].iloc[0]
    assert clips["data"]["train"] == 4 and clips["data"]["validation"] == 1 and len(clips["data"]["skipped"]) == 4
    loaded = load_model(done.run_id, workspace)
    assert loaded.meta["clips"]["skipped"]["quiet.mp4"] == "silent"
    assert run.artifact_path("preview_validation.mp4").read_bytes()[4:8] == b"ftyp"


def test_the_clips_command_reports_what_trains_and_what_is_skipped(clip_folder, tmp_path):
    import os
    import sys

    archive = tmp_path / "mine.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("beeps0.mp4", "beeps1.mkv", "quiet.mp4"):
            zf.write(clip_folder / name, name)
    env = {**os.environ, "GENESIS_HOME": str(tmp_path / "ws")}
    out = subprocess.run([sys.executable, "-m", "genesis_core", "av", "clips", str(archive), "--size", "16",
                          "--fps", "12", "--seconds", "2"], capture_output=True, text=True, env=env,
                         timeout=scaled(120))
    assert out.returncode == 0, out.stderr
    assert "1 clips for training, 1 held out for validation; skipped 1: quiet.mp4 (silent)" in out.stdout
    assert "--set data.source=clips" in out.stdout and str(tmp_path / "ws") in out.stdout
    bad = subprocess.run([sys.executable, "-m", "genesis_core", "av", "clips", str(tmp_path / "nowhere")],
                         capture_output=True, text=True, env=env, timeout=scaled(120))
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error:") and "does not exist" in bad.stderr
