"""A diffusion transformer denoiser (DiT, Peebles & Xie 2023) with the U-Net's call signature net(x, t, y).

Patchify (a p x p convolution with stride p) -> fixed 2-D sine-cosine position embeddings -> `depth` DiT blocks with
adaLN-Zero conditioning (the sum of the timestep and class embeddings regresses a shift, a scale and a gate for the
attention and for the MLP of each block; the regressions start at zero, so every block starts as the identity) ->
a final adaptive layer norm and a linear map to p x p x C per token (zero-initialised) -> unpatchify.
Choices made here: epsilon only (DiT also learns the variance; our DDPM fixes it), the class table has a "no class"
row as the U-Net's does (classifier-free guidance), MLP ratio 4 with tanh-GELU as in the paper.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.vision.networks.layers import zero_init

from genesis_core.vision.networks.diffusion import timestep_embedding


def sincos_2d(dim: int, h: int, w: int) -> torch.Tensor:
    """(h * w, dim) position embeddings: half the channels for rows, half for columns (MAE / DiT)."""
    def one(d, pos):
        omega = 1.0 / 10_000 ** (torch.arange(d // 2, dtype=torch.float64) / (d / 2))
        out = pos.reshape(-1, 1).double() * omega[None]
        return torch.cat([out.sin(), out.cos()], 1)

    gy, gx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return torch.cat([one(dim // 2, gy), one(dim // 2, gx)], 1).float()


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale[:, None]) + shift[:, None]


class DiTBlock(nn.Module):
    def __init__(self, hidden: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.qkv, self.proj = nn.Linear(hidden, 3 * hidden), nn.Linear(hidden, hidden)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        inner = int(hidden * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(hidden, inner), nn.GELU(approximate="tanh"), nn.Linear(inner, hidden))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 6 * hidden))
        zero_init(self.ada[-1])  # adaLN-Zero: the block starts as the identity

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        n, L, d = x.shape
        q, k, v = self.qkv(x).view(n, L, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, L, d))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(c).chunk(6, 1)
        x = x + gate1[:, None] * self.attention(modulate(self.norm1(x), shift1, scale1))
        return x + gate2[:, None] * self.mlp(modulate(self.norm2(x), shift2, scale2))


class DiT(nn.Module):
    pos: torch.Tensor  # a buffer

    def __init__(self, image_shape: tuple[int, int, int], patch: int = 2, hidden: int = 128, depth: int = 4,
                 heads: int = 4, num_classes: int = 0):
        super().__init__()
        c, h, w = image_shape
        if h % patch or w % patch:
            raise ValueError(f"DiT patch {patch} does not divide {h}x{w} images")
        if hidden % heads or hidden % 4:
            raise ValueError("DiT hidden must be a multiple of heads and of 4")
        self.channels, self.patch, self.grid, self.hidden = c, patch, (h // patch, w // patch), hidden
        self.num_classes = num_classes
        self.embed = nn.Conv2d(c, hidden, patch, stride=patch)
        self.register_buffer("pos", sincos_2d(hidden, *self.grid)[None], persistent=False)
        self.t_mlp = nn.Sequential(nn.Linear(256, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.y_emb = nn.Embedding(num_classes + 1, hidden) if num_classes else None
        self.blocks = nn.ModuleList(DiTBlock(hidden, heads) for _ in range(depth))
        self.final_norm = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.final_ada = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden))
        self.out = nn.Linear(hidden, patch * patch * c)
        self._init()

    def _init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        w = self.embed.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        if self.embed.bias is not None:
            nn.init.zeros_(self.embed.bias)
        for m in self.t_mlp:
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
        if self.y_emb is not None:
            nn.init.normal_(self.y_emb.weight, std=0.02)
        for block in cast("list[DiTBlock]", list(self.blocks)):
            zero_init(block.ada[-1])
        for m in (self.final_ada[-1], self.out):
            zero_init(m)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        n = len(x)
        tokens = self.embed(x).flatten(2).transpose(1, 2) + self.pos
        c = self.t_mlp(timestep_embedding(t, 256))
        if self.y_emb is not None:
            c = c + self.y_emb(y if y is not None else torch.full_like(t, self.num_classes))
        for block in self.blocks:
            tokens = block(tokens, c)
        shift, scale = self.final_ada(c).chunk(2, 1)
        out = self.out(modulate(self.final_norm(tokens), shift, scale))  # (n, tokens, p * p * C)
        gh, gw = self.grid
        p = self.patch
        out = out.view(n, gh, gw, p, p, self.channels).permute(0, 5, 1, 3, 2, 4)
        return out.reshape(n, self.channels, gh * p, gw * p)

