"""VQ-VAE: an encoder, a codebook with straight-through quantisation, a decoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.vision.networks import losses
from genesis_core.vision.networks.pixelcnn import PixelCNN

# -- diffusion -----------------------------------------------------------------------------------------

# -- VQ-VAE ------------------------------------------------------------------------------------------------


class VQVAE(nn.Module):
    usage: torch.Tensor  # a buffer
    prior: torch.Tensor  # a buffer

    latent_path = "the codes of one image replaced, a growing share at a time, by the other's"  # how the explorer goes from one image to another through the latent
    def __init__(self, image_shape, codes: int = 64, code_dim: int = 16, width: int = 64, beta: float = 0.25,
                 prior_net: PixelCNN | None = None):
        super().__init__()
        self.prior_net = prior_net  # a PixelCNN over code maps (genesis_core.vision.networks.pixelcnn), or None
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
