"""Rational-quadratic spline couplings (neural spline flows): each spline is monotone, the identity outside its
bound, inverted exactly in closed form, and its log-derivative equals autograd's, over generated parameters; a flow
built of them keeps an exact likelihood (against the full Jacobian) and learns the digits."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genesis_core.vision.networks.flow import Flow
from genesis_core.vision.networks.spline import rational_quadratic_spline
from tests.vision.helpers import assert_exact_likelihood, beats_noise, train_family


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), bins=st.integers(2, 12), bound=st.floats(0.5, 6.0),
       scale=st.floats(0.0, 8.0))
def test_a_spline_is_monotone_exactly_invertible_and_its_log_derivative_is_autograds(seed, bins, bound, scale):
    g = torch.Generator().manual_seed(seed)
    n = 256
    x = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * bound * 1.5  # a third of them outside
    x = torch.cat([x, torch.tensor([-bound, bound, 0.0], dtype=torch.float64)]).sort().values
    w, h = (torch.randn(len(x), bins, generator=g, dtype=torch.float64) * scale for _ in range(2))
    d = torch.randn(len(x), bins - 1, generator=g, dtype=torch.float64) * scale
    shared = [t[:1].expand_as(t) for t in (w, h, d)]  # one spline for every x: monotone along the sorted x
    y, logdet = rational_quadratic_spline(x, *shared, bound=bound)
    assert bool((y[1:] >= y[:-1]).all())
    outside = x.abs() > bound
    assert torch.equal(y[outside], x[outside]) and bool((logdet[outside] == 0).all())
    assert float((y[~outside].abs() - bound).max()) <= 1e-9  # [-B, B] onto itself
    y, logdet = rational_quadratic_spline(x, w, h, d, bound=bound)  # a spline per x
    back, inverse_logdet = rational_quadratic_spline(y, w, h, d, bound=bound, inverse=True)
    torch.testing.assert_close(back, x, atol=1e-7 * bound, rtol=0)
    torch.testing.assert_close(inverse_logdet, -logdet, atol=1e-6, rtol=0)
    xr = x.clone().requires_grad_()
    slope = torch.autograd.grad(rational_quadratic_spline(xr, w, h, d, bound=bound)[0].sum(), xr)[0]
    torch.testing.assert_close(slope.log(), logdet, atol=1e-6, rtol=0)


def test_a_spline_coupling_with_a_zero_last_layer_is_the_identity():
    flow = Flow((1, 8, 8), depth=2, hidden=16, coupling="spline")
    coupling = flow.levels[0][0][2]
    x = torch.randn(3, 4, 4, 4)
    y, logdet = coupling(x)
    torch.testing.assert_close(y, x, atol=1e-5, rtol=0)
    torch.testing.assert_close(logdet, torch.zeros(3), atol=1e-4, rtol=0)


def test_a_spline_flow_log_likelihood_matches_the_full_jacobian_and_inversion_is_exact():
    torch.manual_seed(0)
    flow = Flow((1, 4, 4), depth=2, hidden=8, coupling="spline", bins=5).double()
    for level in flow.levels:
        for _, _, coupling in level:
            torch.nn.init.normal_(coupling.net[-1].weight, std=0.5)  # bent splines, not the identity
    assert_exact_likelihood(flow, torch.rand(2, 1, 4, 4, dtype=torch.float64) * 0.9 + 0.05)


def test_a_spline_flow_learns_the_digits(workspace):
    task, tr = train_family("image_flow", 150, {"depth": 2, "hidden": 32, "coupling": "spline"}, lr=2e-3)
    beats_noise(tr.last_eval)
    assert tr.last_eval["eval/test_bits_per_dim"] < 8.0  # a uniform model of 256 levels scores 8
    assert task.sample(tr.model.eval(), 4, None, 0).shape == (4, 1, 8, 8)
