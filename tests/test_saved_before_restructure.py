"""Runs written by the code before the house was restructured (issue 35, commit 9b7884b) load after it: every
model's weights fit the model its task builds now, the tabular run's pickled generator is still trusted and samples,
and the runs list reads them. The fixture was written with 3-step runs of each task (optimizer states dropped)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "workspace_before_restructure"
TRAINED = ["image_autoencoder", "image_diffusion", "image_gan", "image_flow", "image_vqvae", "language_model"]


@pytest.fixture
def old_workspace(tmp_path, monkeypatch):
    home = tmp_path / "old"
    shutil.copytree(FIXTURE, home)
    monkeypatch.setenv("GENESIS_HOME", str(home))
    from genesis_core.store.workspace import Workspace

    return Workspace(home)


def test_every_run_saved_before_the_restructure_loads(old_workspace):
    from genesis_core.training.loading import load_model

    runs = {run.task: run for run in old_workspace.list_runs()}
    assert set(runs) == set(TRAINED) | {"tabular_synthesis"}
    for task in TRAINED:
        loaded = load_model(runs[task].id, old_workspace)
        assert loaded.meta["task"] == task
        assert sum(p.numel() for p in loaded.model.parameters()) > 0


def test_the_old_synthesis_samples_again(old_workspace):
    from genesis_core.tabular.pipeline import sample_more

    run = next(r for r in old_workspace.list_runs() if r.task == "tabular_synthesis")
    frame = pd.read_csv(sample_more(run, 25, seed=3))
    assert len(frame) == 25 and list(frame.columns) == ["x", "kind", "n"]
    assert set(frame["kind"].dropna()) <= {"a", "b"}
