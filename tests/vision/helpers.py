"""Tiny image-lab runs trained in process (about a second each on the CPU), for analysis and page tests."""

from __future__ import annotations

import copy

import torch

from genesis_core.config import from_dict
from genesis_core.registry import TASKS
from genesis_core.training.trainer import Trainer

DIGITS = {"dataset": "sklearn_digits", "batch_size": 32}
FAST = {"lr": 3e-3, "log_every": 10, "checkpoint_every": 0, "device": "cpu", "tensorboard": False}


def merged(base: dict, changes: dict) -> dict:
    """A deep copy of `base` with `changes`: a dict updates the section of the same name, anything else
    replaces the key."""
    cfg = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    return cfg


def config(task: str = "image_autoencoder", steps: int = 60, **sections) -> dict:
    return merged({"task": task, "name": sections.pop("name", task), "data": DIGITS,
                   "trainer": {**FAST, "steps": steps, "eval_every": steps}}, sections)


def make_task(cfg: dict):
    cls = TASKS.get(cfg["task"])
    return cls(from_dict(cls.config_cls, cfg), torch.device("cpu"))


def train(workspace, cfg: dict):
    """Train `cfg` into a new run of `workspace`; returns (run, trainer)."""
    run = workspace.create_run(cfg["task"], cfg, name=cfg.get("name", ""))
    trainer = Trainer(make_task(cfg), run)
    trainer.fit()
    return run, trainer


def train_family(family: str, steps: int, model: dict | None = None, run=None, **trainer):
    """A generative family trained in process on the 8x8 digits; returns (task, trainer)."""
    cfg = from_dict(TASKS.get(family).config_cls, {
        "task": family, "data": {"dataset": "sklearn_digits", "batch_size": 64}, "model": model or {},
        "eval_samples": 200, "trainer": {"steps": steps, "eval_every": 0, "device": "cpu", "tensorboard": False,
                                         "checkpoint_every": 0, "log_every": 10, **trainer}})
    task = TASKS.get(family)(cfg, torch.device("cpu"))
    tr = Trainer(task, run)
    tr.fit()
    return task, tr


def beats_noise(metrics: dict, share: float = 0.5) -> None:
    """FD below `share` of uniform noise's, above the held-out real images' floor."""
    assert metrics["eval/fd"] < share * metrics["eval/fd_noise"], metrics
    assert metrics["eval/fd_floor"] < metrics["eval/fd"]  # held-out real images are the floor
    assert metrics["eval/sample_ms_per_image"] > 0
