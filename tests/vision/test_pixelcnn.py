"""The gated PixelCNN: exactly causal, its bits per dim equal to the product of its conditionals computed one
position at a time, it beats noise on FD, and as the VQ-VAE's prior it is scored beside the independent prior."""

import math

import pytest
import torch

from genesis_core.vision.networks.pixelcnn import ImagePixelCNN, PixelCNN
from tests.vision.helpers import beats_noise, train_family


def random_net(**kw) -> PixelCNN:
    torch.manual_seed(0)
    net = PixelCNN(**kw).eval()
    for p in net.parameters():
        p.data.normal_(0, 0.3)
    return net


def test_pixelcnn_sees_only_the_positions_above_and_to_the_left():
    net = random_net(categories=16, dim=8, layers=4, kernel=3, embed=True)
    values = torch.randint(0, 16, (1, 9, 9))
    base = net.logits(values)
    for i, j in [(0, 0), (4, 4), (8, 2)]:
        changed = values.clone()
        changed[0, i, j] = (changed[0, i, j] + 1) % 16
        moved = (net.logits(changed) - base).abs().amax(1)[0] > 1e-6
        rows, cols = torch.nonzero(moved, as_tuple=True)
        after = rows * 9 + cols
        assert bool((after > i * 9 + j).all())  # only later positions in raster order change
        if j + 1 < 9:
            assert bool(moved[i, j + 1])  # and the next one does (no blind spot to the right)
        if i + 1 < 9:
            assert bool(moved[i + 1, j])  # the position below sees it through the vertical stack


def test_pixelcnn_bits_per_dim_equal_its_conditionals_one_position_at_a_time():
    model = ImagePixelCNN((1, 6, 6), dim=8, layers=3, kernel=3)
    for p in model.parameters():
        p.data.normal_(0, 0.3)
    x = torch.rand(2, 1, 6, 6)
    levels = model.levels(x)
    direct = torch.zeros(2, dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    for i in range(6):
        for j in range(6):
            probe = levels.clone()  # what comes after (i, j) replaced by noise: it must not matter
            flat = probe.view(2, -1)
            flat[:, i * 6 + j + 1:] = torch.randint(0, 256, flat[:, i * 6 + j + 1:].shape, generator=g)
            logp = torch.log_softmax(model.net.logits_at(probe, i, j).double(), 1)
            direct -= logp[torch.arange(2), levels[:, i, j]]
    expected = direct / (36 * math.log(2))
    torch.testing.assert_close(model.bits_per_dim(x).double(), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="one channel"):
        ImagePixelCNN((3, 8, 8))


def test_pixelcnn_beats_noise_and_reports_exact_bits_per_dim(workspace):
    task, tr = train_family("image_pixelcnn", 200, {"dim": 32, "layers": 4, "kernel": 5}, lr=2e-3)
    m = tr.last_eval
    beats_noise(m)
    assert m["eval/test_bits_per_dim"] < 4.0  # a uniform model of 256 levels scores 8
    samples = task.sample(tr.model, 3, None, seed=0)
    assert samples.shape == (3, 1, 8, 8) and torch.equal(samples, task.sample(tr.model, 3, None, seed=0))
    assert torch.equal((samples * 255).round() / 255, samples)  # pixels on the 256 levels


def test_vqvae_with_a_pixelcnn_prior_is_scored_beside_the_independent_prior(workspace):
    task, tr = train_family("image_vqvae", 300, {"codes": 32, "prior": "pixelcnn", "prior_dim": 32,
                                                 "prior_layers": 3}, lr=2e-3)
    m = tr.last_eval
    beats_noise(m)
    assert m["eval/fd_independent_prior"] > 0 and 0 < m["eval/prior_bits_per_code"] < math.log2(32)
    codes = tr.model.sample(4, torch.Generator().manual_seed(0))
    assert codes.shape == (4, 1, 8, 8)
    assert any(k.startswith("prior_net.") for k in tr.model.state_dict())
