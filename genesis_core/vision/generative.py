"""The image lab's generative families beside the autoencoders: the networks and their losses.

  Diffusion  DDPM (Ho et al. 2020: epsilon prediction, linear betas, T = 1000) with a small U-Net or a DiT
             (genesis_core.vision.dit); samplers ancestral, DDIM and the probability-flow ODE with any number of
             steps (genesis_core.vision.samplers); classifier-free guidance (Ho & Salimans 2022: the class dropped
             from 10% of the training batches, guidance scale at sampling); DDIM inversion
  GAN        DCGAN-style generator and discriminator, optionally class-conditional (conditional batch norm in G, a
             projection discriminator); either spectral normalisation in the discriminator with the non-saturating
             logistic loss, or WGAN-GP (Gulrajani et al. 2017: a critic without normalisation, the Wasserstein
             loss, a gradient penalty of weight 10, n_critic critic updates per generator update)
  Flow       a multi-scale affine-coupling flow (RealNVP / Glow-style: actnorm, 1x1 invertible convolutions,
             affine couplings) on dequantised, logit-transformed pixels: exact log-likelihood in bits per dim
  VQ-VAE     van den Oord et al. 2017: a codebook, straight-through gradients, commitment loss, dead-code
             restarts; codebook usage and perplexity; its prior over code maps either the independent per-position
             frequencies or a gated PixelCNN trained on the (detached) codes beside it
Images are [0, 1] tensors (N, C, H, W); heights and widths divisible by 4 (28, 32, 8, ...).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.vision import losses

# -- diffusion -----------------------------------------------------------------------------------------


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], 1)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb: int):
        super().__init__()
        self.n1, self.c1 = nn.GroupNorm(8, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb, c_out)
        self.n2, self.c2 = nn.GroupNorm(8, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.emb(F.silu(e))[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    """A small U-Net: two resolutions down (H, H/2, H/4; width x1, x2, x4 channels), a residual block at each,
    time and class embeddings added in every block. Class index `num_classes` is "no class" (classifier-free guidance)."""

    def __init__(self, channels: int, width: int = 16, num_classes: int = 0):
        super().__init__()
        emb = width * 4
        self.width = width
        self.t_mlp = nn.Sequential(nn.Linear(width, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.y_emb = nn.Embedding(num_classes + 1, emb) if num_classes else None
        self.num_classes = num_classes
        w1, w2, w3 = width, width * 2, width * 4  # every level costs about the same
        self.inp = nn.Conv2d(channels, w1, 3, padding=1)
        self.d1 = ResBlock(w1, w1, emb)
        self.down1 = nn.Conv2d(w1, w2, 3, stride=2, padding=1)
        self.d2 = ResBlock(w2, w2, emb)
        self.down2 = nn.Conv2d(w2, w3, 3, stride=2, padding=1)
        self.mid1, self.mid2 = ResBlock(w3, w3, emb), ResBlock(w3, w3, emb)
        self.up2 = nn.ConvTranspose2d(w3, w2, 4, stride=2, padding=1)
        self.u2 = ResBlock(w2 * 2, w2, emb)
        self.up1 = nn.ConvTranspose2d(w2, w1, 4, stride=2, padding=1)
        self.u1 = ResBlock(w1 * 2, w1, emb)
        self.out = nn.Sequential(nn.GroupNorm(8, w1), nn.SiLU(), nn.Conv2d(w1, channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        e = self.t_mlp(timestep_embedding(t, self.width))
        if self.y_emb is not None:
            e = e + self.y_emb(y if y is not None else torch.full_like(t, self.num_classes))
        h1 = self.d1(self.inp(x), e)
        h2 = self.d2(self.down1(h1), e)
        h = self.mid2(self.mid1(self.down2(h2), e), e)
        h = self.u2(torch.cat([self.up2(h), h2], 1), e)
        h = self.u1(torch.cat([self.up1(h), h1], 1), e)
        return self.out(h)


class Diffusion(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], width: int = 16, num_classes: int = 0, steps: int = 1000,
                 p_uncond: float = 0.1, net: nn.Module | None = None):
        super().__init__()
        self.image_shape, self.T, self.p_uncond, self.num_classes = tuple(image_shape), steps, p_uncond, num_classes
        self.net = net if net is not None else UNet(image_shape[0], width, num_classes)  # net(x, t, y) -> epsilon
        betas = torch.linspace(1e-4, 0.02, steps, dtype=torch.float64)
        self.register_buffer("alpha_bar", torch.cumprod(1 - betas, 0).float(), persistent=False)

    clip: float | None = 1.0  # x0 predictions are clamped to [-clip, clip] while sampling (pixels in [-1, 1])
    sample_steps: int = 25  # encode / decode (the Encodes protocol): DDIM inversion and sampling with these steps

    @property
    def noise_shape(self) -> tuple[int, ...]:
        return self.image_shape

    def to_model(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] -> the space the diffusion runs in."""
        return x * 2 - 1

    def from_model(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + 1) / 2).clamp(0, 1)

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x0 = self.to_model(x)
        t = torch.randint(0, self.T, (len(x),), device=x.device)
        noise = torch.randn_like(x0)
        ab = self.alpha_bar[t]
        ab = ab.view(-1, *[1] * (x0.dim() - 1))
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        if self.num_classes and y is not None:  # the class dropped from p_uncond of the batch: guidance learns
            y = torch.where(torch.rand(len(y), device=x.device) < self.p_uncond, torch.full_like(y, self.num_classes), y)
        else:
            y = None
        return F.mse_loss(self.net(xt, t, y), noise)

    def eps(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None, guidance: float) -> torch.Tensor:
        if y is None or not self.num_classes:
            return self.net(x, t, None)
        if guidance == 1.0:
            return self.net(x, t, y)
        both = self.net(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, torch.full_like(y, self.num_classes)]))
        cond, uncond = both.chunk(2)
        return uncond + guidance * (cond - uncond)

    def _schedule(self, steps: int) -> list[int]:
        return torch.linspace(self.T - 1, 0, steps).round().long().tolist()

    @torch.no_grad()
    def sample(self, n: int, steps: int = 50, y: torch.Tensor | None = None, guidance: float = 1.0,
               noise: torch.Tensor | None = None, generator: torch.Generator | None = None,
               sampler: str = "ddim") -> torch.Tensor:
        """From noise in `steps` steps with a sampler of genesis_core.vision.samplers (ancestral, ddim, ode); with
        labels y and guidance > 1, classifier-free guidance."""
        from genesis_core.vision.samplers import SAMPLERS

        dev = self.alpha_bar.device
        x = noise if noise is not None else torch.randn((n, *self.noise_shape), generator=generator).to(dev)
        return self.from_model(SAMPLERS.get(sampler)(self, x, self._schedule(steps), y, guidance, generator))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.invert(images, self.sample_steps)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return self.sample(len(latent), self.sample_steps, noise=latent)

    @torch.no_grad()
    def invert(self, images: torch.Tensor, steps: int = 50, y: torch.Tensor | None = None) -> torch.Tensor:
        """DDIM inversion: the noise that DDIM sampling (same steps, no guidance) maps back to these images."""
        x = self.to_model(images)
        ts = self._schedule(steps)[::-1]
        for i, t in enumerate(ts):
            t_prev = ts[i - 1] if i else None
            ab_prev = self.alpha_bar[t_prev] if t_prev is not None else torch.tensor(1.0, device=x.device)
            tt = torch.full((len(x),), t_prev if t_prev is not None else 0, device=x.device, dtype=torch.long)
            e = self.eps(x, tt, y, 1.0)
            x0 = (x - (1 - ab_prev).sqrt() * e) / ab_prev.sqrt()
            x = self.alpha_bar[t].sqrt() * x0 + (1 - self.alpha_bar[t]).sqrt() * e
        return x


