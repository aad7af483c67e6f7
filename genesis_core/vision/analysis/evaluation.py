"""One checkpoint of an image run, evaluated on its test split beside its baseline (the seed's
`evaluate.py --checkpoint`): for an autoencoder, test PSNR / SSIM / MSE beside PCA with as many components fitted on
the same training images, overall and per class; for a generative family, its sample-quality figures (FD,
precision, recall, bits per dim where exact) beside held-out real images (the floor) and uniform noise."""

from __future__ import annotations

from typing import Any

import torch

from genesis_core.errors import WorkbenchError


class EvaluationError(WorkbenchError, ValueError):
    """A run or checkpoint that cannot be evaluated here."""


@torch.no_grad()
def evaluate_checkpoint(loaded: Any) -> dict[str, Any]:
    """{"task", "checkpoint", "overall": [{metric, model, baseline, baseline_name}], "per_class": [...]}"""
    from genesis_core.vision.tasks.autoencoders import ImageAutoencoderTask, pca_reconstructions, reconstruct_all
    from genesis_core.vision.images import image_metrics
    from genesis_core.vision.protocols import FamilyTask

    task, model = loaded.task, loaded.model.eval()
    out: dict[str, Any] = {"task": loaded.meta.get("task"), "checkpoint": loaded.checkpoint.name, "per_class": []}
    if type(task) is ImageAutoencoderTask:
        split, k = task.split, task.config.model.latent_dim
        x, y = split.test_x.to(task.device), split.test_y.to(task.device)
        ours = reconstruct_all(model, x, y).cpu()
        pca, _ = pca_reconstructions(split, k)
        baseline = f"PCA, {k} components fitted on the same {len(split.train_x)} training images"
        mine, theirs = image_metrics(ours, split.test_x), image_metrics(pca, split.test_x)
        out["overall"] = [{"metric": m, "model": mine[m], "baseline": theirs[m], "baseline_name": baseline,
                           "images": len(split.test_x)} for m in ("psnr_db", "ssim", "mse")]
        for c in range(split.num_classes):
            idx = split.test_y == c
            if not bool(idx.any()):
                continue
            a, b = image_metrics(ours[idx], split.test_x[idx]), image_metrics(pca[idx], split.test_x[idx])
            out["per_class"].append({"class": str(split.classes[c]) if c < len(split.classes) else str(c),
                                     "images": int(idx.sum()), "psnr_db": a["psnr_db"], "pca_psnr_db": b["psnr_db"],
                                     "ssim": a["ssim"], "pca_ssim": b["ssim"]})
        return out
    if isinstance(task, FamilyTask):
        m = {k: float(v) for k, v in task.evaluate(model).items()}
        rows = [{"metric": "fd", "model": m["fd"], "baseline": m["fd_floor"],
                 "baseline_name": "held-out real images (the floor)"},
                {"metric": "fd", "model": m["fd"], "baseline": m["fd_noise"], "baseline_name": "uniform noise"}]
        for key in ("precision", "recall", "coverage", "class_accuracy", "test_bits_per_dim", "psnr_db",
                    "diversity_ratio", "sample_ms_per_image"):
            if key in m:
                rows.append({"metric": key, "model": m[key], "baseline": None, "baseline_name": ""})
        out["overall"] = rows
        return out
    raise EvaluationError(f"{out['task']} runs are not image models this command evaluates (autoencoders and the "
                          "generative families are)")
