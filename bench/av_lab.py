"""The audio-to-video lab's figures on CPU:

  data engine   clips (pairs) per second from the IterableDataset, with 0 and 2 DataLoader workers
  training      the default config: share of step time spent waiting for data (aim < 10%), and the held-out
                result against the mean-frame baseline and the shuffled-audio control
  rendering     30 s of audio -> 128x128 at 24 fps, through the trained model and through a teacher,
                mp4 with sound included (aim < 15 s)
  heldout       saved models (`--models DIR ...`, default the shipped favourite) on `--clips` tracks of
                `--seconds` s from seeds no training ever drew, each rendered whole as the page renders it:
                PSNR against the teacher and the mean-frame baseline, colour error against a grey video's,
                sharpness, AV-Align beside the shuffled-audio and +2/+4/+8-frame offset controls and the
                teacher's own score

    .venv/bin/python bench/av_lab.py [--steps 300] [--parts engine heldout]
    .venv/bin/python bench/av_lab.py --parts heldout --models favorites/av/model OTHER_CHECKPOINT --clips 12
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.common import report  # noqa: E402
from genesis_core.av.dataset import ClipSpec, ProceduralAVDataset  # noqa: E402
from genesis_core.av.features import audio_features, feature_matrix  # noqa: E402
from genesis_core.av.music import generate_track  # noqa: E402
from genesis_core.av.render import encode_mp4  # noqa: E402
from genesis_core.av.visualizers import render_teacher  # noqa: E402
from genesis_core.config import from_dict  # noqa: E402
from genesis_core.registry import TASKS  # noqa: E402
from genesis_core.training.trainer import Trainer  # noqa: E402


def pairs_per_second(workers: int, clips: int = 64) -> float:
    spec = ClipSpec()
    loader = torch.utils.data.DataLoader(ProceduralAVDataset(spec), batch_size=8, num_workers=workers)
    it = iter(loader)
    next(it)  # start-up
    t0 = time.perf_counter()
    for _ in range(clips // 8):
        next(it)
    return clips / (time.perf_counter() - t0)


HELD_OUT_BASE = 20_000_000  # training draws seeds below 10,000,000 and validation from there: these are new


def held_out(models: list[str], clips: int, seconds: float) -> list[dict]:
    import numpy as np

    from genesis_core.av.sync import av_align, shift
    from genesis_core.av.task import clip_scores
    from genesis_core.training.loading import load_model
    from genesis_core.vision.images import psnr_from_mse

    rows = []
    for path in models:
        loaded = load_model(path)
        clip = loaded.config.data.clip
        model = loaded.model.eval()
        scores: dict[str, list[float]] = {}
        tracks = [generate_track(HELD_OUT_BASE + i, seconds, clip.sample_rate) for i in range(clips + 1)]
        feats = [audio_features(t.wave, clip.sample_rate, clip.fps, clip.n_mels) for t in tracks]
        teachers = [render_teacher(clip.visualizer, f, (clip.size, clip.size)) for f in feats]
        mean_frame = torch.stack([t.mean(0) for t in teachers[:clips]]).mean(0)
        for i in range(clips):
            f, teacher = feats[i], teachers[i]
            pred = model.render(feature_matrix(f, model.samples_per_frame > 0))
            onset = f.onset.numpy()
            for key, value in {**clip_scores(pred, teacher, onset, feats[i + 1].onset.numpy(), mean_frame),
                               **{f"offset_{o}": av_align(onset, shift(pred, o)) for o in (2, 4, 8)}}.items():
                scores.setdefault(key, []).append(value)

        def spread(key: str) -> str:
            v = scores[key]
            return f"{np.mean(v):.3f} [{min(v):.3f}, {max(v):.3f}]"

        phase = loaded.config.model.phase_channels
        name = Path(path).name if Path(path).name != "model" else Path(path).parent.name  # favorites/av/model
        rows.append({"model": f"{name} ({clip.visualizer}, {phase} phases, colour weight {loaded.config.colour_weight:g})",
                     "psnr_db": round(psnr_from_mse(float(np.mean(scores["mse"]))), 2),
                     "mean_frame_psnr_db": round(psnr_from_mse(float(np.mean(scores["mean_frame_mse"]))), 2),
                     "colour_error": spread("colour_error"), "grey_colour_error": spread("grey_colour_error"),
                     "sharpness_ratio": spread("sharpness_ratio"), "av_align": spread("av_align"),
                     "shuffled": spread("shuffled_av_align"), "offset_2_4_8": " / ".join(
                         f"{np.mean(scores[f'offset_{o}']):.3f}" for o in (2, 4, 8)),
                     "teacher": spread("teacher_av_align"), "clips": f"{clips} x {seconds:g} s"})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--parts", nargs="+", default=["engine", "heldout"], choices=["engine", "heldout"])
    p.add_argument("--models", nargs="+", default=[str(Path(__file__).resolve().parents[1] / "favorites" / "av" / "model")])
    p.add_argument("--clips", type=int, default=12)
    p.add_argument("--seconds", type=float, default=8.0)
    args = p.parse_args()
    if "heldout" in args.parts:
        report("av_heldout", held_out(args.models, args.clips, args.seconds))
    if "engine" not in args.parts:
        return
    rows = [{"measure": f"data engine, {w} workers", "value": round(pairs_per_second(w), 1), "unit": "clips/s (4 s, 32 px)"}
            for w in (0, 2)]
    cfg = {"task": "audio_to_video", "trainer": {"steps": args.steps, "device": "cpu", "eval_every": args.steps,
                                                 "preview_every": 0, "checkpoint_every": 0, "tensorboard": False}}
    cls = TASKS.get("audio_to_video")
    task = cls(from_dict(cls.config_cls, cfg), torch.device("cpu"))
    shares = []

    class Watch:
        def on_train_start(self, *a): ...
        def on_step_end(self, trainer, logs):
            if trainer.step > 20:
                shares.append(task.loader.wait_share)
        def on_eval(self, *a): ...
        def on_train_end(self, *a): ...
        def flush(self): ...
        def close(self): ...
        def state_dict(self): return {}
        def load_state_dict(self, s): ...

    t0 = time.perf_counter()
    trainer = Trainer(task, callbacks=[Watch()])
    result = trainer.fit()
    m = result.eval_metrics
    rows += [{"measure": "training seconds", "value": round(time.perf_counter() - t0, 1), "unit": f"{args.steps} steps"},
             {"measure": "data wait share (median after step 20)", "value": round(sorted(shares)[len(shares) // 2], 4),
              "unit": "share of step time"},
             {"measure": "held-out PSNR vs teacher", "value": round(m["eval/psnr_db"], 2), "unit": "dB"},
             {"measure": "mean-frame baseline PSNR", "value": round(m["eval/mean_frame_psnr_db"], 2), "unit": "dB"},
             {"measure": "AV-Align model / shuffled / teacher",
              "value": f"{m['eval/av_align']:.3f} / {m['eval/shuffled_av_align']:.3f} / {m['eval/teacher_av_align']:.3f}",
              "unit": "IoU of matched onsets"}]
    track = generate_track(31337, 30.0)
    for name in ("model", "beat_pulse", "particles"):
        t0 = time.perf_counter()
        f = audio_features(track.wave, 16000, 24)
        if name == "model":
            frames = torch.nn.functional.interpolate(trainer.model.eval().render(feature_matrix(f)), size=(128, 128),
                                                     mode="bilinear", align_corners=False)
        else:
            frames = render_teacher(name, f, (128, 128))
        mp4 = encode_mp4(frames, 24, track.wave, 16000)
        rows.append({"measure": f"render 30 s at 128x128, 24 fps, mp4 with sound ({name})",
                     "value": round(time.perf_counter() - t0, 2), "unit": f"seconds ({len(mp4) / 1e6:.1f} MB)"})
    report("av_lab", rows)


if __name__ == "__main__":
    main()
