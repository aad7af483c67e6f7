"""The image lab's expensive, repeatable analyses, cached in the workspace (diskcache, keyed by the hash of the
checkpoint's weights and the parameters) and shared by the pages and the CLI: the second open of the same
analysis, in any process, is instant. A newer checkpoint has another hash, so nothing stale is served.

A model is named by its catalog key (`run_id` or `run_id:z8`) and its checkpoint folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from genesis_core.store.cache import ResultCache, cache_key
from genesis_core.store.checkpoint import checkpoint_hash
from genesis_core.store.workspace import Workspace

Progress = Callable[[float, str], None]


def analysis_cache(workspace: Workspace | None = None) -> ResultCache:
    return ResultCache((workspace or Workspace()).cache_dir)


def model_id(key: str, checkpoint: str | Path) -> str:
    """What identifies a model's weights: the checkpoint's hash and the sweep member."""
    return f"{checkpoint_hash(checkpoint)}:{key.partition(':')[2]}"


def encodings(model, key: str, checkpoint: str | Path, images: torch.Tensor, name: str = "test",
              cache: ResultCache | None = None) -> torch.Tensor:
    """The model's codes of `images` (named, e.g. "test" for its test split)."""
    from genesis_core.vision.analysis.latent import encode_images

    cache = cache or analysis_cache()
    k = cache_key("encodings", model_id(key, checkpoint), {"images": name, "n": len(images)})
    hit = cache.get_tensors(k)
    if hit is not None:
        return hit[0]["z"]
    z = encode_images(model, images)
    cache.put_tensors(k, {"z": z})
    return z


def projection(z: torch.Tensor, key: str, checkpoint: str | Path, method: str, seed: int = 0,
               cache: ResultCache | None = None) -> dict[str, Any]:
    """A 2-D map of codes: {"coords": (N, 2) array, "trustworthiness", "can_place_new_points"}."""
    from genesis_core.vision.analysis.latent import project

    cache = cache or analysis_cache()
    k = cache_key("projection", model_id(key, checkpoint), {"method": method, "n": len(z), "seed": seed})

    def compute():
        p = project(z, method, seed=seed)
        return {"coords": np.asarray(p.coords, dtype=float).tolist(), "trustworthiness": float(p.trustworthiness),
                "can_place_new_points": bool(p.can_place_new_points)}

    out = dict(cache.get_or_compute(k, compute))
    out["coords"] = np.asarray(out["coords"])
    return out


def swap(model_a, model_b, a: tuple[str, str], b: tuple[str, str], anchors: torch.Tensor, images: torch.Tensor,
         labels: torch.Tensor, translator: str, keep: int = 16, cache: ResultCache | None = None) -> dict[str, Any]:
    """Encoder A -> translator -> decoder B on `images`: the scores and the first `keep` swapped and own
    reconstructions. `a` and `b` are (catalog key, checkpoint folder)."""
    from genesis_core.vision.analysis.stitching import stitch

    cache = cache or analysis_cache()
    params = {"b": model_id(*b), "translator": translator, "anchors": len(anchors), "images": len(images)}
    k = cache_key("swap", model_id(*a), params)
    hit = cache.get_tensors(k)
    if hit is not None:
        tensors, meta = hit
        return {**meta, **tensors}
    r = stitch(model_a, model_b, anchors, images, labels, translator)
    scores = {name: float(v) for name, v in r.items() if not torch.is_tensor(v)}
    images_out = {"swapped": r["swapped"][:keep], "own": r["own"][:keep]} if keep else {}
    cache.put_tensors(k, images_out, scores)
    return {**scores, **images_out}


def anchor_curve(model_a, model_b, a: tuple[str, str], b: tuple[str, str], pool: torch.Tensor, images: torch.Tensor,
                 labels: torch.Tensor, counts=(8, 16, 32, 64, 128, 256, 512, 1024, 2048),
                 progress: Progress = lambda f, m: None, cache: ResultCache | None = None) -> list[dict[str, Any]]:
    """Swap PSNR against the number of anchors for each translator (stitching.anchor_curve), cached."""
    from genesis_core.vision.analysis import stitching

    cache = cache or analysis_cache()
    counts = [n for n in counts if n <= len(pool)]
    k = cache_key("anchor_curve", model_id(*a), {"b": model_id(*b), "counts": counts, "images": len(images)})
    return cache.get_or_compute(k, lambda: stitching.anchor_curve(model_a, model_b, pool, images, labels, counts,
                                                                  progress=progress))


def swap_matrix(models: dict[str, Any], checkpoints: dict[str, str], anchors: torch.Tensor, images: torch.Tensor,
                labels: torch.Tensor, translator: str, progress: Progress = lambda f, m: None,
                cache: ResultCache | None = None) -> np.ndarray:
    """PSNR (dB) of every encoder (rows) -> decoder (columns) pair (stitching.stitching_matrix), cached; NaN
    where the translator does not apply."""
    from genesis_core.vision.analysis import stitching

    cache = cache or analysis_cache()
    ids = [model_id(name, checkpoints[name]) for name in models]
    k = cache_key("swap_matrix", "|".join(ids), {"translator": translator, "anchors": len(anchors),
                                                 "images": len(images)})
    rows = cache.get_or_compute(k, lambda: [[None if np.isnan(v) else float(v) for v in row] for row in
                                            stitching.stitching_matrix(models, anchors, images, labels, translator,
                                                                       progress)])
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)


def similarity_matrix(models: dict[str, Any], checkpoints: dict[str, str], images: torch.Tensor, images_name: str,
                      k: int = 10, cache: ResultCache | None = None) -> dict[str, Any]:
    """Linear CKA and mutual k-NN between every pair of models' codes of the same images (vision/analysis/similarity.py),
    from the cached encodings; the matrices are cached too."""
    from genesis_core.vision.analysis.similarity import similarity

    cache = cache or analysis_cache()
    ids = [model_id(name, checkpoints[name]) for name in models]
    key = cache_key("similarity", "|".join(ids), {"images": images_name, "n": len(images), "k": k})

    def compute():
        codes = {name: encodings(m, name, checkpoints[name], images, images_name, cache) for name, m in models.items()}
        out = similarity(codes, k)
        return {**out, **{f: np.asarray(out[f]).tolist() for f in ("cka", "knn", "cka_shuffled")}}

    out = dict(cache.get_or_compute(key, compute))
    for f in ("cka", "knn", "cka_shuffled"):
        out[f] = np.asarray(out[f], dtype=float)
    return out


def prior_quality(model, key: str, checkpoint: str | Path, split, data_config, n: int = 1000, seed: int = 0,
                  cache: ResultCache | None = None) -> dict[str, Any]:
    """The sample-quality scorer's figures of a model's prior samples (vision/analysis/conditional.py), cached."""
    from genesis_core.vision.analysis.conditional import prior_sample_quality

    cache = cache or analysis_cache()
    d = data_config
    data_key = (d.dataset, d.path, d.image_size, d.channels, d.test_fraction, d.split_seed, d.limit)
    k = cache_key("prior_quality", model_id(key, checkpoint), {"n": n, "seed": seed})
    return dict(cache.get_or_compute(k, lambda: prior_sample_quality(model, split, data_key, n, seed,
                                                                      cache_dir=cache.directory)))
