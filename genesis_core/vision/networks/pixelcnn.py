"""A gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders"): a categorical
distribution for each position given every position above it and to its left, so the log-likelihood of a
discrete image (or of a VQ-VAE code map) is exact.

  vertical stack    a (k//2 + 1) x k convolution over the rows above (the first layer masks the current row);
                    it feeds the horizontal stack, so there is no blind spot
  horizontal stack  a 1 x (k//2 + 1) convolution over the pixels to the left (the first layer masks the current one),
                    plus the vertical stack through a 1x1 convolution; residual from the second layer on
  gates             tanh(a) * sigmoid(b) in both stacks
  head              ReLU -> 1x1 -> ReLU -> 1x1 to one logit per category (256 pixel levels, or the codebook's size)
Choices made here: one channel of pixels (RGB would need masks across channels within a pixel: refused with a
sentence), pixels enter as their value scaled to [-1, 1] and codes through an embedding; no class conditioning.
Sampling runs H x W passes, each over the window of rows above and columns beside that can reach the position it
draws (layers x kernel // 2 of each), and the head at that position alone.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class GatedLayer(nn.Module):
    v_mask: torch.Tensor  # a buffer
    h_mask: torch.Tensor  # a buffer

    def __init__(self, dim: int, kernel: int, first: bool):
        super().__init__()
        self.first, self.kernel = first, kernel
        self.vertical = nn.Conv2d(dim, 2 * dim, (kernel // 2 + 1, kernel), padding=(kernel // 2, kernel // 2))
        self.v_to_h = nn.Conv2d(2 * dim, 2 * dim, 1)
        self.horizontal = nn.Conv2d(dim, 2 * dim, (1, kernel // 2 + 1), padding=(0, kernel // 2))
        self.h_out = nn.Conv2d(dim, dim, 1)
        v_mask, h_mask = torch.ones_like(self.vertical.weight), torch.ones_like(self.horizontal.weight)
        if first:  # the first layer may not see the position it predicts
            v_mask[:, :, -1] = 0
            h_mask[:, :, :, -1] = 0
        self.register_buffer("v_mask", v_mask, persistent=False)
        self.register_buffer("h_mask", h_mask, persistent=False)

    @staticmethod
    def gate(x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, 1)
        return torch.tanh(a) * torch.sigmoid(b)

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = v.shape[2], h.shape[3]
        v_full = F.conv2d(v, self.vertical.weight * self.v_mask, self.vertical.bias,
                          padding=self.vertical.padding)[:, :, :height]
        h_full = F.conv2d(h, self.horizontal.weight * self.h_mask, self.horizontal.bias,
                          padding=self.horizontal.padding)[:, :, :, :width]
        h_new = self.h_out(self.gate(h_full + self.v_to_h(v_full)))
        return self.gate(v_full), h_new if self.first else h + h_new


class PixelCNN(nn.Module):
    """`categories` values per position: 256 for pixels (`embed=False`: the input is the pixel value) or the size
    of a codebook (`embed=True`: the input is a code index)."""

    def __init__(self, categories: int = 256, dim: int = 64, layers: int = 7, kernel: int = 7, embed: bool = False):
        super().__init__()
        if kernel % 2 == 0 or kernel < 3:
            raise ValueError("PixelCNN kernel must be odd and at least 3")
        self.categories, self.embed = categories, embed
        self.reach = layers * (kernel // 2)  # rows above, and columns either side, that can reach a position
        self.inp = nn.Embedding(categories, dim) if embed else nn.Conv2d(1, dim, 1)
        self.layers = nn.ModuleList(GatedLayer(dim, kernel, i == 0) for i in range(layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(dim, 4 * dim, 1), nn.ReLU(), nn.Conv2d(4 * dim, categories, 1))

    def _input(self, values: torch.Tensor) -> torch.Tensor:
        """values: (n, H, W) integers in [0, categories)."""
        if self.embed:
            return self.inp(values).permute(0, 3, 1, 2)
        return self.inp((values.float() / (self.categories - 1) * 2 - 1)[:, None])

    def features(self, values: torch.Tensor) -> torch.Tensor:
        x = self._input(values)
        v, h = x, x
        for layer in self.layers:
            v, h = layer(v, h)
        return h

    def logits(self, values: torch.Tensor) -> torch.Tensor:
        """(n, categories, H, W): the distribution at each position given the values above and to its left."""
        return self.head(self.features(values))

    def logits_at(self, values: torch.Tensor, i: int, j: int) -> torch.Tensor:
        """(n, categories) at position (i, j) alone, from the window of rows and columns that can reach it (equal
        to logits(values)[:, :, i, j]; what sampling runs H x W times)."""
        top, left, right = max(0, i - self.reach), max(0, j - self.reach), min(values.shape[2], j + self.reach + 1)
        h = self.features(values[:, top:i + 1, left:right])
        return self.head(h[:, :, i - top, j - left][:, :, None, None])[:, :, 0, 0]

    def nll(self, values: torch.Tensor) -> torch.Tensor:
        """-log p(values) in nats, one per map (summed over positions)."""
        return F.cross_entropy(self.logits(values), values, reduction="none").flatten(1).sum(1)

    @torch.no_grad()
    def sample_values(self, n: int, shape: tuple[int, int], generator: torch.Generator | None = None,
                      temperature: float = 1.0) -> torch.Tensor:
        dev = next(self.parameters()).device
        height, width = shape
        out = torch.zeros(n, height, width, dtype=torch.long, device=dev)
        for i in range(height):
            for j in range(width):
                logits = self.logits_at(out, i, j) / temperature
                probs = torch.softmax(logits.float(), 1).cpu()
                out[:, i, j] = torch.multinomial(probs, 1, generator=generator)[:, 0].to(dev)
        return out


class ImagePixelCNN(nn.Module):
    """A PixelCNN over one-channel images on 256 levels: exact bits per dim."""

    def __init__(self, image_shape: tuple[int, int, int], dim: int = 64, layers: int = 7, kernel: int = 7):
        super().__init__()
        if image_shape[0] != 1:
            raise ValueError(f"image_pixelcnn models one channel of pixels and these images have {image_shape[0]}; "
                             "set data.channels to 1")
        self.image_shape = tuple(image_shape)
        self.net = PixelCNN(256, dim, layers, kernel, embed=False)

    @staticmethod
    def levels(x: torch.Tensor) -> torch.Tensor:
        return (x[:, 0] * 255).round().long().clamp(0, 255)

    def bits_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        """-log2 p(x) / D, exact: the pixels' 256 levels are the model's categories (no dequantisation)."""
        return self.net.nll(self.levels(x)) / (x[0].numel() * math.log(2))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor:
        values = self.net.sample_values(n, (self.image_shape[1], self.image_shape[2]), generator, temperature)
        return (values.float() / 255)[:, None]
