"""The masked autoregressive flow: autoregressive in its order, exact log-likelihood equal to a direct
change-of-variables computation with the full Jacobian, exact inversion, and it beats noise on FD."""


import torch

from genesis_core.vision.networks.maf import MAF, MADE
from tests.vision.helpers import assert_exact_likelihood, beats_noise, train_family


def test_made_outputs_depend_only_on_earlier_inputs_in_its_order():
    made = MADE(6, 12, reverse=True)
    torch.nn.init.normal_(made.out.weight)
    jac = torch.autograd.functional.jacobian(lambda v: torch.cat(made(v[None])[0:2], 1)[0], torch.randn(6))
    order = made.order.tolist()
    for pos, d in enumerate(order):
        allowed = set(order[:pos])
        for k in range(6):
            if k not in allowed:
                assert float(jac[d, k]) == 0 and float(jac[6 + d, k]) == 0


def test_maf_log_likelihood_matches_the_full_jacobian_and_inversion_is_exact():
    torch.manual_seed(0)
    maf = MAF((1, 4, 4), layers=3, hidden=32).double()
    for made in maf.mades:
        torch.nn.init.normal_(made.out.weight, std=0.1)
    assert_exact_likelihood(maf, torch.rand(2, 1, 4, 4, dtype=torch.float64) * 0.9 + 0.05)


def test_maf_beats_noise_and_reports_bits_per_dim(workspace):
    task, tr = train_family("image_maf", 300, {"layers": 3, "hidden": 128}, lr=2e-3)
    beats_noise(tr.last_eval)
    assert tr.last_eval["eval/test_bits_per_dim"] < 8.0
    from genesis_core.vision.analysis.explore import interpolate

    frames = interpolate(task, tr.model.eval(), task.split.test_x[0], task.split.test_x[1], 4)
    assert frames.shape == (4, 1, 8, 8)
    torch.testing.assert_close(frames[0], task.split.test_x[0].clamp(1 / 512, 1 - 1 / 512), atol=2e-3, rtol=0)
