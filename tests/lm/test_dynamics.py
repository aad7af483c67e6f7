"""Phase-anchored improvement: the loss change since each intervention, read from a run's store."""

import numpy as np
import pytest

from genesis_core.lm import dynamics
from genesis_core.store.metrics import MetricsWriter


def write_run(workspace, losses, events):
    run = workspace.create_run("language_model", {"task": "language_model"}, name="phases")
    writer = MetricsWriter(run.metrics_path)
    for step, loss in enumerate(losses, start=1):
        writer.log_scalars(step, {"loss": loss, "loss_ema": loss})
    for step, kind, data in events:
        writer.log_event(step, kind, f"{kind} at {step}", **data)
    writer.flush()
    writer.close()
    return run


def test_phases_are_cut_at_interventions_and_measure_the_change_since_each(workspace):
    losses = np.concatenate([np.linspace(3.0, 2.0, 40), np.full(20, 2.0), np.linspace(2.0, 1.5, 40)])
    run = write_run(workspace, losses, [
        (30, "spike", {"action": "skipped"}),
        (45, "spike", {}),  # only logged: not an intervention
        (60, "stun", {}),
        (80, "stagnation", {}),  # a warning, not an intervention
    ])
    phases = dynamics.phase_improvement(run)
    assert phases["opened_by"].tolist() == ["start", "spike", "stun"]
    assert phases["start_step"].tolist() == [1, 30, 60] and phases["end_step"].tolist() == [29, 59, 100]
    now = phases.iloc[-1]
    assert now["ema_start"] == pytest.approx(losses[59]) and now["ema_end"] == pytest.approx(losses[-1])
    assert now["change"] == pytest.approx(losses[-1] - losses[59])
    assert now["change_per_1k"] == pytest.approx((losses[-1] - losses[59]) / 40 * 1000)
    first = phases.iloc[0]
    assert first["change"] == pytest.approx(losses[28] - losses[0]) and first["best_loss"] == pytest.approx(losses[28])


def test_a_run_without_interventions_is_one_phase_and_an_empty_run_none(workspace):
    run = write_run(workspace, [3.0, 2.5, 2.0], [])
    phases = dynamics.phase_improvement(run)
    assert len(phases) == 1 and phases.iloc[0]["change"] == pytest.approx(-1.0)
    empty = write_run(workspace, [], [])
    assert dynamics.phase_improvement(empty).empty