class VectorDenoiser(nn.Module):
    """The epsilon network for latent vectors: an MLP with time (and class) embeddings added."""

    def __init__(self, dim: int, hidden: int = 256, num_classes: int = 0):
        super().__init__()
        self.hidden, self.num_classes = hidden, num_classes
        self.t_mlp = nn.Sequential(nn.Linear(64, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.y_emb = nn.Embedding(num_classes + 1, hidden) if num_classes else None
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, hidden))
                                    for _ in range(3))
        self.out = nn.Linear(hidden, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x, t, y=None):
        e = self.t_mlp(timestep_embedding(t, 64))
        if self.y_emb is not None:
            e = e + self.y_emb(y if y is not None else torch.full_like(t, self.num_classes))
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h + e)
        return self.out(h)


class LatentDiffusion(Diffusion):
    """Diffusion on the codes of a trained autoencoder (frozen; its weights are saved in the checkpoint):
    images are encoded, standardised with the training codes' mean and spread, diffused by an MLP, and
    sampled codes are decoded."""

    clip = None

    def __init__(self, autoencoder: nn.Module, image_shape, hidden: int = 256, num_classes: int = 0,
                 steps: int = 1000, p_uncond: float = 0.1):
        super().__init__(image_shape, 8, num_classes, steps, p_uncond)
        self.autoencoder = autoencoder.eval().requires_grad_(False)
        k = autoencoder.latent_dim
        self.net = VectorDenoiser(k, hidden, num_classes)
        self.register_buffer("code_mean", torch.zeros(k))
        self.register_buffer("code_std", torch.ones(k))

    @property
    def noise_shape(self) -> tuple[int, ...]:
        return (len(self.code_mean),)

    @torch.no_grad()
    def fit_codes(self, images: torch.Tensor) -> None:
        z = torch.cat([self.autoencoder.encode(b) for b in images.split(500)])
        self.code_mean.copy_(z.mean(0))
        self.code_std.copy_(z.std(0).clamp(min=1e-4))

    def to_model(self, x):
        with torch.no_grad():
            return (self.autoencoder.encode(x) - self.code_mean) / self.code_std

    def from_model(self, z):
        return self.autoencoder.decode(z * self.code_std + self.code_mean).clamp(0, 1)

    def train(self, mode: bool = True):
        super().train(mode)
        self.autoencoder.eval()  # frozen, batch norms included
        return self


