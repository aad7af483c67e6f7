"""Analyses of class-conditional autoencoders: class swap (encode an image, decode it as every class)
and a linear probe of how much of the label the latent code still carries."""

from __future__ import annotations

import numpy as np
import torch

from genesis_core.vision.latent import decode_latents, encode_images


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
