"""Sample quality without downloaded weights: a small classifier trained on the dataset itself (once per
dataset split, cached in the workspace) gives the features.

  FD (domain features)   Fréchet distance between Gaussians fitted to the features of real training images and
                         of samples. Not FID: the features are not Inception's, so the numbers only compare
                         models on the same dataset.
  precision / recall     Kynkäänniemi et al. 2019 with k = 5 nearest neighbours, and density / coverage
  density / coverage     (Naeem et al. 2020): how many samples look real, how much of the real data is reached
  class accuracy         conditional samples classified as the class they were asked for
Every figure is computed the same way for held-out real images (the floor: what a perfect model scores with
this many images) and for uniform noise, so a model's number always sits between its baselines.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from genesis_core.vision.data import ImageSplit

K_NEIGHBOURS = 5
FEATURE_DIM = 64


_MEMO: dict[str, tuple[dict, dict]] = {}  # this process's classifiers, by cache key (also across workspaces)
ARCHITECTURE = 2  # part of the cache key: a cached classifier of another architecture is never loaded


class DomainClassifier(nn.Module):
    def __init__(self, channels: int, num_classes: int, size: int = 28):
        super().__init__()
        pools = [nn.MaxPool2d(2) if size // 2 ** i >= 12 else nn.Identity() for i in range(2)]  # 28 -> 14 -> 7
        self.body = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), pools[0], nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            pools[1], nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
            nn.Flatten(), nn.Linear(64 * 16, FEATURE_DIM))  # the features: before the last ReLU, so none is dead
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(FEATURE_DIM, num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def _train_classifier(split: ImageSplit, steps: int, seed: int) -> tuple[DomainClassifier, float]:
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = DomainClassifier(split.image_shape[0], split.num_classes, min(split.image_shape[1:]))
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    x, y = split.train_x, split.train_y
    for _ in range(steps):
        idx = torch.randint(len(x), (min(128, len(x)),), generator=g)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = float((model(split.test_x).argmax(1) == split.test_y).float().mean())
    return model, acc


def domain_classifier(split: ImageSplit, data_key: tuple, steps: int = 400, seed: int = 0,
                      cache_dir=None) -> tuple[DomainClassifier, float]:
    """(the classifier, its test accuracy) for this dataset split: trained once, then read from the workspace's
    cache (safetensors) or this process's memory, keyed by the split, the training settings and the
    architecture."""
    from genesis_core.store.cache import ResultCache, cache_key
    from genesis_core.store.workspace import Workspace

    cache = ResultCache(cache_dir or Workspace().cache_dir)
    key = cache_key("domain_classifier", "", {"data": [str(k) for k in data_key], "steps": steps, "seed": seed,
                                              "shape": list(split.image_shape), "classes": split.num_classes,
                                              "architecture": ARCHITECTURE})
    try:
        hit = _MEMO.get(key) or cache.get_tensors(key)
        if hit is not None:
            model = DomainClassifier(split.image_shape[0], split.num_classes, min(split.image_shape[1:]))
            model.load_state_dict(hit[0])
            return model.eval(), float(hit[1]["test_accuracy"])
        with torch.enable_grad():
            model, acc = _train_classifier(split, steps, seed)
        cache.put_tensors(key, model.state_dict(), {"test_accuracy": acc})
        _MEMO[key] = ({k: v.clone() for k, v in model.state_dict().items()}, {"test_accuracy": acc})
        return model, acc
    finally:
        cache.close()


@torch.no_grad()
def features(model: DomainClassifier, images: torch.Tensor, batch: int = 500) -> np.ndarray:
    return torch.cat([model.features(b.float().cpu()) for b in images.split(batch)]).numpy().astype(np.float64)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eps = np.eye(len(s1)) * 1e-6  # as the reference implementation does for near-singular products
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps)).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def prdc(real: np.ndarray, fake: np.ndarray, k: int = K_NEIGHBOURS) -> dict[str, float]:
    """Precision, recall, density and coverage (Naeem et al. 2020) with k nearest neighbours."""
    from sklearn.neighbors import NearestNeighbors

    def radii(x):
        return NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)[0][:, -1]  # itself first

    from sklearn.metrics import pairwise_distances

    r_real, r_fake = radii(real), radii(fake)
    d = pairwise_distances(fake, real)  # [fake, real]; a thousand of each is 8 MB
    inside = d < r_real[None, :]  # fake j inside real i's k-NN ball
    precision = float(inside.any(1).mean())
    density = float(inside.sum(1).mean() / k)
    coverage = float((d.min(0) < r_real).mean())
    recall = float((d < r_fake[:, None]).any(0).mean())  # real i inside some fake's ball
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


class SampleScorer:
    """Scores images against a dataset split: the reference features are those of `n` training images."""

    def __init__(self, split: ImageSplit, data_key: tuple, n: int = 1000, seed: int = 0, cache_dir=None):
        self.model, self.classifier_accuracy = domain_classifier(split, data_key, seed=seed, cache_dir=cache_dir)
        g = torch.Generator().manual_seed(seed)
        self.n = min(n, len(split.train_x), len(split.test_x))
        pick = torch.randperm(len(split.train_x), generator=g)[:self.n]
        self.reference = features(self.model, split.train_x[pick])
        self.split, self.seed = split, seed
        self._baselines: dict[str, dict[str, float]] | None = None

    def score(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, float]:
        images = images[:self.n].float().cpu().clamp(0, 1)
        f = features(self.model, images)
        out = {"fd": frechet_distance(self.reference, f), **prdc(self.reference, f)}
        if labels is not None:
            with torch.no_grad():
                pred = self.model(images).argmax(1)
            out["class_accuracy"] = float((pred == labels[:self.n].cpu()).float().mean())
        return out

    def baselines(self) -> dict[str, dict[str, float]]:
        """The same figures for held-out real images (the floor) and for uniform noise."""
        if self._baselines is None:
            g = torch.Generator().manual_seed(self.seed + 1)
            test = self.split.test_x[torch.randperm(len(self.split.test_x), generator=g)[:self.n]]
            noise = torch.rand((self.n, *self.split.image_shape), generator=g)
            self._baselines = {"held_out_real": self.score(test), "noise": self.score(noise)}
        return self._baselines


def diversity(images: torch.Tensor, model: DomainClassifier, pairs: int = 200, seed: int = 0) -> float:
    """Mean feature distance between random pairs of images: falls when a generator collapses."""
    f = features(model, images)
    rng = np.random.default_rng(seed)
    a, b = rng.integers(len(f), size=pairs), rng.integers(len(f), size=pairs)
    return float(np.linalg.norm(f[a] - f[b], axis=1).mean())


def summary(scores: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if isinstance(v, float))
