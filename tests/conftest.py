"""Shared fixtures: every test gets its own workspace (GENESIS_HOME), inherited by worker processes."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):  # one of several test processes on this machine's cores: one thread
    # each (set before torch is imported), or their OpenMP pools oversubscribe the cores and spin
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

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


def pytest_collection_modifyitems(config, items):
    """With several test processes (`./workbench test`), the slowest files first: a long file started last would
    leave one process working alone at the end. tests/file_seconds.json holds each file's seconds at the last
    measured run (a new file counts as quick); the order inside a file is kept."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    import json

    try:
        seconds = json.loads((ROOT / "tests" / "file_seconds.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    first_seen = {}
    for i, item in enumerate(items):
        first_seen.setdefault(item.nodeid.split("::")[0], i)
    items.sort(key=lambda item: (-seconds.get(item.nodeid.split("::")[0], 0), first_seen[item.nodeid.split("::")[0]]))
