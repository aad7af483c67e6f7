import pytest

from genesis_core.registry import MODELS, TASKS, Registry, UnknownNameError


def test_labs_register_their_pieces_by_name():
    assert "image_autoencoder" in TASKS.names()
    assert {"image_autoencoder", "bottleneck_sweep", "image_restoration"} <= set(TASKS.names())
    assert {"autoencoder", "conv_encoder", "conv_decoder", "restoration_net"} <= set(MODELS.names())


def test_register_build_and_unknown_names():
    reg = Registry("widget")

    @reg.register("box")
    class Box:
        def __init__(self, size):
            self.size = size

    assert reg.build("box", 3).size == 3
    with pytest.raises(UnknownNameError, match="unknown widget 'ball'; known: box"):
        reg.get("ball")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("box")(type("Other", (), {}))


def test_factory_builds_a_model_from_config():
    from genesis_core.vision.networks.autoencoders import AutoencoderConfig

    model = MODELS.build("autoencoder", AutoencoderConfig(arch="mlp", latent_dim=3, hidden=8), (1, 8, 8))
    assert model.encoder.net[-1].out_features == 3
