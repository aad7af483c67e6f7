"""The energy-based model: Langevin lowers the energy and leaves the parameters alone, training beats noise on FD,
and instabilities become events."""

import torch

from genesis_core.vision.tasks.density_families import EnergyWatch
from genesis_core.vision.networks.energy import EBM
from tests.vision.helpers import beats_noise, train_family


def test_langevin_descends_the_energy_without_touching_the_parameters():
    torch.manual_seed(0)
    ebm = EBM((1, 8, 8), width=8, buffer_size=16)
    x = torch.rand(16, 1, 8, 8) * 2 - 1
    after = ebm.langevin(x, 30, step_size=10.0, noise=0.0, grad_clamp=0.03)
    assert float(ebm.energy(after).mean()) < float(ebm.energy(x).mean())
    assert float(after.abs().max()) <= 1 and all(p.grad is None for p in ebm.parameters())
    start, rows = ebm.replay_batch(8, reinit=1.0)
    assert not torch.equal(start, ebm.buffer[rows])  # every chain restarted from noise


def test_ebm_beats_noise_and_logs_its_energies(workspace):
    task, tr = train_family("image_ebm", 300, {"width": 16, "langevin_steps": 20, "sample_steps": 60},
                            lr=1e-3, log_every=20)
    beats_noise(tr.last_eval, 0.8)
    _, logs = task.training_step(tr.model, (task.split.train_x[:16], task.split.train_y[:16]))
    assert {"energy_gap", "regulariser", "energy_data", "energy_samples"} <= set(logs)


def test_an_unstable_energy_gap_is_one_event_and_its_recovery_another():
    events = []

    class T:
        step = 7

        def log_event(self, kind, message):
            events.append((kind, message))

    watch = EnergyWatch(5.0)
    for gap in (0.5, 8.0, 12.0, float("nan"), 1.0, 0.2):
        watch.on_step_end(T(), {"energy_gap": gap})
    assert [k for k, _ in events] == ["ebm_unstable", "ebm_stable"] and "8" in events[0][1]
