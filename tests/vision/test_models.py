import pytest
import torch

from genesis_core.vision.networks.autoencoders import CONDITIONING, Autoencoder, AutoencoderConfig, autoencoder_loss


@pytest.mark.parametrize("arch", ["conv", "mlp"])
@pytest.mark.parametrize("conditioning", CONDITIONING)
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 8, 8)])
def test_every_variant_maps_images_to_images(arch, conditioning, shape):
    cfg = AutoencoderConfig(arch=arch, latent_dim=5, hidden=16, channels=4, conditioning=conditioning,
                            variational=conditioning in ("bias", "film"))
    model = Autoencoder(cfg, shape, num_classes=3)
    x, y = torch.rand(2, *shape), torch.tensor([0, 2])
    recon, mu, logvar, kl = model(x, y)
    assert recon.shape == x.shape and mu.shape == (2, 5)
    assert (logvar is not None) == cfg.variational == (kl is not None)
    assert 0 <= recon.min() and recon.max() <= 1
    loss, extras = autoencoder_loss((recon, mu, logvar, kl), x, beta=2.0)
    loss.backward()
    assert torch.isfinite(loss) and "mse" in extras and ("kl" in extras) == cfg.variational
    if conditioning != "none":
        with pytest.raises(ValueError, match="class-conditional"):
            model.decode(mu)


@pytest.mark.parametrize("conditioning", ["onehot", "embedding", "bias", "film"])
def test_the_class_changes_the_decoded_image(conditioning):
    torch.manual_seed(0)
    model = Autoencoder(AutoencoderConfig(latent_dim=4, channels=4, conditioning=conditioning), (1, 8, 8), 3)
    for p in model.decoder.cond.parameters():  # zero-initialised strategies start class-blind
        torch.nn.init.normal_(p)
    z = torch.randn(1, 4)
    assert not torch.allclose(model.decode(z, torch.tensor([0])), model.decode(z, torch.tensor([1])))


def test_encoder_and_decoder_are_separate_checkpoint_components():
    a = Autoencoder(AutoencoderConfig(latent_dim=6, channels=4), (1, 8, 8))
    b = Autoencoder(AutoencoderConfig(latent_dim=6, channels=8), (1, 8, 8))
    keys = a.state_dict().keys()
    assert all(k.startswith(("encoder.", "decoder.")) for k in keys)
    x = torch.rand(3, 1, 8, 8)
    assert b.decode(a.encode(x)).shape == x.shape  # any encoder meets any decoder of the same latent size
