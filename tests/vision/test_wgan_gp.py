"""WGAN-GP beside the spectral-norm logistic GAN: a plain critic, the Wasserstein loss, a gradient penalty equal
to a direct computation, and the generator updated on one step in n_critic."""

import pytest
import torch

from genesis_core.vision.networks.gan import GAN
from genesis_core.vision.networks.losses import WeightedLoss, gradient_penalty
from tests.vision.helpers import beats_noise, train_family


def test_wgan_gp_beats_noise_and_logs_its_penalty(workspace):
    task, tr = train_family("image_gan", 600, {"loss": "wgan_gp", "width": 32, "n_critic": 2}, lr=5e-4)
    beats_noise(tr.last_eval, 0.5)  # measured: FD 156 at 600 steps, 334 at 900, noise 1,982
    gan = tr.model
    assert not any("parametrizations" in k for k in gan.state_dict())  # no spectral norm in the critic
    _, logged = task.training_step(gan, (task.split.train_x[:32], task.split.train_y[:32]))
    assert {"d_loss", "g_loss", "gradient_penalty"} <= set(logged)


def test_gradient_penalty_equals_a_direct_computation():
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    real, fake = torch.rand(5, 1, 4, 4), torch.rand(5, 1, 4, 4)
    torch.manual_seed(1)
    gp = gradient_penalty(critic, real, fake)
    torch.manual_seed(1)
    eps = torch.rand(5, 1, 1, 1)
    direct = 0.0
    for i in range(5):  # one image at a time, its gradient by autograd.functional
        x_hat = eps[i] * real[i] + (1 - eps[i]) * fake[i]
        g = torch.autograd.functional.jacobian(lambda v: critic(v[None]).squeeze(), x_hat)
        direct += (g.norm() - 1) ** 2 / 5
    assert float(gp.detach()) == pytest.approx(float(direct), rel=1e-5)
    gp.backward()  # create_graph: the penalty trains the critic
    assert critic[1].weight.grad is not None and float(critic[1].weight.grad.abs().sum()) > 0


def test_the_generator_moves_on_one_step_in_n_critic(workspace):
    from genesis_core.config import from_dict
    from genesis_core.registry import TASKS

    cls = TASKS.get("image_gan")
    cfg = from_dict(cls.config_cls, {"task": "image_gan", "data": {"dataset": "sklearn_digits"},
                                     "model": {"loss": "wgan_gp", "n_critic": 3, "width": 16}})
    task = cls(cfg, torch.device("cpu"))
    gan = task.build_model()
    opt = task.build_optimizer(gan)
    assert opt.defaults["betas"] == (0.0, 0.9)
    batch = (task.split.train_x[:16], task.split.train_y[:16])
    moved = []
    for _ in range(6):
        before = [p.detach().clone() for p in gan.generator.parameters()]
        critic_before = [p.detach().clone() for p in gan.discriminator.parameters()]
        loss, _ = task.training_step(gan, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        moved.append(any(not torch.equal(a, b) for a, b in zip(before, gan.generator.parameters())))
        assert any(not torch.equal(a, b) for a, b in zip(critic_before, gan.discriminator.parameters()))
    assert moved == [False, False, True, False, False, True]
    with pytest.raises(ValueError, match="GAN loss 'hinge'"):
        GAN((1, 8, 8), loss="hinge")


def test_weighted_loss_weighs_logs_unweighted_and_names_a_missing_weight():
    total, logs = WeightedLoss(a=2.0, b=0.0)(a=torch.tensor(3.0), b=torch.tensor(5.0))
    assert float(total) == 6.0 and float(logs["b"]) == 5.0
    with pytest.raises(KeyError, match="without a weight: c"):
        WeightedLoss(a=1.0)(a=torch.tensor(1.0), c=torch.tensor(1.0))
