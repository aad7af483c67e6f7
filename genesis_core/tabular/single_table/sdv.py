"""SDV's single-table synthesizers behind the generator interface (gaussian_copula, ctgan, tvae),
their pickles (saved and trusted by this workspace), and SDV used directly as the anchor.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from genesis_core.registry import GENERATORS
from genesis_core.tabular.data.schema import sdv_metadata
from genesis_core.tabular.single_table.base import GeneratorError, Progress, TabularGenerator

def _last_loss(synth) -> str:
    """The final epoch's losses of a neural SDV synthesizer, for the log ("" for the others)."""
    try:
        losses = synth.get_loss_values()
    except (AttributeError, ValueError, NotImplementedError):
        return ""
    if losses is None or not len(losses):
        return ""
    last = losses.iloc[-1]
    parts = [f"{k.lower()} {v:.3f}" for k, v in last.items() if k != "Epoch" and isinstance(v, (int, float))]
    return f" after {int(last.get('Epoch', len(losses) - 1)) + 1} epochs" + (f" ({', '.join(parts)})" if parts else "")




class SDVGenerator(TabularGenerator):
    """One of SDV's single-table synthesizers, seeded; subclasses say which."""

    @abc.abstractmethod
    def _build(self, metadata, rows: int):
        """The SDV synthesizer for `metadata` and a table of `rows` rows, with this generator's options."""

    def _fit(self, frame: pd.DataFrame, progress: Progress) -> None:
        import torch

        progress(0, 1, f"fitting {self.name}")
        np.random.seed(self.seed)
        torch.manual_seed(self.seed)
        self.synth = self._build(sdv_metadata(self.model_schema, columns=frame.columns, model=True), len(frame))
        self.synth.fit({"table": frame})  # SDV 2.0 takes {table name: frame}
        progress(1, 1, f"{self.name} fitted" + _last_loss(self.synth))

    def _sample(self, rows: int, conditions: dict[str, Any], seed: int) -> pd.DataFrame:
        import torch

        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        self.synth._set_random_state(seed)  # SDV's own seeding of its transformers and model
        if conditions:
            from sdv.sampling import Condition

            out = self.synth.sample_from_conditions([Condition(num_rows=rows, column_values=conditions)])
        else:
            out = self.synth.sample(rows)
        return next(iter(out.values())) if isinstance(out, dict) else out

    def _save(self, folder: Path) -> dict:
        return save_sdv(self.synth, folder)

    def _load(self, folder: Path, meta: dict) -> None:
        self.synth = load_sdv(folder, meta)


def save_sdv(synth, folder: Path, name: str = "sdv_synthesizer.pkl") -> dict:
    """Save an SDV synthesizer (SDV writes pickles) and record its hash as written by this workspace."""
    from genesis_core.store.trust import TrustRecord

    path = Path(folder) / name
    synth.save(str(path))
    return {"file": path.name, "sha256": TrustRecord().add(path)}


def load_sdv(folder: Path, meta: dict):
    """Load what `save_sdv` wrote, only when its hash is one this workspace recorded."""
    from genesis_core.store.trust import TrustRecord, UntrustedFileError

    path = Path(folder) / meta["file"]
    try:
        TrustRecord().check(path, meta["sha256"])
    except (UntrustedFileError, OSError) as exc:
        raise GeneratorError(str(exc)) from exc
    from sdv.utils import load_synthesizer

    return load_synthesizer(str(path))  # written by this workspace, its hash checked above


