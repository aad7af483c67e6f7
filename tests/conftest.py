"""Shared fixtures: every test gets its own workspace (GENESIS_HOME), inherited by worker processes."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from tests.timeouts import SCALE

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# A model small enough to train in about a second on one CPU core.
TINY = {
    "task": "image_autoencoder",
    "name": "tiny",
    "data": {"dataset": "sklearn_digits", "batch_size": 32},
    "model": {"arch": "mlp", "latent_dim": 4, "hidden": 32},
    "trainer": {"steps": 40, "lr": 3e-3, "log_every": 5, "eval_every": 20, "checkpoint_every": 10,
                "device": "cpu", "tensorboard": False},
}


@pytest.fixture
def tiny_config() -> dict:
    return copy.deepcopy(TINY)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    from genesis_core.store.workspace import Workspace

    home = tmp_path / "ws"
    monkeypatch.setenv("GENESIS_HOME", str(home))
    monkeypatch.setenv("GENESIS_DEVICE", "cpu")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return Workspace(home)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """pytest-timeout's limit (pytest.ini) scaled by the one factor of every wait (tests/timeouts.py)."""
    if getattr(config.option, "timeout", None):
        config.option.timeout = float(config.option.timeout) * SCALE
