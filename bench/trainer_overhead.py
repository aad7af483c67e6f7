"""Overhead of the shared Trainer (callbacks, SQLite metrics, TensorBoard, progress, checkpoints) against a
bare PyTorch loop on the same model and data. Runs A/B interleaved and reports the median ratio.

    .venv/bin/python bench/trainer_overhead.py [--steps 600] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.common import report  # noqa: E402
from genesis_core.config import from_dict  # noqa: E402
from genesis_core.store.workspace import Workspace  # noqa: E402
from genesis_core.training.task import TrainingTask  # noqa: E402
from genesis_core.training.trainer import Trainer, seed_everything  # noqa: E402
from genesis_core.vision.tasks.autoencoders import ImageAutoencoderConfig, ImageAutoencoderTask  # noqa: E402


def bare_step_time(task: TrainingTask, steps: int) -> float:
    """Seconds for `steps` of the same task in a plain loop (the benchmark's baseline)."""
    seed_everything(task.config.trainer.seed)
    model = task.build_model().to(task.device)
    opt = task.build_optimizer(model)
    loader = task.build_loader()
    clip = task.config.trainer.grad_clip
    model.train()
    start = time.perf_counter()
    for _ in range(steps):
        loss, _ = task.training_step(model, loader.next_batch())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    cfg = from_dict(ImageAutoencoderConfig, {
        "model": {"arch": "mlp", "latent_dim": 16, "hidden": 512},
        "trainer": {"steps": args.steps, "device": args.device, "log_every": 10, "eval_every": 0,
                    "checkpoint_every": 200, "preview_every": 0, "tensorboard": True},
    })
    device = torch.device(args.device)
    task = ImageAutoencoderTask(cfg, device)
    task.pca_baseline_mse()  # data and baseline ready before timing
    bare, full = [], []
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(tmp)
        bare_step_time(task, 50)  # warm-up
        for _ in range(args.repeats):
            bare.append(bare_step_time(task, args.steps))
            run = ws.create_run("image_autoencoder", {})
            t0 = time.perf_counter()
            Trainer(task, run).fit()
            full.append(time.perf_counter() - t0)
    ratios = [f / b for f, b in zip(full, bare)]
    rows = [{"loop": "bare PyTorch", "median_s": statistics.median(bare), "steps_per_s": args.steps / statistics.median(bare)},
            {"loop": "Trainer + callbacks", "median_s": statistics.median(full),
             "steps_per_s": args.steps / statistics.median(full)}]
    of_medians = statistics.median(full) / statistics.median(bare)
    report("trainer_overhead", rows, {"ratio_median_of_pairs": statistics.median(ratios), "ratio_of_medians": of_medians,
                                      "ratios": ratios, "steps": args.steps})
    print(f"Trainer / bare: median of paired ratios {statistics.median(ratios):.3f}, ratio of medians "
          f"{of_medians:.3f}  (aim: < 1.05)")


if __name__ == "__main__":
    main()
