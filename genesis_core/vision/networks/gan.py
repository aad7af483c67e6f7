"""A conditional DCGAN (logistic or WGAN-GP loss): generator, discriminator and their training step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.vision.networks import losses

# -- diffusion -----------------------------------------------------------------------------------------

# -- GAN -----------------------------------------------------------------------------------------------


class CondBatchNorm(nn.Module):
    def __init__(self, c: int, num_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(c, affine=num_classes == 0)
        self.emb = nn.Embedding(num_classes, 2 * c) if num_classes else None
        if self.emb is not None:
            nn.init.ones_(self.emb.weight[:, :c])
            nn.init.zeros_(self.emb.weight[:, c:])

    def forward(self, x, y):
        h = self.bn(x)
        if self.emb is None:
            return h
        g, b = self.emb(y).chunk(2, 1)
        return h * g[:, :, None, None] + b[:, :, None, None]


class Generator(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], z_dim: int = 64, width: int = 64, num_classes: int = 0):
        super().__init__()
        c, h, w = image_shape
        self.z_dim, self.h4, self.w4, self.width = z_dim, h // 4, w // 4, width
        self.fc = nn.Linear(z_dim, width * 2 * self.h4 * self.w4)
        self.bn0 = CondBatchNorm(width * 2, num_classes)
        self.up1 = nn.ConvTranspose2d(width * 2, width, 4, 2, 1)
        self.bn1 = CondBatchNorm(width, num_classes)
        self.up2 = nn.ConvTranspose2d(width, c, 4, 2, 1)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.fc(z).view(len(z), self.width * 2, self.h4, self.w4)
        h = F.relu(self.bn0(h, y))
        h = F.relu(self.bn1(self.up1(h), y))
        return torch.sigmoid(self.up2(h))


class Discriminator(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], width: int = 64, num_classes: int = 0,
                 spectral_norm: bool = True):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        c, h, w = image_shape
        self.body = nn.Sequential(sn(nn.Conv2d(c, width, 4, 2, 1)), nn.LeakyReLU(0.2),
                                  sn(nn.Conv2d(width, width * 2, 4, 2, 1)), nn.LeakyReLU(0.2), nn.Flatten())
        features = width * 2 * (h // 4) * (w // 4)
        self.fc = sn(nn.Linear(features, 1))
        self.proj = sn(nn.Embedding(num_classes, features)) if num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x * 2 - 1)
        out = self.fc(h).squeeze(1)
        if self.proj is not None and y is not None:
            out = out + (self.proj(y) * h).sum(1)
        return out


GAN_LOSSES = ("logistic", "wgan_gp")


class GAN(nn.Module):
    """Generator and discriminator, trained together by one optimizer: each step's loss is the discriminator's
    loss on real and (detached) generated images plus the generator's loss through a discriminator whose
    parameters are detached, so each network gets only its own gradient (simultaneous updates).
    loss "logistic": spectral norm, the non-saturating logistic loss; "wgan_gp": a plain critic, the Wasserstein
    loss and a gradient penalty (the task weighs it and skips the generator's term on n_critic - 1 of n_critic steps)."""

    def __init__(self, image_shape, z_dim: int = 64, width: int = 64, num_classes: int = 0, loss: str = "logistic"):
        super().__init__()
        if loss not in GAN_LOSSES:
            raise ValueError(f"GAN loss {loss!r}: one of {', '.join(GAN_LOSSES)}")
        self.image_shape, self.z_dim, self.num_classes, self.loss = tuple(image_shape), z_dim, num_classes, loss
        self.generator = Generator(image_shape, z_dim, width, num_classes)
        self.discriminator = Discriminator(image_shape, width, num_classes, spectral_norm=loss == "logistic")

    def losses(self, x: torch.Tensor, y: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """{"d_loss", "g_loss"} and, for WGAN-GP, "gradient_penalty": unweighted terms."""
        from torch.func import functional_call

        y = y if self.num_classes else None
        z = torch.randn(len(x), self.z_dim, device=x.device)
        fake = self.generator(z, y)
        frozen = {k: v.detach() for k, v in self.discriminator.named_parameters()}
        d_real, d_fake = self.discriminator(x, y), self.discriminator(fake.detach(), y)
        d_fake_for_g = functional_call(self.discriminator, frozen, (fake, y))
        if self.loss == "logistic":
            d_loss, g_loss = losses.logistic_gan(d_real, d_fake, d_fake_for_g)
            return {"d_loss": d_loss, "g_loss": g_loss}
        d_loss, g_loss = losses.wasserstein_gan(d_real, d_fake, d_fake_for_g)
        gp = losses.gradient_penalty(lambda v: self.discriminator(v, y), x, fake)
        return {"d_loss": d_loss, "g_loss": g_loss, "gradient_penalty": gp}

    @torch.no_grad()
    def sample(self, n: int, y: torch.Tensor | None = None, z: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        dev = next(self.parameters()).device
        z = z if z is not None else torch.randn(n, self.z_dim, generator=generator).to(dev)
        if self.num_classes and y is None:
            y = torch.randint(0, self.num_classes, (len(z),), generator=generator).to(dev)
        return self.generator(z, y if self.num_classes else None)
