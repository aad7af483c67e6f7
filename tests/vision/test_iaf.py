"""The inverse autoregressive flow as a VAE posterior: each map is autoregressive, log q(z|x) equals a direct
change of variables through the maps' full Jacobian, an untrained IAF posterior is the Gaussian one (its KL estimate
averages to the closed form), and a VAE with it trains, reports its rate and encodes to the decoder's space."""

import math

import pytest
import torch

from genesis_core.vision.networks.autoencoders import Autoencoder, AutoencoderConfig
from genesis_core.vision.networks.iaf import IAFPosterior
from tests.vision.helpers import config, train


def bent(posterior: IAFPosterior) -> IAFPosterior:
    for made in posterior.mades:
        torch.nn.init.normal_(made.out.weight, std=0.3)
    return posterior


def test_log_q_is_the_gaussian_density_through_the_full_jacobian_of_the_maps():
    torch.manual_seed(0)
    post = bent(IAFPosterior(5, steps=3, hidden=16)).double()
    mu, logvar, ctx = torch.randn(1, 5).double(), torch.randn(1, 5).double() * 0.3, torch.randn(1, 5).double()
    torch.manual_seed(1)
    z, kl = post.sample(mu, logvar, ctx)
    torch.manual_seed(1)
    z0 = mu + torch.randn_like(mu) * (0.5 * logvar).exp()  # the same draw before the maps
    jac = torch.autograd.functional.jacobian(lambda v: post.flow(v[None], ctx)[0][0], z0[0])
    log_q0 = torch.distributions.Normal(mu, (0.5 * logvar).exp()).log_prob(z0).sum()
    log_q = log_q0 - torch.linalg.slogdet(jac)[1]
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum()
    assert float(kl[0]) == pytest.approx(float(log_q - log_p), abs=1e-9)


def test_each_map_is_autoregressive_in_its_order():
    torch.manual_seed(0)
    post = bent(IAFPosterior(6, steps=1, hidden=24))
    ctx = torch.randn(1, 6)
    jac = torch.autograd.functional.jacobian(lambda v: post.flow(v[None], ctx)[0][0], torch.randn(6))
    order = post.mades[0].order.tolist()
    for pos, d in enumerate(order):
        for k in order[pos + 1:]:
            assert float(jac[d, k]) == 0  # z_d never depends on a later variable of the order


def test_an_untrained_iaf_posterior_is_the_gaussian_one():
    torch.manual_seed(0)
    post = IAFPosterior(4, steps=2, hidden=8)
    mu, logvar = torch.randn(1, 4).expand(20000, 4), torch.randn(1, 4).expand(20000, 4) * 0.5
    z, kl = post.sample(mu, logvar, torch.randn(20000, 4))
    closed = float(-0.5 * (1 + logvar[0] - mu[0] ** 2 - logvar[0].exp()).sum())
    assert float(kl.mean()) == pytest.approx(closed, abs=0.05)
    torch.testing.assert_close(post.mean_path(mu[:1], torch.zeros(1, 4)), mu[:1])


def test_iaf_needs_a_variational_autoencoder():
    with pytest.raises(ValueError, match="variational"):
        AutoencoderConfig(posterior="iaf")


def test_a_vae_with_an_iaf_posterior_trains_and_reports_its_rate(workspace):
    run, tr = train(workspace, config(steps=120, model={"variational": True, "posterior": "iaf", "latent_dim": 8,
                                                        "beta": 0.1, "channels": 8}))
    m = tr.last_eval
    assert m["eval/test_kl_nats"] > 0 and m["eval/test_neg_elbo_nats"] > m["eval/test_kl_nats"]
    assert m["eval/psnr_db"] > m["eval/pca_psnr_db"] - 6  # learns something in 120 steps
    model: Autoencoder = tr.model.eval()
    x = tr.task.split.test_x[:3]
    assert model.encode(x).shape == (3, 8) and model.decode(model.encode(x)).shape == x.shape
    assert any(float(p.abs().sum()) > 0 for made in model.posterior.mades for p in made.out.parameters())
    with torch.no_grad():
        assert math.isfinite(float(model(x)[3].mean()))
