"""Build what the Audio → Video page shows on a fresh install: a small trained AudioToVideoNet (weights + JSON,
no optimizer state) and a few rendered clips (mp4, H.264 + AAC).

    .venv/bin/python scripts/build_av_favorites.py [--steps 600] [--clips 3] [--out DIR | --replace] [--set KEY=VALUE]

By default it writes to a new folder (favorites/av-new-TIMESTAMP/) and leaves the shipped favorites/av/ as it is:
compare, then move it into place, or pass --replace to swap favorites/av/ for the new build (atomically, once the
build is complete).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import torch

    from genesis_core.av.features import audio_features, feature_matrix
    from genesis_core.av.music import generate_track
    from genesis_core.av.render import encode_mp4
    from genesis_core.config import from_dict
    from genesis_core.registry import TASKS
    from genesis_core.store.workspace import Workspace
    from genesis_core.training.loading import load_model
    from genesis_core.training.trainer import Trainer

    import time

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=600, help="training steps of the shipped model")
    p.add_argument("--clips", type=int, default=3, help="rendered example clips")
    p.add_argument("--out", type=Path, help="the folder to write (it must not exist yet)")
    p.add_argument("--replace", action="store_true", help="replace favorites/av/ with the new build when done")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change a key of the training config (repeatable), e.g. colour_weight=4")
    args = p.parse_args()
    shipped = ROOT / "favorites" / "av"
    out = args.out or ROOT / "favorites" / f"av-new-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists():
        p.error(f"{out} exists; give a new folder with --out (nothing was written)")
    cfg = {"task": "audio_to_video", "name": "shipped a2v beat_pulse",
           "data": {"clip": {"visualizer": "beat_pulse", "size": 32}},
           "trainer": {"steps": args.steps, "device": "cpu", "eval_every": args.steps, "preview_every": 0,
                       "checkpoint_every": 0, "tensorboard": False}}
    from genesis_core.config import apply_overrides

    cfg = apply_overrides(cfg, args.set)
    ws = Workspace(tempfile.mkdtemp(prefix="av-favorites-"))
    run = ws.create_run("audio_to_video", cfg)
    cls = TASKS.get("audio_to_video")
    trainer = Trainer(cls(from_dict(cls.config_cls, cfg), torch.device("cpu")), run, progress_bar=True)
    result = trainer.fit()
    print({k: round(v, 3) for k, v in result.eval_metrics.items()})
    (out / "model").mkdir(parents=True)
    latest = run.latest_checkpoint()
    for name in ("meta.json", "model.safetensors"):
        shutil.copy(latest / name, out / "model" / name)
    loaded = load_model(out / "model")
    for i in range(args.clips):
        track = generate_track(424_242 + i, 10.0, 16000, tempo=(96, 120, 140)[i % 3])
        feats = audio_features(track.wave, 16000, 24)
        frames = torch.nn.functional.interpolate(loaded.model.render(feature_matrix(feats)), size=(128, 128),
                                                 mode="bilinear", align_corners=False).clamp(0, 1)
        key = track.key.replace("#", "sharp")
        (out / f"clip_{i + 1}_{int(track.tempo)}bpm_{key}_{track.scale}.mp4").write_bytes(
            encode_mp4(frames, 24, track.wave, 16000))
    if args.replace:  # never a half-built folder in place
        from genesis_core.store.files import replace_folder

        out = replace_folder(out, shipped)
    print(f"wrote {out}" + ("" if args.replace else f" (the shipped {shipped} is unchanged; --replace swaps it)"))


if __name__ == "__main__":
    main()