def slerp(a: torch.Tensor, b: torch.Tensor, w: float) -> torch.Tensor:
    """Spherical interpolation between two noise tensors (what Gaussian noise keeps its norm under)."""
    fa, fb = a.flatten(), b.flatten()
    omega = torch.arccos((fa @ fb / (fa.norm() * fb.norm())).clamp(-1, 1))
    if omega.abs() < 1e-4:
        return (1 - w) * a + w * b
    return (torch.sin((1 - w) * omega) * a + torch.sin(w * omega) * b) / torch.sin(omega)


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


# -- flow ----------------------------------------------------------------------------------------------
LOGIT_ALPHA = 0.05


def logit_transform(x: torch.Tensor, alpha: float = LOGIT_ALPHA) -> tuple[torch.Tensor, torch.Tensor]:
    """[0, 1] dequantised pixels -> logit(alpha + (1 - 2 alpha) x), with the log-determinant per image."""
    p = alpha + (1 - 2 * alpha) * x
    y = p.log() - (1 - p).log()
    logdet = (math.log(1 - 2 * alpha) - p.log() - (1 - p).log()).flatten(1).sum(1)
    return y, logdet


def dequantize(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] pixels on 256 levels -> uniformly dequantised values in [0, 1)."""
    return ((x * 255).round() + torch.rand_like(x)) / 256


def logit_inverse(y: torch.Tensor, alpha: float = LOGIT_ALPHA) -> torch.Tensor:
    return ((torch.sigmoid(y) - alpha) / (1 - 2 * alpha)).clamp(0, 1)



def squeeze(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    x = x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * 4, h // 2, w // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    x = x.view(n, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // 4, h * 2, w * 2)


class ActNorm(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.register_buffer("ready", torch.tensor(False))

    def forward(self, x):
        if not bool(self.ready) and self.training:  # data-dependent initialisation on the first batch
            with torch.no_grad():
                self.loc.copy_(-x.mean((0, 2, 3), keepdim=True))
                self.log_scale.copy_(-x.std((0, 2, 3), keepdim=True).add(1e-6).log())
                self.ready.fill_(True)
        y = (x + self.loc) * self.log_scale.exp()
        return y, self.log_scale.sum() * x.shape[2] * x.shape[3]

    def inverse(self, y):
        return y * (-self.log_scale).exp() - self.loc


class InvConv(nn.Module):
    """An invertible 1x1 convolution, LU-parametrised (Glow) so its log-determinant is a sum of logs."""

    def __init__(self, c: int):
        super().__init__()
        w = torch.linalg.qr(torch.randn(c, c))[0]
        p, lower, upper = torch.linalg.lu(w)
        s = torch.diagonal(upper)
        self.register_buffer("p", p)
        self.register_buffer("sign_s", torch.sign(s))
        self.register_buffer("l_mask", torch.tril(torch.ones(c, c), -1))
        self.lower = nn.Parameter(lower)
        self.log_s = nn.Parameter(s.abs().log())
        self.upper = nn.Parameter(torch.triu(upper, 1))

    def weight(self):
        lower = self.lower * self.l_mask + torch.eye(len(self.l_mask), device=self.lower.device)
        upper = self.upper * self.l_mask.T + torch.diag(self.sign_s * self.log_s.exp())
        return self.p @ lower @ upper

    def forward(self, x):
        return F.conv2d(x, self.weight()[:, :, None, None]), self.log_s.sum() * x.shape[2] * x.shape[3]

    def inverse(self, y):
        return F.conv2d(y, torch.linalg.inv(self.weight())[:, :, None, None])


class Coupling(nn.Module):
    """Affine coupling: half the channels scale and shift the other half (tanh-bounded log-scales)."""

    def __init__(self, c: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(c // 2, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, hidden, 1),
                                 nn.ReLU(), nn.Conv2d(hidden, (c - c // 2) * 2, 3, padding=1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x):
        a, b = x[:, :x.shape[1] // 2], x[:, x.shape[1] // 2:]
        s, t = self.net(a).chunk(2, 1)
        s = torch.tanh(s)
        return torch.cat([a, b * s.exp() + t], 1), s.flatten(1).sum(1)

    def inverse(self, y):
        a, b = y[:, :y.shape[1] // 2], y[:, y.shape[1] // 2:]
        s, t = self.net(a).chunk(2, 1)
        s = torch.tanh(s)
        return torch.cat([a, (b - t) * (-s).exp()], 1)


class PixelFlow(nn.Module):
    """What the two exact-likelihood flows (Flow, MAF) share: forward maps [0, 1] pixels to a standard normal latent
    with its log-determinant, inverse maps back; from those, the log density, bits per dim on 256 levels (bounded
    through uniform dequantisation) and the Encodes protocol."""

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log density (nats) of dequantised pixels x in [0, 1]^D."""
        z, logdet = self(x)
        return -0.5 * (z ** 2 + math.log(2 * math.pi)).flatten(1).sum(1) + logdet

    def dequantize(self, x: torch.Tensor) -> torch.Tensor:
        return dequantize(x)

    def bits_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        """-log2 p(discrete image) / D: the density of x / 256 on 256 levels per dim."""
        d = x[0].numel()
        logp = self.log_prob(self.dequantize(x)) - d * math.log(256)
        return -logp / (d * math.log(2))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self(images.clamp(1 / 512, 1 - 1 / 512))[0]

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return self.inverse(latent)


