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


def face_like_folder(root, n: int = 200, size: int = 25, people: int = 8, seed: int = 0):
    """n grey size x size images with a face's statistics, written as PNGs in one sub-folder per person: an oval
    lit from a side, darker eyes, brows and mouth at jittered places, each person's own proportions, and
    smooth (1/f) texture and noise; the set a test of "never below PCA" trains on (real face sets need a
    download)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1) * 2 - 1

    def smooth(scale: float) -> np.ndarray:
        f = np.fft.fftfreq(size)
        amp = 1 / np.maximum(np.hypot(*np.meshgrid(f, f)), 1 / size) ** 1.5
        field = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) * amp))
        return scale * field / (field.std() + 1e-9)

    shapes = [(rng.uniform(0.55, 0.75), rng.uniform(0.75, 0.95), rng.uniform(0.2, 0.35)) for _ in range(people)]
    for i in range(n):
        person = i % people
        width, height, eye_gap = shapes[person]
        dx, dy = rng.normal(0, 0.05, 2)
        face = ((xx - dx) / width) ** 2 + ((yy - dy) / height) ** 2 < 1
        light = 0.55 + 0.25 * rng.uniform(-1, 1) * (xx - dx)
        img = np.where(face, light, 0.15 + 0.05 * rng.uniform())
        for ex in (-eye_gap, eye_gap):
            img -= 0.3 * np.exp(-(((xx - dx - ex) / 0.1) ** 2 + ((yy - dy + 0.25) / 0.07) ** 2))
            img -= 0.15 * np.exp(-(((xx - dx - ex) / 0.15) ** 2 + ((yy - dy + 0.42) / 0.04) ** 2))
        img -= 0.25 * np.exp(-(((xx - dx) / 0.25) ** 2 + ((yy - dy - 0.45 + rng.normal(0, 0.03)) / 0.06) ** 2))
        img += smooth(0.04) + rng.normal(0, 0.02, img.shape)
        folder = root / f"person_{person}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8), "L").save(folder / f"{i:04d}.png")
    return root


def assert_exact_likelihood(flow, u: torch.Tensor, tol: float = 1e-8) -> None:
    """A flow's exact inversion of u, and its log_prob of each row equal to the change of variables through the
    full Jacobian of u -> z (autograd), to `tol` relative."""
    import math

    z, _ = flow(u)
    torch.testing.assert_close(flow.inverse(z), u, atol=tol, rtol=0)
    shape = u.shape[1:]
    for i in range(len(u)):
        jac = torch.autograd.functional.jacobian(lambda v: flow(v.view(1, *shape))[0].flatten(), u[i].flatten())
        direct = -0.5 * float((z[i] ** 2).sum() + z[i].numel() * math.log(2 * math.pi)) + float(
            torch.linalg.slogdet(jac)[1])
        assert abs(float(flow.log_prob(u[i:i + 1])) - direct) < tol * max(1.0, abs(direct))
