"""The image lab's research figures on the built-in 5,000 MNIST digits (28x28), default configs, CPU:

  bottleneck    the default sweep (latent 2..64): test PSNR / SSIM / gap per size against PCA, and the
                smallest latent reaching --target dB
  conditioning  a conv VAE (z=8, beta=1) per class-conditioning strategy: test PSNR, the label probe, and 1,000
                prior samples (every class in turn) scored: FD, precision, recall, class accuracy
  stitching     two AEs (z=16, seeds 0 and 1): swap PSNR against B's own reconstruction per translator
                and number of anchors
  restoration   the default restorer: PSNR at levels 0.25 / 0.5 / 1.0 against identity and classical filter

    .venv/bin/python bench/image_lab.py [--parts bottleneck,conditioning,stitching,restoration] [--target 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402
from genesis_core.store.workspace import Workspace  # noqa: E402


def make_task(cfg: dict):
    import torch

    from genesis_core.config import from_dict
    from genesis_core.registry import TASKS

    cls = TASKS.get(cfg["task"])
    return cls(from_dict(cls.config_cls, cfg), torch.device("cpu"))


def fit(ws: Workspace, cfg: dict):
    from genesis_core.training.trainer import Trainer

    cfg = {**cfg, "trainer": {"device": "cpu", "tensorboard": False, **cfg.get("trainer", {})}}
    run = ws.create_run(cfg["task"], cfg)
    t0 = time.perf_counter()
    trainer = Trainer(make_task(cfg), run, progress_bar=True)
    trainer.fit()
    return run, trainer, time.perf_counter() - t0


def bottleneck(ws: Workspace, target: float) -> None:
    from genesis_core.vision.analysis.catalog import bottleneck_table, minimum_latent

    run, _, seconds = fit(ws, {"task": "bottleneck_sweep"})
    table = bottleneck_table(run)
    rows = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
            for r in table[["latent", "mse", "psnr_db", "ssim", "gap_db", "pca_mse", "pca_psnr_db", "pca_ssim"]]
            .to_dict("records")]
    answer = {"target_psnr_db": target, "smallest_latent": minimum_latent(table, target),
              "smallest_pca_components": minimum_latent(table, target, "pca_psnr_db"), "train_seconds": seconds}
    report("image_bottleneck", rows, answer)
    print(answer)


def conditioning(ws: Workspace) -> None:
    from genesis_core.vision.analysis.conditional import prior_sample_quality, probe_model

    rows = []
    for strategy in ("none", "onehot", "embedding", "bias", "film"):
        run, trainer, seconds = fit(ws, {"task": "image_autoencoder", "model": {"latent_dim": 8, "variational": True,
                                                                                 "conditioning": strategy}})
        probe = probe_model(trainer.model.eval(), trainer.task.split)
        d = trainer.task.config.data
        q = prior_sample_quality(trainer.model.eval(), trainer.task.split,
                                 (d.dataset, d.path, d.image_size, d.channels, d.test_fraction, d.split_seed, d.limit))
        rows.append({"conditioning": strategy, "psnr_db": round(trainer.last_eval["eval/psnr_db"], 2),
                     "ssim": round(trainer.last_eval["eval/ssim"], 3),
                     "probe_accuracy": round(probe["probe_accuracy"], 3), "majority": round(probe["majority_rate"], 3),
                     "prior_fd": round(q["fd"], 1), "real_fd": round(q["baselines"]["held_out_real"]["fd"], 1),
                     "noise_fd": round(q["baselines"]["noise"]["fd"], 1), "precision": round(q["precision"], 3),
                     "recall": round(q["recall"], 3),
                     "class_accuracy": round(q["class_accuracy"], 3) if "class_accuracy" in q else "-",
                     "seconds": round(seconds, 1)})
    report("image_conditioning", rows)


def stitching(ws: Workspace) -> None:
    from genesis_core.vision.analysis.stitching import anchor_curve

    models = []
    for seed in (0, 1):
        _, trainer, _ = fit(ws, {"task": "image_autoencoder", "trainer": {"seed": seed}})
        models.append(trainer.model.eval())
    split = trainer.task.split
    rows = anchor_curve(models[0], models[1], split.train_x, split.test_x[:500], split.test_y[:500],
                        counts=(16, 64, 256, 1024, 4000), translators=("none", "lstsq", "procrustes", "affine"))
    report("image_stitching", [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in rows])


def restoration(ws: Workspace) -> None:
    from genesis_core.vision.tasks.restoration import psnr_vs_level

    _, trainer, seconds = fit(ws, {"task": "image_restoration"})
    x = trainer.task.split.test_x[:500]
    rows = []
    for kind in trainer.task.config.corruptions:
        for r in psnr_vs_level(trainer.model.eval(), x, kind, (0.25, 0.5, 1.0)):
            rows.append({"kind": kind, "level": r["level"], "restored_db": round(r["restored_psnr_db"], 2),
                         "identity_db": round(r["identity_psnr_db"], 2), "classical_db": round(r["classical_psnr_db"], 2)})
    report("image_restoration", rows, {"train_seconds": seconds})


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--parts", default="bottleneck,conditioning,stitching,restoration")
    p.add_argument("--target", type=float, default=20.0)
    args = p.parse_args()
    ws = Workspace(tempfile.mkdtemp(prefix="bench-image-"))
    for part in args.parts.split(","):
        print(f"\n== {part} ==")
        {"bottleneck": lambda: bottleneck(ws, args.target), "conditioning": lambda: conditioning(ws),
         "stitching": lambda: stitching(ws), "restoration": lambda: restoration(ws)}[part]()


if __name__ == "__main__":
    main()
