"""A differentially private TVAE: an MLP variational autoencoder over encoded rows, trained with Opacus
DP-SGD at row level (Poisson sampling, per-sample gradient clipping, Gaussian noise); ε is what Opacus'
RDP accountant reports for the δ asked.

What the preprocessing learns from the data, and how it is paid for:
  numerical / datetime bounds   declared public: given by the user (`bounds`), or the observed min/max
                                which the user then declares public (the report says which)
  category sets                 `categories="public"`: the observed sets, declared public by the user;
                                `categories="dp"`: paid from the same budget: every candidate's count gets
                                Laplace noise (ε_pre, split over the columns) and categories whose noisy count
                                is below a threshold are dropped
The training ε is then the target minus ε_pre (basic composition). The saved model holds weights, bounds
and category sets; no raw rows.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.registry import GENERATORS
from genesis_core.tabular.single_table.privacy_accounting import private_range
from genesis_core.tabular.data.encoding import numeric
from genesis_core.tabular.single_table.base import GeneratorError, Progress, TabularGenerator


class _VAE(nn.Module):
    def __init__(self, width: int, latent: int = 16, hidden: int = 128):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2 * latent))
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, width))
        self.width, self.latent = width, latent

    def forward(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * (0.5 * logvar.clamp(-10, 10)).exp()
        return self.dec(z), mu, logvar


@GENERATORS.register("dp_tvae")
class DPTVAEGenerator(TabularGenerator):
    name = "dp_tvae"
    private = True

    def __init__(self, seed: int = 0, epochs: int = 30, epsilon: float = 1.0, delta: float | None = None,
                 max_grad_norm: float = 1.0, batch_size: int = 64, lr: float = 2e-3, categories: str = "public",
                 pre_epsilon_share: float = 0.1, bounds: dict | None = None, **options: Any):
        super().__init__(seed, epochs, epsilon=epsilon, delta=delta, max_grad_norm=max_grad_norm,
                         batch_size=batch_size, lr=lr, categories=categories, pre_epsilon_share=pre_epsilon_share,
                         bounds=bounds or {}, **options)
        if epsilon <= 0:
            raise GeneratorError("epsilon must be positive")
        if categories not in ("public", "dp"):
            raise GeneratorError("categories must be 'public' or 'dp'")
        self.blocks: list[dict] = []
        self.model: _VAE | None = None
        self.privacy: dict[str, Any] = {}

    @classmethod
    def search_space(cls, trial, rows: int) -> dict[str, Any]:
        return {"epochs": trial.suggest_int("epochs", 5, 60, log=True), "lr": trial.suggest_float("lr", 5e-4, 1e-2, log=True),
                "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128, 256]),
                "max_grad_norm": trial.suggest_float("max_grad_norm", 0.5, 2.0)}

    # -- encoding ------------------------------------------------------------------------------
    def _learn_encoding(self, frame: pd.DataFrame, eps_pre: float, delta_pre: float, rng: np.random.Generator) -> None:
        """Bounds and category sets: declared (by the user, or observed and declared public with categories
        "public"), or paid from `eps_pre` (pure epsilon, split over the columns): numeric ranges from noisy
        histograms over fixed cells, categories whose Laplace-noised count clears a threshold that a value held
        by one row passes with probability at most `delta_pre` (over all columns)."""
        declared, paid = self.options["bounds"], self.options["categories"] == "dp"
        cols = [c for c in self.model_schema if c.name in frame.columns]
        to_pay = [c for c in cols if c.kind in ("categorical", "boolean") or c.name not in declared] if paid else []
        eps_each = eps_pre / max(1, len(to_pay))
        threshold = 1 + np.log(max(1, len(to_pay)) / (2 * delta_pre)) / eps_each if paid else 0.0
        self.blocks = []
        for spec in cols:
            s = frame[spec.name]
            if spec.kind in ("numerical", "datetime"):
                values = _to_number(s)
                if spec.name in declared:
                    lo, hi, source = float(declared[spec.name][0]), float(declared[spec.name][1]), "given by the user"
                elif paid:
                    lo, hi = private_range(values, rng, eps=eps_each)
                    source = f"paid: noisy histogram over fixed cells, ε={eps_each:.3g}"
                else:
                    lo, hi, source = float(np.nanmin(values)), float(np.nanmax(values)), "observed, declared public"
                self.blocks.append({"column": spec.name, "kind": spec.kind, "low": lo, "high": hi if hi > lo else lo + 1,
                                    "bounds": source, "missing": bool(spec.missing_rate > 0), "integer": spec.integer})
            else:
                counts = s.astype(str).where(s.notna(), "<missing>").value_counts()
                if paid:
                    noisy = counts + rng.laplace(0, 1 / eps_each, len(counts))
                    keep = noisy[noisy >= threshold].index.tolist() or [counts.index[0]]
                    source = f"paid: Laplace counts with ε={eps_each:.3g}, kept if ≥ {threshold:.1f}"
                else:
                    keep, source = counts.index.tolist(), "observed, declared public"
                self.blocks.append({"column": spec.name, "kind": spec.kind, "categories": [str(k) for k in keep],
                                    "source": source})

    def _encode(self, frame: pd.DataFrame) -> torch.Tensor:
        parts = []
        for b in self.blocks:
            s = frame[b["column"]]
            if "categories" in b:
                idx = s.astype(str).where(s.notna(), "<missing>").map({c: i for i, c in enumerate(b["categories"])})
                idx = idx.fillna(0).astype(int).to_numpy()  # an unseen category falls on the first one
                parts.append(np.eye(len(b["categories"]), dtype=np.float32)[idx])
            else:
                v = _to_number(s)
                missing = np.isnan(v)
                scaled = np.clip((np.where(missing, b["low"], v) - b["low"]) / (b["high"] - b["low"]), 0, 1)
                parts.append(scaled[:, None].astype(np.float32))
                if b["missing"]:
                    parts.append(missing[:, None].astype(np.float32))
        return torch.from_numpy(np.concatenate(parts, axis=1))

    def _slices(self):
        i = 0
        for b in self.blocks:
            if "categories" in b:
                yield b, slice(i, i + len(b["categories"])), None
                i += len(b["categories"])
            else:
                yield b, slice(i, i + 1), (slice(i + 1, i + 2) if b["missing"] else None)
                i += 1 + int(b["missing"])

    def _loss(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-row reconstruction loss (Opacus needs per-sample losses reduced by mean)."""
        total = torch.zeros(len(x))
        for b, sl, miss in self._slices():
            if "categories" in b:
                total = total + F.cross_entropy(out[:, sl], x[:, sl].argmax(1), reduction="none")
            else:
                total = total + F.mse_loss(torch.sigmoid(out[:, sl]), x[:, sl], reduction="none").sum(1) * 10
                if miss is not None:
                    total = total + F.binary_cross_entropy_with_logits(out[:, miss], x[:, miss], reduction="none").sum(1)
        return total

    # -- fit / sample --------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame, progress: Progress) -> None:
        from opacus import PrivacyEngine

        o = self.options
        n = len(frame)
        delta = o["delta"] or min(1e-5, 1 / (10 * n))
        eps_pre = o["epsilon"] * o["pre_epsilon_share"] if o["categories"] == "dp" else 0.0
        delta_pre = delta / 2 if o["categories"] == "dp" else 0.0
        eps_sgd = o["epsilon"] - eps_pre
        rng = np.random.default_rng(self.seed)
        torch.manual_seed(self.seed)
        self._learn_encoding(frame, eps_pre, delta_pre, rng)
        delta_sgd = delta - delta_pre
        x = self._encode(frame)
        self.model = _VAE(x.shape[1])
        optimizer = torch.optim.Adam(self.model.parameters(), lr=o["lr"])
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=min(o["batch_size"], n),
                                             generator=torch.Generator().manual_seed(self.seed))
        engine = PrivacyEngine(accountant="rdp", secure_mode=False)
        model, optimizer, loader = engine.make_private_with_epsilon(
            module=self.model, optimizer=optimizer, data_loader=loader, target_epsilon=eps_sgd, target_delta=delta_sgd,
            epochs=self.epochs, max_grad_norm=o["max_grad_norm"], poisson_sampling=True)
        for epoch in range(self.epochs):
            losses = []
            for (xb,) in loader:
                if len(xb) == 0:
                    continue
                out, mu, logvar = model(xb)
                kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1)
                loss = (self._loss(out, xb) + kl).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            progress(epoch + 1, self.epochs, f"epoch {epoch + 1}/{self.epochs}, loss {np.mean(losses or [math.nan]):.4f}, "
                                             f"ε so far {engine.get_epsilon(delta_sgd):.3f}")
        spent = float(engine.get_epsilon(delta_sgd))
        self.model = model._module if hasattr(model, "_module") else model
        self.model.eval()
        self.privacy = {
            "epsilon_target": o["epsilon"], "epsilon_sgd_target": eps_sgd, "epsilon_sgd_spent": spent,
            "epsilon_preprocessing": eps_pre, "epsilon_total": spent + eps_pre, "delta": delta,
            "delta_sgd": delta_sgd, "delta_category_thresholds": delta_pre,
            "noise_multiplier": float(optimizer.noise_multiplier), "max_grad_norm": o["max_grad_norm"],
            "sample_rate": float(1 / len(loader)) if len(loader) else None, "epochs": self.epochs,
            "accountant": "Opacus RDP", "unit": "row",
            "covered": "model training (DP-SGD, Poisson sampling, per-row clipping)"
                       + ("; category sets (Laplace counts over a threshold); ranges of numbers not declared "
                          "(noisy histograms)" if eps_pre else ""),
            "declared_public": sorted({f"{b['column']} bounds" for b in self.blocks if "low" in b
                                       and not b["bounds"].startswith("paid")}
                                      | {"the representation of values (integers, decimals, date grid, formats)"}
                                      | ({f"{b['column']} categories" for b in self.blocks if "categories" in b}
                                         if o["categories"] == "public" else set())),
        }

    @property
    def fitted_model(self) -> _VAE:
        if self.model is None:
            raise GeneratorError("fit DP-TVAE before sampling from or saving it.")
        return self.model

    @torch.no_grad()
    def _sample(self, rows: int, conditions: dict[str, Any], seed: int) -> pd.DataFrame:
        g = torch.Generator().manual_seed(seed)
        model = self.fitted_model
        out = model.dec(torch.randn(rows, model.latent, generator=g))
        data = {}
        for b, sl, miss in self._slices():
            if "categories" in b:
                probs = torch.softmax(out[:, sl], 1)
                idx = torch.multinomial(probs, 1, generator=g)[:, 0].numpy()
                values = np.array(b["categories"], dtype=object)[idx]
                values = np.where(values == "<missing>", None, values)
                data[b["column"]] = _restore_category(np.asarray(values, dtype=object), b["kind"])
            else:
                v = b["low"] + torch.sigmoid(out[:, sl])[:, 0].numpy() * (b["high"] - b["low"])
                if b["integer"]:
                    v = np.round(v)
                if miss is not None:
                    v = np.where(torch.bernoulli(torch.sigmoid(out[:, miss])[:, 0], generator=g).numpy() > 0, np.nan, v)
                data[b["column"]] = pd.to_datetime(v, unit="s") if b["kind"] == "datetime" else v
        frame = pd.DataFrame(data)
        for col, value in conditions.items():  # rejection: keep rows that match the fixed values
            frame = frame[frame[col].astype(str) == str(value)]
        return frame

    def _save(self, folder: Path) -> dict:
        from safetensors.torch import save_file

        model = self.fitted_model
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))
        return {"blocks": self.blocks, "privacy": self.privacy, "width": model.width, "latent": model.latent}

    def _load(self, folder: Path, meta: dict) -> None:
        from safetensors.torch import load_file

        self.blocks, self.privacy = meta["blocks"], meta["privacy"]
        self.model = _VAE(meta["width"], meta["latent"])
        self.model.load_state_dict(load_file(str(folder / "model.safetensors")))
        self.model.eval()


def _to_number(s: pd.Series) -> np.ndarray:
    return numeric(s).to_numpy(dtype=float)


def _restore_category(values: np.ndarray, kind: str) -> np.ndarray:
    if kind == "boolean":
        return np.array([None if v is None else v in ("True", "true", "1", "yes") for v in values], dtype=object)
    return values

