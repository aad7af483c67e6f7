"""Analyses of class-conditional autoencoders: class swap (encode an image, decode it as every class)
and a linear probe of how much of the label the latent code still carries."""

from __future__ import annotations

import numpy as np
import torch

from genesis_core.vision.analysis.latent import decode_latents, encode_images


@torch.no_grad()
def class_swap(model, x: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(num_classes, N, C, H, W): row c decodes every image's z as class c."""
    if not getattr(model, "conditional", False):
        raise ValueError("class swap needs a class-conditional model (conditioning is 'none')")
    z = encode_images(model, x)
    return torch.stack([decode_latents(model, z, c) for c in range(num_classes)])


def label_probe(z_train: torch.Tensor, y_train: torch.Tensor, z_test: torch.Tensor, y_test: torch.Tensor,
                seed: int = 0) -> dict[str, float]:
    """Test accuracy of a logistic regression predicting the label from z (standardised), beside the
    majority-class rate. High accuracy: the label leaks into z; near the majority rate: z is label-free."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    probe.fit(z_train.numpy(), y_train.numpy())
    acc = float(probe.score(z_test.numpy(), y_test.numpy()))
    majority = float(np.bincount(y_test.numpy()).max() / len(y_test))
    return {"probe_accuracy": acc, "majority_rate": majority,
            "chance_rate": 1.0 / len(np.unique(y_train.numpy()))}


def probe_model(model, split, train_rows: int = 2000) -> dict[str, float]:
    """The label probe on a model's encodings of its own split."""
    n = min(train_rows, len(split.train_x))
    return label_probe(encode_images(model, split.train_x[:n]), split.train_y[:n],
                       encode_images(model, split.test_x), split.test_y)


@torch.no_grad()
def prior_samples(model, split, n: int = 1000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """(n images drawn from the model's prior, their labels or None, which prior): a VAE's standard normal; for a
    plain autoencoder, a Gaussian fitted to its codes of the training images (it has no prior of its own). A
    class-conditional model decodes every class in turn, so each class has n / classes samples."""
    g = torch.Generator().manual_seed(seed)
    d = model.config.latent_dim
    if model.config.variational:
        z, prior = torch.randn(n, d, generator=g), "the VAE's N(0, I) prior"
    else:
        codes = encode_images(model, split.train_x[:5000]).double()
        mean, cov = codes.mean(0), torch.cov(codes.T) + 1e-6 * torch.eye(d, dtype=torch.float64)
        z = (mean + torch.randn(n, d, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T).float()
        prior = "a Gaussian fitted to its training codes (a plain autoencoder has no prior)"
    labels = (torch.arange(n) % split.num_classes) if getattr(model, "conditional", False) else None
    return decode_latents(model, z, labels), labels, prior


def prior_sample_quality(model, split, data_key: tuple, n: int = 1000, seed: int = 0, cache_dir=None) -> dict:
    """The sample-quality scorer's figures (FD in a domain classifier's features, precision / recall, and for a
    conditional model the share of samples the classifier reads as the class asked for) of prior samples,
    beside held-out real images and noise."""
    from genesis_core.vision.analysis.sample_quality import SampleScorer

    scorer = SampleScorer(split, data_key, n=n, seed=seed, cache_dir=cache_dir)
    images, labels, prior = prior_samples(model, split, scorer.n, seed)
    scores, baselines = scorer.score(images, labels), scorer.baselines()
    return {"prior": prior, "conditional": labels is not None, "samples": scorer.n, **scores, "baselines": baselines,
            "classifier_accuracy": scorer.classifier_accuracy,
            "worse_than_noise": scores["fd"] > baselines["noise"]["fd"]}
