"""Latent similarity: linear CKA equals its definition through Gram matrices (HSIC), is invariant to rotation and
scale, and tells unrelated codes from related ones; mutual k-NN is 1 for the same space and near chance for
unrelated ones; `genesis images similarity` prints both for trained models."""

import numpy as np
import pytest

from genesis_core.vision.analysis.similarity import linear_cka, mutual_knn, similarity


def hsic_cka(x, y):
    """CKA through centred Gram matrices, the definition (Kornblith et al. 2019, eq. 2 with linear kernels)."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_ = h @ (x @ x.T) @ h, h @ (y @ y.T) @ h
    return np.sum(k * l_) / np.sqrt(np.sum(k * k) * np.sum(l_ * l_))


def test_linear_cka_is_the_hsic_definition_and_invariant_to_rotation_and_scale():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8))
    y = np.tanh(x @ rng.normal(size=(8, 5))) + 0.1 * rng.normal(size=(200, 5))
    assert linear_cka(x, y) == pytest.approx(hsic_cka(x, y), rel=1e-9)
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    assert linear_cka(x, 3.0 * x @ q + 7.0) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(x, rng.normal(size=(200, 5))) < 0.1 < linear_cka(x, y)
    with pytest.raises(ValueError, match="same images"):
        linear_cka(x, y[:10])


def test_mutual_knn_is_one_for_the_same_space_and_near_chance_for_unrelated_codes():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 6))
    assert mutual_knn(x, 2 * x + 1, k=10) == 1.0
    assert mutual_knn(x, rng.normal(size=(300, 6)), k=10) < 3 * 10 / 299
    out = similarity({"a": x, "b": x[:, ::-1], "c": rng.normal(size=(300, 3))}, k=10)
    assert out["cka"][0, 1] == pytest.approx(1.0) and out["knn"][0, 1] == 1.0
    assert out["cka"][0, 2] < 0.1 and np.allclose(np.diag(out["cka"]), 1)
    assert out["knn_chance"] == pytest.approx(10 / 299)


def test_images_similarity_cli_prints_both_matrices(workspace, capsys):
    from genesis_core.cli.commands import main
    from tests.vision.helpers import config, train

    a = train(workspace, config(steps=60, name="a", model={"latent_dim": 6, "channels": 8}))[0]
    b = train(workspace, config(steps=60, name="b", model={"latent_dim": 4, "channels": 8}, trainer={"seed": 2}))[0]
    assert main(["images", "similarity", a.id, b.id, "--images", "300"]) == 0
    out = capsys.readouterr().out
    assert "linear CKA on 300 test images" in out and "mutual 10-NN" in out and "baselines:" in out
    rows = [line for line in out.splitlines() if line.startswith(a.id)]
    cka = float(rows[0].split()[2])  # the a-b cell of the CKA matrix
    assert 0.0 < cka <= 1.0
    assert main(["images", "similarity", a.id]) == 2
