"""How alike the latent spaces of different architectures are (seed 000's question), on the same test images:
linear CKA and mutual 10-NN between a conv AE (two seeds), an MLP AE and a conv VAE, all z = 16, trained on
sklearn's digits through the real Trainer; beside them, the same figures for PCA's codes (k = 16, fit on the
same training rows) and the baselines (rows shuffled; random neighbours).

    .venv/bin/python bench/latent_similarity.py [--steps 800]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402

MODELS = {"conv AE seed 0": {"model": {"latent_dim": 16}, "trainer": {"seed": 0}},
          "conv AE seed 1": {"model": {"latent_dim": 16}, "trainer": {"seed": 1}},
          "MLP AE": {"model": {"latent_dim": 16, "arch": "mlp"}, "trainer": {"seed": 0}},
          "conv VAE": {"model": {"latent_dim": 16, "variational": True}, "trainer": {"seed": 0}}}


def main() -> None:

    from genesis_core.config import from_dict
    from genesis_core.registry import TASKS
    from genesis_core.store.workspace import Workspace
    from genesis_core.training.trainer import Trainer
    from genesis_core.vision.analysis.latent import encode_images
    from genesis_core.vision.analysis.similarity import similarity
    from genesis_core.vision.tasks.autoencoders import pca_basis

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=800)
    args = p.parse_args()
    ws = Workspace(tempfile.mkdtemp())
    codes, split = {}, None
    for name, sections in MODELS.items():
        cfg = {"task": "image_autoencoder", "data": {"dataset": "sklearn_digits", "batch_size": 64},
               "model": sections["model"], "trainer": {"steps": args.steps, "device": "cpu", "tensorboard": False,
                                                       **sections["trainer"]}}
        task = TASKS.get("image_autoencoder")(from_dict(TASKS.get("image_autoencoder").config_cls, cfg),
                                              __import__("torch").device("cpu"))
        run = ws.create_run("image_autoencoder", cfg, name=name)
        trainer = Trainer(task, run)
        trainer.fit()
        split = task.split
        codes[name] = encode_images(trainer.model.eval(), split.test_x)
        print(f"trained {name}", flush=True)
    basis, mean = pca_basis(split.train_x, 16)
    codes["PCA k=16"] = (split.test_x.reshape(len(split.test_x), -1) - mean) @ basis.T
    out = similarity(codes, k=10)
    names = out["names"]
    rows = []
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if j > i:
                rows.append({"a": a, "b": b, "linear_cka": round(float(out["cka"][i, j]), 3),
                             "cka_shuffled": round(float(out["cka_shuffled"][i, j]), 3),
                             "mutual_10nn": round(float(out["knn"][i, j]), 3),
                             "knn_chance": round(float(out["knn_chance"]), 3)})
    report("latent_similarity", rows, {"test_images": out["images"], "steps": args.steps})


if __name__ == "__main__":
    main()