class Flow(PixelFlow):
    """Pixels -> dequantised (x * 255 + u) / 256 -> logit(alpha + (1 - 2 alpha) x) -> two scales of
    [squeeze, `depth` x (actnorm, 1x1 conv, coupling)] -> standard normal. `log_prob` is exact for the
    dequantised data; `bits_per_dim` counts the discrete pixels' 256 levels (the usual figure)."""

    ALPHA = LOGIT_ALPHA

    def __init__(self, image_shape, depth: int = 4, hidden: int = 64):
        super().__init__()
        self.image_shape = tuple(image_shape)
        c = image_shape[0]
        self.levels = nn.ModuleList()
        for scale in range(2):
            c = c * 4
            self.levels.append(nn.ModuleList(
                nn.ModuleList([ActNorm(c), InvConv(c), Coupling(c, hidden)]) for _ in range(depth)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, log-determinant of the whole map from [0, 1] pixels to z)."""
        h, logdet = logit_transform(x, self.ALPHA)
        for level in self.levels:
            h = squeeze(h)
            for actnorm, conv, coupling in level:
                for layer in (actnorm, conv, coupling):
                    h, ld = layer(h)
                    logdet = logdet + ld
        return h, logdet

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for level in reversed(self.levels):
            for actnorm, conv, coupling in reversed(level):
                h = actnorm.inverse(conv.inverse(coupling.inverse(h)))
            h = unsqueeze(h)
        return logit_inverse(h, self.ALPHA)

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        c, h, w = self.image_shape
        z = torch.randn(n, c * 16, h // 4, w // 4, generator=generator).to(next(self.parameters()).device)
        return self.inverse(z * temperature)


# -- VQ-VAE ------------------------------------------------------------------------------------------------


class VQVAE(nn.Module):
    def __init__(self, image_shape, codes: int = 64, code_dim: int = 16, width: int = 64, beta: float = 0.25,
                 prior_net: nn.Module | None = None):
        super().__init__()
        self.prior_net = prior_net  # a PixelCNN over code maps (genesis_core.vision.autoregressive), or None
        c = image_shape[0]
        self.image_shape, self.beta, self.codes = tuple(image_shape), beta, codes
        self.encoder = nn.Sequential(nn.Conv2d(c, width // 2, 4, 2, 1), nn.ReLU(), nn.Conv2d(width // 2, width, 4, 2, 1),
                                     nn.ReLU(), nn.Conv2d(width, width, 3, 1, 1), nn.ReLU(), nn.Conv2d(width, code_dim, 1))
        self.codebook = nn.Embedding(codes, code_dim)
        nn.init.uniform_(self.codebook.weight, -1 / codes, 1 / codes)
        self.decoder = nn.Sequential(nn.Conv2d(code_dim, width, 3, 1, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(width // 2, c, 4, 2, 1))
        self.register_buffer("usage", torch.zeros(codes))  # a running count of each code's use in training
        # the per-position code frequencies of the training set: the prior that samples draw from
        self.register_buffer("prior", torch.zeros(codes, image_shape[1] // 4, image_shape[2] // 4))

    def quantize(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = h.permute(0, 2, 3, 1).reshape(-1, h.shape[1])
        idx = torch.cdist(flat, self.codebook.weight).argmin(1)  # codes x batch positions: small
        q = self.codebook(idx).view(h.shape[0], h.shape[2], h.shape[3], -1).permute(0, 3, 1, 2)
        return q, idx.view(h.shape[0], h.shape[2], h.shape[3])

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.encoder(x * 2 - 1)
        q, idx = self.quantize(h)
        codebook_loss, commitment = losses.vector_quantization(h, q)
        st = h + (q - h).detach()  # straight-through
        logits = self.decoder(st)
        recon = F.binary_cross_entropy_with_logits(logits, x)
        if self.training:
            with torch.no_grad():
                self.usage.mul_(0.99).add_(torch.bincount(idx.flatten(), minlength=self.codes).float())
        terms = {"recon": recon, "codebook": codebook_loss, "commitment": commitment}
        if self.prior_net is not None:  # the prior learns the codes as they are; no gradient reaches the encoder
            terms["prior_nll"] = self.prior_net.nll(idx.detach()).mean() / idx[0].numel()
        total, _ = losses.WeightedLoss(recon=1.0, codebook=1.0, commitment=self.beta, prior_nll=1.0)(**terms)
        return {"loss": total, **terms, "idx": idx, "h": h, "logits": logits}

    @torch.no_grad()
    def restart_dead_codes(self, h: torch.Tensor, threshold: float = 0.01) -> int:
        """Codes used less than `threshold` of an even share are moved onto random encoder outputs."""
        dead = self.usage < threshold * self.usage.sum() / self.codes
        n = int(dead.sum())
        if n:
            flat = h.permute(0, 2, 3, 1).reshape(-1, h.shape[1])
            pick = torch.randint(len(flat), (n,), device=flat.device)
            self.codebook.weight[dead] = flat[pick] + 1e-3 * torch.randn_like(flat[pick])
            self.usage[dead] = self.usage.sum() / self.codes
        return n

    @torch.no_grad()
    def decode_codes(self, idx: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(self.codebook(idx).permute(0, 3, 1, 2)))

    @torch.no_grad()
    def fit_prior(self, images: torch.Tensor) -> None:
        counts = torch.zeros_like(self.prior)
        for b in images.split(500):
            idx = self.quantize(self.encoder(b.to(self.prior.device) * 2 - 1))[1]
            for p in range(idx.shape[1]):
                for q in range(idx.shape[2]):
                    counts[:, p, q] += torch.bincount(idx[:, p, q], minlength=self.codes).float()
        self.prior.copy_(counts / counts.sum(0, keepdim=True).clamp(min=1))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.quantize(self.encoder(images * 2 - 1))[1]

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return self.decode_codes(latent)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, prior: str = "") -> torch.Tensor:
        """Code maps drawn from the learned PixelCNN prior (where the model has one and `prior` is not
        "independent") or position by position from the training set's per-position code frequencies (the
        independent prior: the baseline), and decoded."""
        if self.prior_net is not None and prior != "independent":
            k, h, w = self.prior.shape
            return self.decode_codes(self.prior_net.sample_values(n, (h, w), generator))
        k, h, w = self.prior.shape
        probs = self.prior.permute(1, 2, 0).reshape(h * w, k).cpu() + 1e-8
        idx = torch.multinomial(probs, n, replacement=True, generator=generator).T.reshape(n, h, w)
        return self.decode_codes(idx.to(self.prior.device))
