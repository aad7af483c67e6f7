"""How alike two models' latent spaces are, on the same images: seed 000's "how does latent organisation differ
across architectures?".

  linear CKA      centred kernel alignment with linear kernels (Kornblith et al. 2019): 1 when one space is a
                  rotation and isotropic scaling of the other, invariant to those, not to any invertible map;
                  beside it, the CKA of one space with the other's rows shuffled (what unrelated codes score)
  mutual k-NN     the share of each image's k nearest neighbours (Euclidean, in each space) that the two spaces
                  agree on (Huh et al. 2024, "The Platonic Representation Hypothesis"), beside k / (N - 1), what
                  random neighbours share

Both compare codes of different sizes; neither needs the spaces aligned first (the swap matrix does that).
"""

from __future__ import annotations

import numpy as np
import torch


def _as_array(z) -> np.ndarray:
    z = z.detach().cpu().numpy() if isinstance(z, torch.Tensor) else np.asarray(z)
    return z.reshape(len(z), -1).astype(np.float64)


def linear_cka(x, y) -> float:
    """Linear CKA of two sets of codes of the same N images, (N, d1) and (N, d2)."""
    x, y = _as_array(x), _as_array(y)
    if len(x) != len(y):
        raise ValueError(f"the two sets of codes are of {len(x)} and {len(y)} images; CKA needs the same images")
    x, y = x - x.mean(0), y - y.mean(0)
    cross = np.linalg.norm(y.T @ x) ** 2
    norm = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(cross / norm) if norm > 0 else 0.0


def _neighbours(z: np.ndarray, k: int) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    idx = NearestNeighbors(n_neighbors=k + 1).fit(z).kneighbors(z, return_distance=False)
    return idx[:, 1:]  # each point's own index first: left out


def mutual_knn(x, y, k: int = 10) -> float:
    """The mean share of each image's k nearest neighbours that both spaces name."""
    x, y = _as_array(x), _as_array(y)
    if len(x) != len(y):
        raise ValueError("mutual k-NN needs codes of the same images")
    if not 1 <= k < len(x) - 1:
        raise ValueError(f"k must be between 1 and {len(x) - 2} for {len(x)} images")
    a, b = _neighbours(x, k), _neighbours(y, k)
    return float(np.mean([len(set(ra) & set(rb)) / k for ra, rb in zip(a, b)]))


def similarity(codes: dict[str, object], k: int = 10, seed: int = 0) -> dict[str, object]:
    """Every pair of models: {"names", "cka" (M, M), "knn" (M, M), "cka_shuffled" (M, M), "knn_chance"}."""
    names = list(codes)
    arrays = [_as_array(codes[n]) for n in names]
    n = len(arrays[0])
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    m = len(names)
    cka, knn, shuffled = np.eye(m), np.eye(m), np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            shuffled[i, j] = linear_cka(arrays[i], arrays[j][order])
            if j > i:
                cka[i, j] = cka[j, i] = linear_cka(arrays[i], arrays[j])
                knn[i, j] = knn[j, i] = mutual_knn(arrays[i], arrays[j], k)
    return {"names": names, "cka": cka, "knn": knn, "cka_shuffled": shuffled, "knn_chance": k / (n - 1),
            "images": n, "k": k}
