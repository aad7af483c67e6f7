"""Writes tests/data/lm_loss_curve.csv: the per-step training loss of a tiny byte-level LM (run from the repo root:
.venv/bin/python tests/data/make_lm_loss_curve.py; about 5 minutes on one CPU thread)."""
import warnings

import numpy as np
import torch

from genesis_core.config import from_dict
from genesis_core.registry import TASKS
from genesis_core.training.trainer import Trainer

warnings.simplefilter("ignore")
torch.set_num_threads(1)
cfg = {"task": "language_model", "data": {"languages": ["en", "de", "zh"], "batch_size": 8}, "model": {"n_layer": 2, "d_model": 64, "n_head": 4, "n_kv_head": 2, "context": 64}, "stun": {"enabled": False},
       "trainer": {"steps": 10000, "lr": 3e-3, "warmup_steps": 50, "log_every": 1, "eval_every": 0, "device": "cpu", "tensorboard": False, "preview_every": 0, "checkpoint_every": 0}}
c = from_dict(TASKS.get("language_model").config_cls, cfg)
task = TASKS.get("language_model")(c, torch.device("cpu"))
t = Trainer(task, None)
out = []
orig = task.training_step


def step(model, batch):
    loss, extra = orig(model, batch)
    out.append(float(loss))
    return loss, extra


task.training_step = step
t.fit()
np.savetxt("tests/data/lm_loss_curve.csv", np.c_[np.arange(1, len(out) + 1), out], fmt=["%d", "%.5f"], delimiter=",", header="step,loss", comments="")
print(len(out), out[0], out[-1])
