"""Tiny language-model configs that train in seconds on the CPU."""

from __future__ import annotations

from tests.vision.helpers import merged

TINY_LM = {
    "task": "language_model",
    "name": "tiny lm",
    "optimizer": "adamw",  # the tests' fixed recipe (the default is Muon; tests/lm/test_recipe.py trains it)
    "data": {"languages": ["en", "de", "zh"], "batch_size": 16, "eval_bytes": 2048},
    "model": {"n_layer": 2, "d_model": 64, "n_head": 4, "n_kv_head": 2, "context": 64},
    "masking": {"wwm_ramp_steps": 100},
    "trainer": {"steps": 200, "lr": 3e-3, "warmup_steps": 20, "log_every": 10, "eval_every": 200,
                "checkpoint_every": 100, "preview_every": 200, "device": "cpu", "tensorboard": False},
}


def tiny_lm(**changes) -> dict:
    return merged(TINY_LM, changes)
