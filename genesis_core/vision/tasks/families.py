"""The generative families as training tasks on the shared Trainer, registered by name:

  image_diffusion   DDPM with a U-Net or a DiT denoiser, sampled by ancestral, DDIM, probability-flow ODE or reverse-SDE steps,
                    optionally class-conditional with classifier-free guidance; on pixels or on the codes of a
                    trained autoencoder of the lab (model.autoencoder: a run id)
  image_gan         DCGAN-style, spectral norm + logistic loss or WGAN-GP, optionally class-conditional;
                    both losses logged, a collapse warning when sample diversity falls
  image_flow        an affine-coupling flow with exact log-likelihood in bits per dim
  image_vqvae       VQ-VAE with codebook usage, perplexity and dead-code restarts; prior independent or PixelCNN
  image_pixelcnn, image_maf, image_ebm   in genesis_core.vision.tasks.density_families

Every evaluation samples `eval_samples` images (same seed every time) and scores them in domain features
(genesis_core.vision.analysis.sample_quality): FD, precision / recall / density / coverage, class accuracy of
conditional samples, beside held-out real images (the floor) and noise; the sampling time per image; and
test bits per dim for every model with an exact likelihood (the ExactLikelihood protocol).
"""

from __future__ import annotations

import abc
import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from genesis_core.registry import TASKS
from genesis_core.training.callbacks import Callback
from genesis_core.training.task import TaskConfigBase, TrainerConfig
from genesis_core.vision.networks.gan import GAN
from genesis_core.vision.networks.vqvae import VQVAE
from genesis_core.vision.networks.diffusion import Diffusion
from genesis_core.vision.networks.flow import Flow
from genesis_core.vision.images import psnr_from_mse, to_pil_grid
from genesis_core.vision.networks.losses import WeightedLoss
from genesis_core.vision.protocols import ExactLikelihood, held_out_bits_per_dim
from genesis_core.vision.tasks.autoencoders import ImageDataConfig, ImageTask

def family_tasks() -> dict[str, str]:
    """Every registered generative family: its task name -> its title. A family appears on the pages by registering
    a GenerativeTask, with no list to edit."""
    from genesis_core.registry import TASKS

    return {name: TASKS.get(name).title for name in TASKS.names() if issubclass(TASKS.get(name), GenerativeTask)}


def _trainer(**kw) -> Any:
    base = {"steps": 2000, "lr": 2e-4, "eval_every": 500, "checkpoint_every": 500, "log_every": 20}
    return field(default_factory=lambda: TrainerConfig(**{**base, **kw}))