@GENERATORS.register("gaussian_copula")
class GaussianCopulaGenerator(SDVGenerator):
    """SDV's Gaussian copula: each column's marginal, correlations through a multivariate normal."""

    name = "gaussian_copula"
    imputer: ClassVar[str] = "linear"  # a copula models linear relations on normal scores: a linear imputation is what it uses
    KDE_ROWS = 1000  # up to this many rows the marginals are Gaussian KDEs (measured best; their cost grows as n²)

    def _build(self, metadata, rows: int):
        from sdv.single_table import GaussianCopulaSynthesizer

        default = "gaussian_kde" if rows <= self.KDE_ROWS else "beta"
        # SDV encodes a category as a uniform draw within its frequency's interval of [0, 1], so a categorical
        # column's marginal is exactly uniform: fitting a beta to it (SDV's default) only costs time, most on
        # tables with many point-mass companion columns
        uniform = {c.name: "uniform" for c in self.model_schema if c.kind == "categorical"}
        options = dict(self.options)
        options["numerical_distributions"] = {**uniform, **(options.get("numerical_distributions") or {})}
        return GaussianCopulaSynthesizer(metadata, **{"default_distribution": default, **options})

    @classmethod
    def search_space(cls, trial, rows: int) -> dict[str, Any]:
        choices = ["beta", "truncnorm", "norm", "gamma", "uniform"] + (["gaussian_kde"] if rows <= 2 * cls.KDE_ROWS else [])
        return {"default_distribution": trial.suggest_categorical("default_distribution", choices)}


@GENERATORS.register("ctgan")
class CTGANGenerator(SDVGenerator):
    """SDV's CTGAN: a conditional GAN with mode-specific normalisation of numbers."""

    name = "ctgan"
    paced_by: ClassVar[str] = "epochs"

    def _build(self, metadata, rows: int):
        from sdv.single_table import CTGANSynthesizer

        return CTGANSynthesizer(metadata, epochs=self.epochs, **self.options)

    @classmethod
    def search_space(cls, trial, rows: int) -> dict[str, Any]:
        return {"epochs": trial.suggest_int("epochs", 50, 500, log=True),
                "batch_size": trial.suggest_categorical("batch_size", [100, 200, 500]),
                "generator_lr": trial.suggest_float("generator_lr", 5e-5, 1e-3, log=True),
                "discriminator_lr": trial.suggest_float("discriminator_lr", 5e-5, 1e-3, log=True),
                "embedding_dim": trial.suggest_categorical("embedding_dim", [64, 128, 256])}


@GENERATORS.register("tvae")
class TVAEGenerator(SDVGenerator):
    """SDV's TVAE: a variational autoencoder over mode-normalised rows."""

    name = "tvae"
    paced_by: ClassVar[str] = "epochs"

    def _build(self, metadata, rows: int):
        from sdv.single_table import TVAESynthesizer

        return TVAESynthesizer(metadata, epochs=self.epochs, **self.options)

    @classmethod
    def search_space(cls, trial, rows: int) -> dict[str, Any]:
        return {"epochs": trial.suggest_int("epochs", 50, 500, log=True),
                "batch_size": trial.suggest_categorical("batch_size", [100, 200, 500]),
                "l2scale": trial.suggest_float("l2scale", 1e-6, 1e-3, log=True),
                "loss_factor": trial.suggest_float("loss_factor", 1.0, 4.0),
                "embedding_dim": trial.suggest_categorical("embedding_dim", [64, 128, 256])}


def sdv_used_directly(raw: pd.DataFrame, name: str = "gaussian_copula", rows: int | None = None, seed: int = 0,
                      epochs: int = 300) -> pd.DataFrame:
    """The baseline: SDV as a user would call it on the same frame (its own metadata detection, default
    settings), for benchmarks and tests that compare the lab against it."""
    import torch
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

    np.random.seed(seed)
    torch.manual_seed(seed)
    metadata = Metadata.detect_from_dataframes({"table": raw})
    cls = {"gaussian_copula": GaussianCopulaSynthesizer, "ctgan": CTGANSynthesizer, "tvae": TVAESynthesizer}[name]
    synth = cls(metadata) if name == "gaussian_copula" else cls(metadata, epochs=epochs)
    synth.fit({"table": raw})
    out = synth.sample(rows or len(raw))
    return next(iter(out.values())) if isinstance(out, dict) else out
