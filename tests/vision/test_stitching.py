import pytest
import torch

from genesis_core.vision.analysis.stitching import available_translators, fit_translator


def test_translators_recover_the_maps_they_model():
    g = torch.Generator().manual_seed(0)
    za = torch.randn(300, 6, generator=g)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=g))
    rotated = za @ q
    for kind in ("lstsq", "affine"):
        assert torch.allclose(fit_translator(za, rotated, kind)(za), rotated, atol=1e-3), kind
    # Procrustes rotates standardised spaces, so a rotation of unequal per-dimension variances is only
    # approximately one after scaling; it still explains nearly all of it.
    err = (fit_translator(za, rotated, "procrustes")(za) - rotated).norm() / rotated.norm()
    assert err < 0.15
    shifted = za @ torch.randn(6, 4, generator=g) + 3.0  # a smaller latent with an offset
    assert torch.allclose(fit_translator(za, shifted, "affine")(za), shifted, atol=1e-3)
    assert not torch.allclose(fit_translator(za, shifted, "lstsq")(za), shifted, atol=1e-1)  # no bias term
    assert fit_translator(za, shifted, "procrustes")(za).shape == (300, 4)  # zero padding handles sizes


def test_none_needs_equal_sizes():
    assert available_translators(4, 8) == ["lstsq", "procrustes", "affine"]
    assert available_translators(8, 8)[0] == "none"
    with pytest.raises(ValueError, match="equal latent sizes"):
        fit_translator(torch.randn(10, 4), torch.randn(10, 8), "none")
