import pytest
import torch
from torchcodec.decoders import VideoDecoder

from genesis_core.vision.analysis.latent import (
    animation_gif,
    animation_mp4,
    interpolate,
    latent_axes,
    path_smoothness,
    project,
    strip_png,
)


def test_interpolation_paths_keep_their_endpoints_and_promises():
    z0, z1 = torch.tensor([3.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    for method in ("lerp", "slerp", "direction_slerp"):
        path = interpolate(z0, z1, 5, method)
        assert path.shape == (5, 3)
        assert torch.allclose(path[0], z0, atol=1e-5) and torch.allclose(path[-1], z1, atol=1e-5)
    norms = interpolate(z0, z1, 5, "direction_slerp").norm(dim=1)
    assert torch.allclose(norms, torch.linspace(3, 1, 5), atol=1e-5)  # norm moves linearly
    mid = interpolate(z0, z1, 3, "direction_slerp")[1]
    assert torch.allclose(mid / mid.norm(), torch.tensor([1.0, 1.0, 0.0]) / 2**0.5, atol=1e-5)  # on the arc
    assert interpolate(z0, z1, 3, "lerp")[1].norm() < 2.0  # a straight line cuts inside
    with pytest.raises(ValueError):
        interpolate(z0, z1, 5, "wiggle")


def test_smoothness_sees_a_jump():
    even = torch.linspace(0, 1, 5).view(5, 1, 1, 1).expand(5, 1, 4, 4)
    jump = torch.tensor([0, 0, 0, 0, 1.0]).view(5, 1, 1, 1).expand(5, 1, 4, 4)
    assert abs(path_smoothness(even)["max_over_mean"] - 1) < 1e-5
    assert path_smoothness(jump)["max_over_mean"] == pytest.approx(4.0)


def test_exports_are_real_png_gif_and_h264_mp4():
    frames = torch.linspace(0, 1, 6).view(6, 1, 1, 1).expand(6, 1, 28, 28).contiguous()
    assert strip_png(frames)[:8] == b"\x89PNG\r\n\x1a\n"
    assert animation_gif(frames)[:6] == b"GIF89a"
    mp4 = animation_mp4(frames, fps=12)
    decoder = VideoDecoder(mp4)
    assert decoder.metadata.codec == "h264" and decoder.metadata.width >= 128
    assert len(decoder) == 10  # 6 frames and back again (bounce)


def test_slider_axes_round_trip_and_principal_axes_for_large_latents():
    z = torch.randn(200, 4) * torch.tensor([1.0, 2.0, 3.0, 4.0])
    axes = latent_axes(z, max_sliders=8)
    assert axes.names == ("z[0]", "z[1]", "z[2]", "z[3]")
    assert torch.allclose(axes.point(axes.coefficients(z[:3])[0]), z[0], atol=1e-4)
    big = torch.randn(300, 40) @ torch.randn(40, 40)
    pcs = latent_axes(big, max_sliders=6)
    assert pcs.names[0] == "PC1" and pcs.directions.shape == (6, 40)
    assert list(pcs.explained) == sorted(pcs.explained, reverse=True)


def test_projections_report_trustworthiness_and_tsne_cannot_place_new_points():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 8, generator=g) * 5
    z = torch.cat([c + torch.randn(40, 8, generator=g) for c in centres])
    pca = project(z, "pca")
    assert pca.coords.shape == (120, 2) and pca.trustworthiness > 0.8 and pca.transform(z[:2]).shape == (2, 2)
    tsne = project(z, "tsne")
    assert not tsne.can_place_new_points and tsne.trustworthiness > 0.8
    with pytest.raises(ValueError, match="cannot place new points"):
        tsne.transform(z[:2])


@pytest.mark.slow
def test_umap_projection():
    z = torch.randn(150, 6)
    umap = project(z, "umap")
    assert umap.coords.shape == (150, 2) and umap.can_place_new_points and 0 < umap.trustworthiness <= 1


def test_the_class_of_each_interpolation_frame_is_one_rule_for_page_and_cli():
    import inspect
    from pathlib import Path

    from genesis_core.cli import images as cli
    from genesis_core.vision.analysis import latent as L

    assert L.class_path(3, 7, 5).tolist() == [3, 3, 7, 7, 7]
    assert L.class_path(3, 7, 6).tolist() == [3, 3, 3, 7, 7, 7]
    page = (Path(__file__).resolve().parents[2] / "app_pages" / "vision_latent.py").read_text()
    assert "L.class_path(" in page and "L.class_path(" in inspect.getsource(cli)


def test_prior_samples_of_a_conditional_vae_are_scored_beside_real_images_and_noise(workspace, capsys):
    from genesis_core.cli.commands import main
    from genesis_core.vision.analysis.conditional import prior_sample_quality, prior_samples
    from tests.vision.helpers import config, train

    run, trainer = train(workspace, config(steps=150, name="cvae", model={"latent_dim": 8, "channels": 8,
                                                                          "variational": True, "conditioning": "film"}))
    model, split = trainer.model.eval(), trainer.task.split
    images, labels, prior = prior_samples(model, split, 50)
    assert images.shape[0] == 50 and labels.tolist()[:11] == [*range(10), 0] and "N(0, I)" in prior
    d = trainer.task.config.data
    q = prior_sample_quality(model, split, (d.dataset, d.path, d.image_size, d.channels, d.test_fraction,
                                            d.split_seed, d.limit), n=300)
    b = q["baselines"]
    assert b["held_out_real"]["fd"] < b["noise"]["fd"] and q["fd"] > b["held_out_real"]["fd"]
    assert q["worse_than_noise"] == (q["fd"] > b["noise"]["fd"])  # a short training may be: then it is said
    assert 0 <= q["class_accuracy"] <= 1 and q["conditional"]
    assert main(["images", "samples", run.id, "--samples", "300"]) == 0
    out = capsys.readouterr().out
    assert "300 samples from the VAE's N(0, I) prior" in out and "class accuracy" in out and "uniform noise" in out


def test_a_plain_autoencoder_samples_a_gaussian_fitted_to_its_codes(workspace):
    from genesis_core.vision.analysis.conditional import prior_samples
    from tests.vision.helpers import config, train

    _, trainer = train(workspace, config(steps=40, name="ae", model={"latent_dim": 4, "channels": 8}))
    images, labels, prior = prior_samples(trainer.model.eval(), trainer.task.split, 20)
    assert labels is None and "fitted to its training codes" in prior and images.shape[0] == 20