class GenerativeTask(ImageTask):
    """Shared by the families: scored samples at every evaluation, sample grids as previews."""

    family = "?"

    def __init__(self, config: Any, device: torch.device):
        super().__init__(config, device)
        if any(s % 4 for s in self.split.image_shape[1:]):
            raise ValueError(f"images of {self.split.image_shape[1]}x{self.split.image_shape[2]} pixels: these models "
                             "need sides divisible by 4; set data.image_size (e.g. 28 or 32)")
        self._scorer = None

    @property
    def conditional(self) -> bool:
        return bool(getattr(self.config.model, "conditional", False))

    def scorer(self):
        if self._scorer is None:
            from genesis_core.vision.analysis.sample_quality import SampleScorer

            d = self.config.data
            self._scorer = SampleScorer(self.split, (d.dataset, d.path, d.image_size, d.channels, d.test_fraction,
                                                     d.split_seed, d.limit), n=self.config.eval_samples)
        return self._scorer

    @abc.abstractmethod
    def sample(self, model: nn.Module, n: int, labels: torch.Tensor | None, seed: int) -> torch.Tensor:
        """n images in [0, 1] from the model, with these labels (conditional models) and this seed."""

    def eval_labels(self, n: int) -> torch.Tensor | None:
        if not self.conditional:
            return None
        return (torch.arange(n) % self.split.num_classes).to(self.device)

    @torch.no_grad()
    def evaluate(self, model: nn.Module) -> dict[str, float]:
        scorer = self.scorer()
        n = scorer.n
        labels = self.eval_labels(n)
        start = time.perf_counter()
        images = torch.cat([self.sample(model, len(chunk), None if labels is None else labels[i * 250:(i + 1) * 250],
                                        seed=i) for i, chunk in enumerate(torch.arange(n).split(250))])
        seconds = time.perf_counter() - start
        m = scorer.score(images.float().cpu(), None if labels is None else labels.cpu())
        m["sample_ms_per_image"] = 1000 * seconds / n
        base = scorer.baselines()
        m["fd_floor"], m["fd_noise"] = base["held_out_real"]["fd"], base["noise"]["fd"]
        m["classifier_accuracy"] = scorer.classifier_accuracy
        from genesis_core.vision.analysis.sample_quality import diversity

        m["diversity_ratio"] = diversity(images.float().cpu(), scorer.model) / max(
            diversity(self.split.test_x[:n], scorer.model), 1e-9)
        if isinstance(model, ExactLikelihood):
            m["test_bits_per_dim"] = held_out_bits_per_dim(model, self.split.test_x[:1000].to(self.device))
        m.update(self.extra_metrics(model))
        return m

    def extra_metrics(self, model: nn.Module) -> dict[str, float]:
        return {}

    @torch.no_grad()
    def preview(self, model: nn.Module) -> dict[str, Any]:
        scale = max(1, 112 // self.split.image_shape[-1])
        if self.conditional:
            k = self.split.num_classes
            labels = torch.arange(k).repeat_interleave(8).to(self.device)
            imgs = self.sample(model, len(labels), labels, seed=0).float().cpu()
            return {"samples": to_pil_grid(list(imgs.view(k, 8, *imgs.shape[1:])), scale=scale)}
        imgs = self.sample(model, 64, None, seed=0).float().cpu()
        return {"samples": to_pil_grid(list(imgs.view(8, 8, *imgs.shape[1:])), scale=scale)}

    def checkpoint_meta(self) -> dict[str, Any]:
        return {"family": self.family, "image_shape": list(self.split.image_shape), "classes": list(self.split.classes),
                "conditional": self.conditional}


# -- diffusion -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiffusionModelConfig:
    denoiser: Literal["unet", "dit"] = "unet"  # the epsilon network on pixels
    width: int = 16  # U-Net channels at full resolution (x2, x4 at the lower two)
    dit_patch: int = 2  # DiT: patch side in pixels (tokens = (H / patch) x (W / patch))
    dit_hidden: int = 128  # DiT: token width
    dit_depth: int = 4  # DiT: blocks
    dit_heads: int = 4  # DiT: attention heads
    sampler: Literal["ancestral", "ddim", "ode", "sde"] = "ddim"  # for evaluation and previews (genesis_core.vision.samplers)
    conditional: bool = False  # class-conditional with classifier-free guidance
    p_uncond: float = 0.1  # share of training batches' labels dropped (guidance learns the unconditional model)
    guidance: float = 2.0  # guidance scale for evaluation and previews (1: none)
    sample_steps: int = 25  # sampler steps for evaluation and previews (the ODE's Heun steps cost 2 evaluations)
    autoencoder: str = ""  # a run id of a trained image autoencoder (or "run:z8" of a sweep): latent diffusion on
    # its codes (an MLP denoiser; the autoencoder stays frozen and decodes the samples)
    latent_hidden: int = 256  # latent diffusion: width of the MLP

    def __post_init__(self) -> None:
        if self.width < 8 or self.width % 8:
            raise ValueError("width must be a multiple of 8")
        if self.sample_steps < 1 or self.guidance < 0:
            raise ValueError("sample_steps must be at least 1 and guidance not negative")
        if self.autoencoder and self.denoiser != "unet":
            raise ValueError("latent diffusion (model.autoencoder) uses its MLP denoiser; the DiT runs on pixels")


@dataclass(frozen=True)
class DiffusionConfig(TaskConfigBase):
    task: str = "image_diffusion"
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: DiffusionModelConfig = field(default_factory=DiffusionModelConfig)
    eval_samples: int = 500
    trainer: TrainerConfig = _trainer(lr=1e-3, warmup_steps=100)


@TASKS.register("image_diffusion")
class DiffusionTask(GenerativeTask):
    config_cls = DiffusionConfig
    family = "diffusion"
    title = "Image diffusion (U-Net or DiT; DDPM / DDIM)"
    description = ("Denoising diffusion with a U-Net or a DiT; ancestral, DDIM, ODE or SDE sampling; optional "
                   "classifier-free guidance.")

    def build_model(self) -> nn.Module:
        m = self.config.model
        classes = self.split.num_classes if m.conditional else 0
        if not m.autoencoder:
            net = None
            if m.denoiser == "dit":
                from genesis_core.vision.networks.dit import DiT

                net = DiT(self.split.image_shape, m.dit_patch, m.dit_hidden, m.dit_depth, m.dit_heads, classes)
            model = Diffusion(self.split.image_shape, m.width, classes, p_uncond=m.p_uncond, net=net)
            model.sample_steps = m.sample_steps
            return model
        from genesis_core.vision.analysis.catalog import load_autoencoder
        from genesis_core.vision.networks.diffusion import LatentDiffusion

        ae, ae_task = load_autoencoder(m.autoencoder, device=str(self.device))
        if tuple(ae_task.split.image_shape) != tuple(self.split.image_shape):
            raise ValueError(f"autoencoder {m.autoencoder} was trained on {ae_task.split.image_shape} images, this data "
                             f"is {self.split.image_shape}")
        model = LatentDiffusion(ae.float(), self.split.image_shape, m.latent_hidden, classes, p_uncond=m.p_uncond)
        model.fit_codes(self.split.train_x[self.fit_rows].to(self.device))
        model.sample_steps = m.sample_steps
        return model

    def training_step(self, model, batch):
        x, y = batch
        loss = model.loss(x, y if self.conditional else None)
        return loss, {"mse": loss.detach()}

    def sample(self, model, n, labels, seed, sampler: str | None = None, steps: int | None = None):
        """With the config's sampler and steps, or these."""
        m = self.config.model
        return model.sample(n, steps or m.sample_steps, labels, m.guidance, generator=torch.Generator().manual_seed(seed),
                            sampler=sampler or m.sampler)


# -- GAN -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GANModelConfig:
    loss: Literal["logistic", "wgan_gp"] = "logistic"  # logistic: spectral-norm discriminator; wgan_gp: Gulrajani
    # et al. 2017 (a plain critic, Adam betas (0, 0.9), gp_weight, n_critic)
    gp_weight: float = 10.0  # WGAN-GP: the gradient penalty's weight
    n_critic: int = 5  # WGAN-GP: critic updates per generator update
    z_dim: int = 64
    width: int = 64
    conditional: bool = False  # conditional batch norm in G, a projection discriminator
    d_lr_ratio: float = 1.0  # the discriminator's LR over the generator's (>1: two time-scale updates)
    collapse_ratio: float = 0.5  # warn when sample diversity falls below this share of the real images'

    def __post_init__(self) -> None:
        if self.n_critic < 1 or self.gp_weight < 0:
            raise ValueError("n_critic must be at least 1 and gp_weight not negative")


@dataclass(frozen=True)
class GANConfig(TaskConfigBase):
    task: str = "image_gan"
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: GANModelConfig = field(default_factory=GANModelConfig)
    eval_samples: int = 500
    trainer: TrainerConfig = _trainer(lr=2e-4, grad_clip=0.0)


class CollapseWarning(Callback):
    """An event when the samples' diversity (mean feature distance between pairs) falls below a share of the
    real images': the usual sign of mode collapse."""

    def __init__(self, ratio: float):
        self.ratio, self.warned_at = ratio, None

    def on_eval(self, trainer, metrics):
        r = metrics.get("eval/diversity_ratio")
        if r is not None and r < self.ratio:
            trainer.log_event("collapse", f"sample diversity fell to {r:.2f} of the real images' (below "
                                          f"{self.ratio:g}): the generator may be collapsing")


@TASKS.register("image_gan")
class GANTask(GenerativeTask):
    config_cls = GANConfig
    family = "gan"
    title = "Image GAN (spectral norm or WGAN-GP)"
    description = "A DCGAN-style GAN: spectral norm and the logistic loss, or WGAN-GP; collapse is watched."

    def build_model(self) -> nn.Module:
        m = self.config.model
        model = GAN(self.split.image_shape, m.z_dim, m.width, self.split.num_classes if m.conditional else 0, m.loss)
        model.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        return model

    def build_optimizer(self, model):
        lr, m = self.config.trainer.lr, self.config.model
        betas = (0.0, 0.9) if m.loss == "wgan_gp" else (0.5, 0.999)
        return torch.optim.Adam([{"params": model.generator.parameters(), "lr": lr},
                                 {"params": model.discriminator.parameters(), "lr": lr * m.d_lr_ratio}],
                                lr=lr, betas=betas)

    def training_step(self, model, batch):
        x, y = batch
        m = self.config.model
        terms = model.losses(x, y)
        model.steps_done += 1
        generator_turn = m.loss == "logistic" or int(model.steps_done) % m.n_critic == 0
        # off its turn the generator's term has weight 0: no gradient, and Adam leaves the generator as it is
        weigh = WeightedLoss(d_loss=1.0, g_loss=1.0 if generator_turn else 0.0, gradient_penalty=m.gp_weight)
        return weigh(**terms)

    def sample(self, model, n, labels, seed):
        return model.sample(n, labels, generator=torch.Generator().manual_seed(seed))

    def callbacks(self) -> list:
        return [CollapseWarning(self.config.model.collapse_ratio)]


# -- flow ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlowModelConfig:
    depth: int = 4  # steps of (actnorm, 1x1 conv, coupling) per scale
    hidden: int = 64
    temperature: float = 1.0  # of the prior at sampling (1: the model's own distribution)
    coupling: Literal["affine", "spline"] = "affine"  # affine (Glow) or rational-quadratic spline (Durkan et al. 2019)
    bins: int = 8  # spline coupling: bins of each spline
    bound: float = 3.0  # spline coupling: the spline covers [-bound, bound], the identity outside

    def __post_init__(self) -> None:
        if self.depth < 1 or self.hidden < 2 or self.temperature <= 0:
            raise ValueError("depth must be at least 1, hidden at least 2 and temperature positive")
        if self.bins < 2 or self.bound <= 0:
            raise ValueError("bins must be at least 2 and bound positive")


@dataclass(frozen=True)
class FlowConfig(TaskConfigBase):
    task: str = "image_flow"
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: FlowModelConfig = field(default_factory=FlowModelConfig)
    eval_samples: int = 500
    trainer: TrainerConfig = _trainer(lr=1e-3, warmup_steps=100)


class ExactLikelihoodTask(GenerativeTask):
    """A family trained by its exact negative log-likelihood (bits per dim) and sampled at a temperature of its
    prior: the coupling flow, the MAF, the PixelCNN."""

    def training_step(self, model, batch):
        x, _ = batch
        bpd = model.bits_per_dim(x).mean()
        return bpd, {"bits_per_dim": bpd.detach()}

    def sample(self, model, n, labels, seed):
        return model.sample(n, temperature=self.config.model.temperature,
                            generator=torch.Generator().manual_seed(seed))


@TASKS.register("image_flow")
class FlowTask(ExactLikelihoodTask):
    config_cls = FlowConfig
    family = "flow"
    title = "Image flow (coupling, exact likelihood)"
    description = ("A normalising flow with affine or rational-quadratic spline couplings: exact log-likelihood in "
                   "bits per dim, exact inversion.")

    def build_model(self) -> nn.Module:
        m = self.config.model
        return Flow(self.split.image_shape, m.depth, m.hidden, m.coupling, m.bins, m.bound)


# -- VQ-VAE ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VQVAEModelConfig:
    codes: int = 64
    code_dim: int = 16
    width: int = 64
    beta: float = 0.25  # commitment
    restart_every: int = 100  # steps between dead-code restarts (0: never)
    prior: Literal["independent", "pixelcnn"] = "independent"  # what samples draw code maps from: the per-position
    # code frequencies, or a gated PixelCNN trained on the (detached) code maps beside the autoencoder
    prior_dim: int = 64  # PixelCNN prior: channels
    prior_layers: int = 7  # PixelCNN prior: gated layers


@dataclass(frozen=True)
class VQVAEConfig(TaskConfigBase):
    task: str = "image_vqvae"
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: VQVAEModelConfig = field(default_factory=VQVAEModelConfig)
    eval_samples: int = 500
    trainer: TrainerConfig = _trainer(lr=1e-3)


@TASKS.register("image_vqvae")
class VQVAETask(GenerativeTask):
    config_cls = VQVAEConfig
    family = "vqvae"
    title = "VQ-VAE"
    description = "A vector-quantised autoencoder: codebook usage, perplexity, dead codes restarted."

    def build_model(self) -> nn.Module:
        m = self.config.model
        prior = None
        if m.prior == "pixelcnn":
            from genesis_core.vision.networks.pixelcnn import PixelCNN

            prior = PixelCNN(m.codes, m.prior_dim, m.prior_layers, kernel=5 if min(self.split.image_shape[1:]) // 4 < 8
                             else 7, embed=True)
        model = VQVAE(self.split.image_shape, m.codes, m.code_dim, m.width, m.beta, prior_net=prior)
        model.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        return model

    def training_step(self, model, batch):
        x, _ = batch
        out = model(x)
        model.steps_done += 1
        every = self.config.model.restart_every
        restarted = 0
        if every and int(model.steps_done) % every == 0:
            restarted = model.restart_dead_codes(out["h"].detach())
        logs = {"recon_bce": out["recon"].detach(), "restarted_codes": torch.tensor(float(restarted))}
        if "prior_nll" in out:
            logs["prior_nll"] = out["prior_nll"].detach()
        return out["loss"], logs

    def sample(self, model, n, labels, seed):
        return model.sample(n, generator=torch.Generator().manual_seed(seed))

    def evaluate(self, model):
        model.fit_prior(self.split.train_x[self.fit_rows][:2000])
        return super().evaluate(model)

    def extra_metrics(self, model):
        test = self.split.test_x[:1000].to(self.device)
        idx, mse = [], 0.0
        for b in test.split(250):
            out = model(b)
            idx.append(out["idx"].flatten())
            mse += float(((torch.sigmoid(out["logits"]) - b) ** 2).sum())
        counts = torch.bincount(torch.cat(idx), minlength=model.codes).float()
        p = counts / counts.sum()
        perplexity = float(torch.exp(-(p[p > 0] * p[p > 0].log()).sum()))
        mse /= test.numel()
        out = {"codebook_usage": float((counts > 0).float().mean()), "perplexity": perplexity,
               "recon_psnr_db": psnr_from_mse(mse)}
        if model.prior_net is not None:  # the learned prior beside the independent one, on the same seeds
            n = self.scorer().n
            independent = torch.cat([model.sample(len(c), torch.Generator().manual_seed(i), prior="independent")
                                     for i, c in enumerate(torch.arange(n).split(250))])
            out["fd_independent_prior"] = self.scorer().score(independent.float().cpu())["fd"]
            codes = torch.cat([model.encode(b) for b in test.split(250)])
            out["prior_bits_per_code"] = float(torch.cat([model.prior_net.nll(c) for c in codes.split(250)]).mean()
                                               / (codes[0].numel() * math.log(2)))
        return out
