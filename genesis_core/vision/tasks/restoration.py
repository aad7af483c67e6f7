"""A restoration network told the corruption and its level, trained on a continuous range of levels;
and its evaluation: PSNR against level beside the corrupted input (identity) and the classical filter,
and the level-mismatch matrix (the network told level a while the true level is b).

`direction`: reverse (undo a corruption), apply (learn to make it: scored against the exact procedure, beside
the untouched image) or both (one network, told which; the apply -> reverse cycle matrix says how well the
two halves undo each other, for every pair of corruptions).

The network sees the corrupted image plus a constant "level map" channel, and FiLM layers scale and
shift every block from an embedding of (level, corruption kind). It predicts a residual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.vision.networks.layers import zero_init

from genesis_core.registry import MODELS, TASKS
from genesis_core.training.task import TaskConfigBase, TrainerConfig
from genesis_core.vision.corruptions import ALL_CORRUPTIONS, CLASSICAL_FILTERS, CORRUPTIONS, classical_restore, corrupt

DIRECTIONS = {"reverse": ("reverse",), "apply": ("apply",), "both": ("reverse", "apply")}
from genesis_core.vision.images import psnr_from_mse, ssim, to_pil_grid
from genesis_core.vision.tasks.autoencoders import ImageDataConfig, ImageTask


@dataclass(frozen=True)
class RestorerConfig:
    channels: int = 32  # width of every block
    blocks: int = 4  # residual conv blocks, each FiLM-modulated by (level, kind)

    def __post_init__(self) -> None:
        if self.channels < 1 or self.blocks < 1:
            raise ValueError("channels and blocks must be at least 1")


@MODELS.register("restoration_net")
class RestorationNet(nn.Module):
    def __init__(self, config: RestorerConfig, image_channels: int, kinds: tuple[str, ...],
                 directions: tuple[str, ...] = ("reverse",)):
        super().__init__()
        ch = config.channels
        self.kinds, self.directions = tuple(kinds), tuple(directions)
        told = len(self.directions) if len(self.directions) > 1 else 0  # one direction: nothing to tell
        self.inp = nn.Conv2d(image_channels + 1, ch, 3, padding=1)
        self.convs = nn.ModuleList(nn.Conv2d(ch, ch, 3, padding=1) for _ in range(config.blocks))
        self.condition = nn.Sequential(nn.Linear(1 + len(self.kinds) + told, 64), nn.GELU(),
                                       nn.Linear(64, 2 * ch * config.blocks))
        zero_init(self.condition[-1])
        self.out = nn.Conv2d(ch, image_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, level: torch.Tensor, kind: torch.Tensor,
                direction: torch.Tensor | None = None) -> torch.Tensor:
        """x (N, C, H, W) corrupted (or clean, to apply); level (N,) in [0, 1]; kind (N,) index into `kinds`;
        direction (N,) index into `directions` (when it has more than one)."""
        level = level.to(x.dtype)
        parts = [level[:, None], F.one_hot(kind, len(self.kinds)).to(x.dtype)]
        if len(self.directions) > 1:
            direction = torch.zeros_like(kind) if direction is None else direction
            parts.append(F.one_hot(direction, len(self.directions)).to(x.dtype))
        cond = torch.cat(parts, 1)
        films = self.condition(cond).chunk(2 * len(self.convs), dim=1)
        h = F.gelu(self.inp(torch.cat([x, level.view(-1, 1, 1, 1).expand(-1, 1, *x.shape[2:])], 1)))
        for i, conv in enumerate(self.convs):
            gamma, shift = films[2 * i][..., None, None], films[2 * i + 1][..., None, None]
            h = h + F.gelu(conv(h) * (1 + gamma) + shift)
        return x + self.out(h)

    @torch.no_grad()
    def restore(self, x: torch.Tensor, kind: str, level: float | torch.Tensor) -> torch.Tensor:
        """Undo `kind` at `level` (a network trained to reverse)."""
        return self._run(x, kind, level, "reverse")

    @torch.no_grad()
    def corrupt(self, x: torch.Tensor, kind: str, level: float | torch.Tensor) -> torch.Tensor:
        """Make `kind` at `level` (a network trained to apply)."""
        return self._run(x, kind, level, "apply")

    def _run(self, x: torch.Tensor, kind: str, level, direction: str) -> torch.Tensor:
        if direction not in self.directions:
            raise ValueError(f"this network was trained to {' and '.join(self.directions)} corruptions, not to "
                             f"{direction} them")
        if kind not in self.kinds:
            raise ValueError(f"this network knows {', '.join(self.kinds)}, not {kind}")
        device = next(self.parameters()).device
        n = len(x)
        lv = torch.as_tensor(level, dtype=torch.float32).flatten()
        lv = lv.expand(n) if lv.numel() == 1 else lv
        k = torch.full((n,), self.kinds.index(kind), dtype=torch.long)
        d = torch.full((n,), self.directions.index(direction), dtype=torch.long)
        return self(x.to(device), lv.to(device), k.to(device), d.to(device)).float().clamp(0, 1).cpu()


@dataclass(frozen=True)
class ImageRestorationConfig(TaskConfigBase):
    CHOICES: ClassVar[dict] = {"corruptions": ALL_CORRUPTIONS, "direction": DIRECTIONS}  # allowed values, for docs
    task: str = "image_restoration"
    corruptions: tuple[str, ...] = CORRUPTIONS  # the kinds it learns; also the artistic ones: posterise,
    # halftone, kuwahara, swirl
    direction: str = "reverse"  # reverse (undo) | apply (make the corruption) | both (one network, told which)
    max_level: float = 1.0  # training levels are drawn uniformly from [0, max_level]
    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    model: RestorerConfig = field(default_factory=RestorerConfig)
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(steps=800, lr=2e-3, eval_every=400,
                                                                          checkpoint_every=200))

    def __post_init__(self) -> None:
        unknown = [c for c in self.corruptions if c not in ALL_CORRUPTIONS]
        if unknown or not self.corruptions:
            raise ValueError(f"corruptions must be some of {', '.join(ALL_CORRUPTIONS)}; got {list(self.corruptions)}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}; got {self.direction!r}")
        if not 0 < self.max_level <= 1:
            raise ValueError("max_level must be in (0, 1]")


EVAL_LEVELS = (0.25, 0.5, 0.75, 1.0)


@TASKS.register("image_restoration")
class ImageRestorationTask(ImageTask):
    config_cls = ImageRestorationConfig
    title = "Image restoration"
    description = ("Learn to undo noise, blur, masking and pixelation at any level, told the level; the "
                   "corrupted image and a classical filter are the baselines.")

    def build_model(self) -> RestorationNet:
        return RestorationNet(self.config.model, self.split.image_shape[0], self.config.corruptions,
                              DIRECTIONS[self.config.direction])

    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, _ = batch  # labels are not used
        n, kinds = len(x), self.config.corruptions
        directions = DIRECTIONS[self.config.direction]
        level = torch.rand(n, device=x.device) * self.config.max_level
        kind = torch.randint(len(kinds), (n,), device=x.device)
        direction = torch.randint(len(directions), (n,), device=x.device)
        corrupted = torch.empty_like(x)
        for i, name in enumerate(kinds):
            idx = (kind == i).nonzero().flatten()
            if len(idx):
                corrupted[idx] = corrupt(x[idx], name, level[idx])
        applying = (torch.tensor([d == "apply" for d in directions], device=x.device)[direction]).view(-1, 1, 1, 1)
        source, target = torch.where(applying, x, corrupted), torch.where(applying, corrupted, x)
        return F.mse_loss(model(source, level, kind, direction).float(), target), {}

    @torch.no_grad()
    def evaluate(self, module: nn.Module) -> dict[str, float]:
        model = cast(RestorationNet, module)
        x = self.split.test_x[:500]
        out = {}
        directions = DIRECTIONS[self.config.direction]
        for kind in self.config.corruptions:
            for lv in (0.5, self.config.max_level):
                if "reverse" in directions:
                    row = restoration_scores(model, x, kind, lv)
                    out[f"{kind}@{lv:g}/psnr_db"] = row["restored_psnr_db"]
                    out[f"{kind}@{lv:g}/identity_psnr_db"] = row["identity_psnr_db"]
                if "apply" in directions:
                    row = apply_scores(model, x, kind, lv)
                    out[f"{kind}@{lv:g}/apply_psnr_db"] = row["applied_psnr_db"]
                    out[f"{kind}@{lv:g}/apply_identity_psnr_db"] = row["identity_psnr_db"]
        headline = "/psnr_db" if "reverse" in directions else "/apply_psnr_db"
        out["psnr_db"] = float(np.mean([v for k, v in out.items() if k.endswith(headline)]))
        return out

    @torch.no_grad()
    def preview(self, module: nn.Module) -> dict[str, Any]:
        model = cast(RestorationNet, module)
        x = self.split.test_x[:8]
        rows = [x]
        directions = DIRECTIONS[self.config.direction]
        for kind in self.config.corruptions:
            bad = corrupt(x, kind, 0.75, torch.Generator().manual_seed(0))
            rows += [bad] + ([model.restore(bad, kind, 0.75)] if "reverse" in directions else []) + (
                [model.corrupt(x, kind, 0.75)] if "apply" in directions else [])
        return {"restorations_at_level_0.75": to_pil_grid(rows, scale=max(1, 112 // x.shape[-1]))}

    def checkpoint_meta(self) -> dict[str, Any]:
        return {"image_shape": list(self.split.image_shape), "corruptions": list(self.config.corruptions),
                "direction": self.config.direction}


# -- evaluation ----------------------------------------------------------------------------------
def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return psnr_from_mse(float(((a.clamp(0, 1) - b) ** 2).mean()))


@torch.no_grad()
def restoration_scores(model: RestorationNet, x: torch.Tensor, kind: str, level: float,
                       told_level: float | None = None, seed: int = 0) -> dict[str, float]:
    """PSNR / SSIM of the restored, the corrupted (identity) and the classically filtered images."""
    bad = corrupt(x, kind, level, torch.Generator().manual_seed(seed))
    restored = model.restore(bad, kind, level if told_level is None else told_level)
    classical = classical_restore(bad, kind, level)
    return {"level": level, "restored_psnr_db": _psnr(restored, x), "identity_psnr_db": _psnr(bad, x),
            "classical_psnr_db": _psnr(classical, x), "restored_ssim": float(ssim(restored, x).mean()),
            "identity_ssim": float(ssim(bad, x).mean()), "classical_ssim": float(ssim(classical, x).mean())}


@torch.no_grad()
def apply_scores(model: RestorationNet, x: torch.Tensor, kind: str, level: float, seed: int = 0) -> dict[str, float]:
    """PSNR of the network's corruption against the exact procedure's, beside the untouched image (identity)."""
    exact = corrupt(x, kind, level, torch.Generator().manual_seed(seed))
    made = model.corrupt(x, kind, level)
    return {"level": level, "applied_psnr_db": _psnr(made, exact), "identity_psnr_db": _psnr(x, exact),
            "applied_ssim": float(ssim(made, exact).mean())}


@torch.no_grad()
def cycle_matrix(model: RestorationNet, x: torch.Tensor, level: float = 0.5) -> np.ndarray:
    """PSNR (dB) against the original of reverse(kind b) after apply(kind a), rows a, columns b: the diagonal is
    each corruption made and undone by the network; off it, the wrong one undone."""
    kinds = model.kinds
    return np.array([[_psnr(model.restore(model.corrupt(x, a, level), b, level), x) for b in kinds] for a in kinds])


def psnr_vs_level(model: RestorationNet, x: torch.Tensor, kind: str,
                  levels=tuple(np.round(np.linspace(0.1, 1.0, 10), 2))) -> list[dict[str, float]]:
    """One row per level: restored vs identity vs classical filter (named in CLASSICAL_FILTERS)."""
    return [restoration_scores(model, x, kind, float(lv)) for lv in levels]


def level_mismatch(model: RestorationNet, x: torch.Tensor, kind: str, levels=EVAL_LEVELS) -> np.ndarray:
    """PSNR (dB) with the network told level a (rows) while the true level is b (columns)."""
    return np.array([[restoration_scores(model, x, kind, true, told_level=told)["restored_psnr_db"]
                      for true in levels] for told in levels])


__all__ = ["RestorationNet", "ImageRestorationConfig", "ImageRestorationTask", "restoration_scores",
           "psnr_vs_level", "level_mismatch", "apply_scores", "cycle_matrix", "CLASSICAL_FILTERS"]
