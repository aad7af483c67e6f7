"""Autoencoders whose encoder and decoder are separate components (checkpoint prefixes "encoder." and
"decoder."), so any encoder can later meet any decoder.

One `Autoencoder` covers the variants the lab compares:
  arch          "conv" (strided convolutions) or "mlp"
  variational   a VAE: the encoder outputs mean and log-variance; `encode` returns the mean
  conditioning  how the decoder is told the class: "none", "onehot" (one-hot concatenated to z),
                "embedding" (learned embedding concatenated), "bias" (a learned per-class bias added
                to the decoder's first layer), "film" (per-class scale and shift in every decoder block)
The encoder never sees the label, so z is free to drop what the decoder is told (see the label probe).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.vision.networks.layers import zero_init

from genesis_core.registry import MODELS
from genesis_core.vision.networks.iaf import IAFPosterior

CONDITIONING = ("none", "onehot", "embedding", "bias", "film")


@dataclass(frozen=True)
class AutoencoderConfig:
    arch: Literal["conv", "mlp"] = "conv"
    latent_dim: int = 16  # size of z
    hidden: int = 256  # width of the MLP layers (arch "mlp")
    channels: int = 32  # channels of the first conv block; the second has twice as many (arch "conv")
    variational: bool = False  # a VAE with a standard normal prior
    beta: float = 1.0  # weight of the KL term (VAE only); beta > 1 asks for a more disentangled z
    posterior: Literal["gaussian", "iaf"] = "gaussian"  # VAE only: q(z|x) a diagonal Gaussian, or that Gaussian
    # through an inverse autoregressive flow (Kingma et al. 2016), a more flexible posterior
    iaf_steps: int = 2  # posterior "iaf": autoregressive maps
    iaf_hidden: int = 64  # posterior "iaf": hidden units of each map's MADE
    conditioning: Literal["none", "onehot", "embedding", "bias", "film"] = "none"
    embed_dim: int = 16  # size of the learned class embedding (conditioning "embedding")
    loss: Literal["auto", "mse", "bce"] = "auto"  # auto: binary cross-entropy for near-binary images (ink on
    # paper, like MNIST), mean squared error for natural images (what PSNR scores)
    linear_path: Literal["auto", "on", "off"] = "auto"  # a PCA path through encoder and decoder that the
    # networks start at and add to (auto: on for a plain autoencoder with the MSE loss), so training starts at
    # PCA's reconstruction

    def __post_init__(self) -> None:
        for name in ("latent_dim", "hidden", "channels", "embed_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.beta < 0:
            raise ValueError("beta must not be negative")
        if self.iaf_steps < 1 or self.iaf_hidden < 2:
            raise ValueError("iaf_steps must be at least 1 and iaf_hidden at least 2")
        if self.posterior == "iaf" and not self.variational:
            raise ValueError("posterior iaf needs variational: true (a plain autoencoder has no posterior)")

    @property
    def conditional(self) -> bool:
        return self.conditioning != "none"


class ClassConditioning(nn.Module):
    """The decoder's class input under one strategy. `widths` are the channel counts of the decoder
    blocks that FiLM modulates; `first_width` is the size of the decoder's first layer output."""

    def __init__(self, strategy: str, num_classes: int, embed_dim: int, first_width: int, widths: list[int]):
        super().__init__()
        self.strategy = strategy
        self.num_classes = num_classes
        self.extra_inputs = {"onehot": num_classes, "embedding": embed_dim}.get(strategy, 0)
        if strategy == "embedding":
            self.embedding = nn.Embedding(num_classes, embed_dim)
        if strategy == "bias":
            self.bias = nn.Embedding(num_classes, first_width)
            nn.init.zeros_(self.bias.weight)
        if strategy == "film":
            self.film = nn.ModuleList(nn.Embedding(num_classes, 2 * w) for w in widths)
            for emb in self.film:
                zero_init(emb)

    def _check(self, y: torch.Tensor | None) -> torch.Tensor:
        if y is None:
            raise ValueError("this decoder is class-conditional: pass the class labels")
        return y

    def inputs(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if self.strategy == "onehot":
            return torch.cat([z, F.one_hot(self._check(y), self.num_classes).to(z.dtype)], 1)
        if self.strategy == "embedding":
            return torch.cat([z, self.embedding(self._check(y)).to(z.dtype)], 1)
        return z

    def first(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if self.strategy == "bias":
            b = self.bias(self._check(y))
            return h + b.view(*b.shape, *([1] * (h.dim() - 2)))
        return h

    def modulate(self, h: torch.Tensor, y: torch.Tensor | None, block: int) -> torch.Tensor:
        if self.strategy != "film":
            return h
        gamma, shift = self.film[block](self._check(y)).chunk(2, dim=1)
        shape = (*gamma.shape, *([1] * (h.dim() - 2)))
        return h * (1 + gamma.view(shape)) + shift.view(shape)


# -- encoders ------------------------------------------------------------------------------------
@MODELS.register("conv_encoder")
class ConvEncoder(nn.Module):
    """(C, H, W) -> two stride-2 conv blocks -> linear -> out_dim."""

    def __init__(self, image_shape: tuple[int, int, int], channels: int, out_dim: int):
        super().__init__()
        c, h, w = image_shape
        self.features = nn.Sequential(
            nn.Conv2d(c, channels, 3, padding=1), nn.GELU(),
            nn.Conv2d(channels, channels, 4, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1), nn.GELU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            n = self.features(torch.zeros(1, c, h, w)).shape[1]
        self.head = nn.Linear(n, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@MODELS.register("mlp_encoder")
class MLPEncoder(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], hidden: int, out_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(image_shape), hidden), nn.GELU(),
                                 nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


# -- decoders ------------------------------------------------------------------------------------
@MODELS.register("conv_decoder")
class ConvDecoder(nn.Module):
    """z (+ class) -> linear to a (2*channels, H/4, W/4) grid -> two transposed-conv blocks -> image."""

    def __init__(self, image_shape: tuple[int, int, int], channels: int, latent_dim: int,
                 conditioning: ClassConditioning | None = None, raw: bool = False):
        super().__init__()
        c, h, w = image_shape
        self.raw = raw  # no output sigmoid: a residual added to the linear path's image
        self.image_shape = tuple(image_shape)
        self.grid = (2 * channels, max(1, math.ceil(h / 4)), max(1, math.ceil(w / 4)))
        self.cond = conditioning or ClassConditioning("none", 1, 1, 1, [])
        self.fc = nn.Linear(latent_dim + self.cond.extra_inputs, math.prod(self.grid))
        self.up1 = nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1)
        self.out = nn.Conv2d(channels, c, 3, padding=1)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.cond.first(self.fc(self.cond.inputs(z, y)).view(-1, *self.grid), y)
        h = self.cond.modulate(F.gelu(h), y, 0)
        h = self.cond.modulate(F.gelu(self.up1(h)), y, 1)
        h = self.cond.modulate(F.gelu(self.up2(h)), y, 2)
        x = self.out(h)
        if tuple(x.shape[-2:]) != self.image_shape[1:]:
            x = F.interpolate(x, size=self.image_shape[1:], mode="bilinear", align_corners=False)
        return x if self.raw else torch.sigmoid(x)


@MODELS.register("mlp_decoder")
class MLPDecoder(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], hidden: int, latent_dim: int,
                 conditioning: ClassConditioning | None = None, raw: bool = False):
        super().__init__()
        self.raw = raw
        self.image_shape = tuple(image_shape)
        self.cond = conditioning or ClassConditioning("none", 1, 1, 1, [])
        self.fc1 = nn.Linear(latent_dim + self.cond.extra_inputs, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, math.prod(image_shape))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.cond.modulate(F.gelu(self.cond.first(self.fc1(self.cond.inputs(z, y)), y)), y, 0)
        h = self.cond.modulate(F.gelu(self.fc2(h)), y, 1)
        x = self.out(h)
        return (x if self.raw else torch.sigmoid(x)).view(-1, *self.image_shape)


# -- the linear (PCA) path ---------------------------------------------------------------------------
class LinearPathEncoder(nn.Module):
    """z = P (x - mean) + f(x): the PCA coefficients plus what the network adds (its last layer starts at
    zero, so an untrained encoder is PCA). A VAE's log-variances come from the network alone."""

    basis: torch.Tensor
    mean: torch.Tensor

    def __init__(self, base: ConvEncoder | MLPEncoder, basis: torch.Tensor, mean: torch.Tensor, latent_dim: int):
        super().__init__()
        self.base = base
        self.latent_dim = latent_dim
        self.register_buffer("basis", basis.float().contiguous())  # (k, D): principal axes, zero rows beyond rank
        self.register_buffer("mean", mean.float().contiguous())  # (D,)
        zero_init(self.last_layer())

    def last_layer(self) -> nn.Module:
        """The network's last layer (zero while the encoder is PCA)."""
        return self.base.head if isinstance(self.base, ConvEncoder) else self.base.net[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.base(x)
        linear = (x.flatten(1).float() - self.mean) @ self.basis.T
        return torch.cat([h[:, :self.latent_dim] + linear.to(h.dtype), h[:, self.latent_dim:]], 1)


class LinearPathDecoder(nn.Module):
    """x = mean + P^T z + g(z): the PCA reconstruction plus the network's residual (its last layer starts at
    zero). Unbounded while training (the MSE sees it); clamped to [0, 1] by Autoencoder.decode."""

    basis: torch.Tensor
    mean: torch.Tensor

    def __init__(self, base: ConvDecoder | MLPDecoder, basis: torch.Tensor, mean: torch.Tensor, image_shape):
        super().__init__()
        self.base = base
        self.image_shape = tuple(image_shape)
        self.register_buffer("basis", basis.float().contiguous())
        self.register_buffer("mean", mean.float().contiguous())
        zero_init(base.out)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        linear = (z.float() @ self.basis + self.mean).view(-1, *self.image_shape)
        return linear + self.base(z, y).float()


# -- the autoencoder -----------------------------------------------------------------------------
@MODELS.register("autoencoder")
class Autoencoder(nn.Module):
    """An encoder and a decoder; a VAE when `config.variational`; class-conditional decoder when
    `config.conditioning` is not "none"."""
    latent_path = "the encoder's mean, a straight line between the latents"  # how the explorer goes from one image to another through the latent

    encoder: nn.Module  # ConvEncoder or MLPEncoder, inside a LinearPathEncoder with the linear path
    decoder: nn.Module
    posterior: IAFPosterior

    def __init__(self, config: AutoencoderConfig, image_shape: tuple[int, int, int], num_classes: int = 10,
                 pca: tuple[torch.Tensor, torch.Tensor] | None = None):
        """`pca`: (basis (k, D), mean (D,)) for the linear path; without it the decoder ends in a sigmoid."""
        super().__init__()
        self.config = config
        self.image_shape = tuple(image_shape)
        self.num_classes = num_classes
        self.linear_path = pca is not None
        self.iaf = config.variational and config.posterior == "iaf"
        # a VAE's encoder gives a mean and a log-variance, and with the IAF posterior also its context
        z, out = config.latent_dim, config.latent_dim * ((3 if self.iaf else 2) if config.variational else 1)
        if config.arch == "conv":
            ch = config.channels
            # the per-class bias acts on the first (2*ch, H/4, W/4) grid, one value per channel
            cond = ClassConditioning(config.conditioning, num_classes, config.embed_dim, 2 * ch, [2 * ch, ch, ch])
            self.encoder = ConvEncoder(image_shape, ch, out)
            self.decoder = ConvDecoder(image_shape, ch, z, cond, raw=self.linear_path)
        elif config.arch == "mlp":
            h = config.hidden
            cond = ClassConditioning(config.conditioning, num_classes, config.embed_dim, h, [h, h])
            self.encoder = MLPEncoder(image_shape, h, out)
            self.decoder = MLPDecoder(image_shape, h, z, cond, raw=self.linear_path)
        else:
            raise ValueError(f"unknown arch {config.arch!r}; use conv or mlp")
        if pca is not None:
            basis, mean = pca
            self.encoder = LinearPathEncoder(self.encoder, basis, mean, z)
            self.decoder = LinearPathDecoder(self.decoder, basis, mean, image_shape)
        if self.iaf:
            self.posterior = IAFPosterior(z, config.iaf_steps, config.iaf_hidden)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def residuals_are_zero(self) -> bool:
        """With the linear path: whether the networks' last layers are still zero, so the model is exactly PCA
        (the untrained model, or the one kept when no trained checkpoint beat it on validation)."""
        if not (isinstance(self.encoder, LinearPathEncoder) and isinstance(self.decoder, LinearPathDecoder)):
            return False
        return all(not p.any() for layer in (self.encoder.last_layer(), self.decoder.base.out)
                   for p in layer.parameters())

    @property
    def conditional(self) -> bool:
        return self.config.conditional

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Mean and log-variance of q(z|x)'s Gaussian (log-variance None for a plain autoencoder)."""
        return self._encoded(x)[:2]

    def _encoded(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """(mean, log-variance, IAF context): what the encoder gives, split."""
        h = self.encoder(x)
        if not self.config.variational:
            return h, None, None
        if self.iaf:
            mu, logvar, context = h.chunk(3, dim=1)
            return mu, logvar.clamp(-12, 8), context
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-12, 8), None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The latent of an image: the encoder's mean (through the IAF posterior's maps, with that posterior)."""
        mu, _, context = self._encoded(x)
        return self.posterior.mean_path(mu, context) if context is not None else mu  # a context: the IAF posterior

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [0, 1]."""
        x = self.decoder(z, y if self.conditional else None)
        return x.clamp(0, 1) if self.linear_path else x

    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x), y)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None):
        """Training forward: (reconstruction, mean, log-variance, KL per row); a VAE samples z by reparameterisation
        and its KL to the N(0, I) prior is exact for the Gaussian posterior, a one-sample estimate for the IAF one
        (None for a plain autoencoder)."""
        mu, logvar, context = self._encoded(x)
        if logvar is None:
            z, kl = mu, None
        elif context is not None:  # the IAF posterior
            z, kl = self.posterior.sample(mu.float(), logvar.float(), context.float())
        else:
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            mu32, logvar32 = mu.float(), logvar.float()
            kl = -0.5 * torch.sum(1 + logvar32 - mu32 ** 2 - logvar32.exp(), dim=1)
        return self.decoder(z, y if self.conditional else None), mu, logvar, kl  # unclamped: the loss sees it all


def autoencoder_loss(model_out, x: torch.Tensor, beta: float, loss: str = "bce"
                     ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The reconstruction loss per pixel: binary cross-entropy ("bce": pixels in [0, 1], a strong gradient
    through the output sigmoid; for near-binary images) or mean squared error ("mse": what PSNR scores; for
    natural images), plus for a VAE beta * KL divided by the pixel count (the ELBO per pixel, so learning
    rates carry over between image sizes). The per-pixel MSE is logged beside it."""
    recon, _, _, kl = model_out
    recon = recon.float()
    mse = F.mse_loss(recon, x)
    main = F.binary_cross_entropy(recon, x) if loss == "bce" else mse
    extras = {"mse": mse.detach()}
    if kl is None:
        return main, extras
    kl = kl.mean()
    extras["kl"] = kl.detach()
    return main + beta * kl / x[0].numel(), extras
