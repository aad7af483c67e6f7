"""Audio to video trained on your own clips: held-out clips' PSNR and AV-Align beside the mean-frame baseline, the
shuffled-audio control and a model of the same shape trained as long on the procedural stream instead.

No real footage ships offline, so the bench films its own: `--clips` videos of `--seconds` s, each a procedural
track (genesis_core.av.music, 44.1 kHz) under a light show that is none of the teacher visualizers (a spotlight that
swells with the loudness, whole-frame flashes on onsets that fade, the colour stepping through the clip's own palette
on every beat, a slowly drifting background), 320x240 at 30 fps, written by the ffmpeg command line as H.264 + AAC.
The lab decodes them at its own size, rate and sample rate (32x32, 24 fps, 16 kHz), holds a quarter of the clips
out whole, and trains `--steps` steps per seed.

    .venv/bin/python bench/av_clips.py [--clips 12] [--seconds 20] [--steps 300] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.common import report  # noqa: E402

RATE, FPS, W, H = 44100, 30, 320, 240


def film(path: Path, seed: int, seconds: float) -> None:
    """One clip of the light show over procedural music, as H.264 + AAC by the ffmpeg command line."""
    from genesis_core.av.features import audio_features
    from genesis_core.av.music import generate_track

    track = generate_track(seed, seconds, RATE)
    f = audio_features(track.wave, RATE, FPS, 32)
    rng = np.random.default_rng(seed)
    palette = rng.uniform(0.2, 1.0, size=(4, 3))
    n = len(f.rms)
    beat_frames = np.searchsorted((np.arange(n) + 0.5) / FPS, track.beat_times)
    colour_index = np.zeros(n, dtype=int)
    for b in beat_frames:
        colour_index[b:] += 1
    yy, xx = np.mgrid[0:H, 0:W]
    cx, cy = W / 2 + rng.uniform(-40, 40), H / 2 + rng.uniform(-20, 20)
    dist = np.hypot(xx - cx, yy - cy)
    rms = (f.rms / max(float(f.rms.max()), 1e-6)).numpy()
    flash, frames = 0.0, np.empty((n, H, W, 3), dtype=np.uint8)
    phase = rng.uniform(0, 2 * np.pi)
    for t in range(n):
        flash = max(flash * 0.75, float(f.onset[t]) if f.onset[t] > 0.4 else 0.0)
        colour = palette[colour_index[t] % len(palette)]
        background = 0.08 + 0.05 * np.sin(2 * np.pi * t / (FPS * 7) + phase + np.array([0, 2, 4]))
        radius = 20 + 80 * rms[t]
        spot = np.clip(1 - dist / radius, 0, 1)[..., None] * colour
        img = background + spot * (0.4 + 0.6 * rms[t]) + 0.5 * flash
        frames[t] = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    raw, audio = path.with_suffix(".rgb"), path.with_suffix(".f32")
    raw.write_bytes(frames.tobytes())
    audio.write_bytes(track.wave.astype(np.float32).tobytes())
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}", "-r",
                    str(FPS), "-i", str(raw), "-f", "f32le", "-ar", str(RATE), "-ac", "1", "-i", str(audio),
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True)
    raw.unlink()
    audio.unlink()


def spread(values: list[float]) -> str:
    med = statistics.median(values)
    return f"{med:.3f}" if len(values) == 1 else f"{med:.3f} [{min(values):.3f}, {max(values):.3f}]"


def main() -> None:
    from genesis_core.config import from_dict
    from genesis_core.registry import TASKS
    from genesis_core.store.workspace import Workspace
    from genesis_core.training.trainer import Trainer

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=12)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--steps", type=int, default=300)  # as the shipped procedural model
    p.add_argument("--seeds", default="0,1,2")
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    cls = TASKS.get("audio_to_video")
    with tempfile.TemporaryDirectory(prefix="bench-av-clips-") as tmp:
        folder = Path(tmp) / "clips"
        folder.mkdir()
        start = time.perf_counter()
        for i in range(args.clips):
            film(folder / f"show{i:02d}.mp4", 5000 + i, args.seconds)
        print(f"filmed {args.clips} clips of {args.seconds:g} s in {time.perf_counter() - start:.0f} s", flush=True)
        ws = Workspace(Path(tmp) / "ws")
        results: dict[str, list[dict]] = {"clips": [], "procedural": []}
        clips_data = {"source": "clips", "clips": str(folder), "holdout": 0.25, "validation_clips": 12}
        library_counts = None
        for seed in seeds:
            for side in ("clips", "procedural"):
                data = clips_data if side == "clips" else {"clip": {"visualizer": "beat_pulse"}}
                cfg = {"task": "audio_to_video", "name": f"bench {side} {seed}", "data": data,
                       "trainer": {"steps": args.steps, "seed": seed, "eval_every": args.steps, "checkpoint_every": 0,
                                   "preview_every": 0, "device": "cpu", "tensorboard": False, "log_every": 50}}
                task = cls(from_dict(cls.config_cls, cfg), torch.device("cpu"))
                t0 = time.perf_counter()
                trainer = Trainer(task, ws.create_run("audio_to_video", cfg))
                trainer.fit()
                train_s = time.perf_counter() - t0
                # every side is scored on the same held-out clips' windows
                judge = cls(from_dict(cls.config_cls, {**cfg, "data": clips_data}), torch.device("cpu"))
                metrics = judge.evaluate(trainer.model.eval())
                library_counts = judge.library.counts()
                results[side].append({**metrics, "train_s": train_s})
                print(f"seed {seed} {side}: held-out PSNR {metrics['psnr_db']:.2f} dB (mean frame "
                      f"{metrics['mean_frame_psnr_db']:.2f}), AV-Align {metrics['av_align']:.3f} (shuffled "
                      f"{metrics['shuffled_av_align']:.3f}), {train_s:.0f} s", flush=True)
    rows = []
    for side, label in (("clips", "trained on the clips"), ("procedural", "trained on the procedural stream")):
        r = results[side]
        rows.append({"model": label, "psnr_db": spread([m["psnr_db"] for m in r]),
                     "mean_frame_psnr_db": spread([m["mean_frame_psnr_db"] for m in r]),
                     "av_align": spread([m["av_align"] for m in r]),
                     "shuffled_av_align": spread([m["shuffled_av_align"] for m in r]),
                     "teacher_av_align": spread([m["teacher_av_align"] for m in r]),
                     "colour_error": spread([m["colour_error"] for m in r]),
                     "train_s": spread([m["train_s"] for m in r])})
    report("av_clips", rows, {"clips": args.clips, "seconds": args.seconds, "steps": args.steps, "seeds": seeds,
                              "library": library_counts})


if __name__ == "__main__":
    main()
