"""Muon against AdamW on the language-model lab: the same model, data, seed and schedule (warmup + cosine), the
held-out bits per byte every `--eval-every` steps; the figure is the steps Muon needs to reach AdamW's final
held-out bits per byte, as a share of AdamW's steps (aim <= 0.7).

    .venv/bin/python bench/lm_muon.py [--steps 600] [--eval-every 50] [--layers 4] [--width 256]
        [--context 128] [--batch 16] [--lr 3e-3] [--muon-lr 0.02] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402


def curve(optimizer: str, args) -> tuple[list[tuple[int, float]], float]:
    import torch

    from genesis_core.config import from_dict
    from genesis_core.lm.task import LanguageModelConfig, LanguageModelTask
    from genesis_core.training.callbacks import Callback
    from genesis_core.training.trainer import Trainer

    cfg = from_dict(LanguageModelConfig, {
        "task": "language_model", "optimizer": optimizer, "muon_lr": args.muon_lr,
        "data": {"batch_size": args.batch, "eval_bytes": 4096},
        "model": {"n_layer": args.layers, "d_model": args.width, "n_head": args.width // 64,
                  "n_kv_head": args.width // 64, "context": args.context},
        "stun": {"enabled": False},
        "trainer": {"steps": args.steps, "lr": args.lr, "warmup_steps": args.steps // 20, "device": args.device,
                    "eval_every": args.eval_every, "checkpoint_every": 0, "preview_every": 0, "log_every": 10,
                    "tensorboard": False, "seed": 0}})
    points: list[tuple[int, float]] = []

    class Record(Callback):
        def on_eval(self, trainer, metrics):
            points.append((trainer.step, metrics["eval/bpb"]))
            print(f"{optimizer} step {trainer.step}: held-out bpb {metrics['eval/bpb']:.3f}", flush=True)

    task = LanguageModelTask(cfg, torch.device(args.device))
    t0 = time.perf_counter()
    trainer = Trainer(task, None, callbacks=[Record()])
    trainer.fit()
    return points, time.perf_counter() - t0


def first_reaching(points: list[tuple[int, float]], target: float) -> int | None:
    """The first evaluated step at or below `target`, linearly interpolated between evaluations."""
    prev = None
    for step, bpb in points:
        if bpb <= target:
            if prev is None or prev[1] == bpb:
                return step
            (s0, b0) = prev
            return int(round(s0 + (step - s0) * (b0 - target) / (b0 - bpb)))
        prev = (step, bpb)
    return None


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--context", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--muon-lr", type=float, default=0.02)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    adamw, adamw_s = curve("adamw", args)
    muon, muon_s = curve("muon", args)
    target = adamw[-1][1]
    reached = first_reaching(muon, target)
    rows = [{"optimizer": "adamw", "final_bpb": round(adamw[-1][1], 4), "steps_to_adamw_final": adamw[-1][0],
             "seconds": round(adamw_s, 1)},
            {"optimizer": "muon", "final_bpb": round(muon[-1][1], 4), "steps_to_adamw_final": reached,
             "seconds": round(muon_s, 1)}]
    ratio = None if reached is None else round(reached / adamw[-1][0], 3)
    print(f"Muon reaches AdamW's final {target:.3f} bits per byte in {reached} of {adamw[-1][0]} steps (ratio {ratio})")
    report("lm_muon", rows, {"ratio": ratio, "config": vars(args), "curves": {"adamw": adamw, "muon": muon}})


if __name__ == "__main__":
    main()
