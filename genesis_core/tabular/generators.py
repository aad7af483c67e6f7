"""Tabular generators behind one interface: `fit(frame, schema)`, `sample(rows, conditions, constraints)`,
`save(folder)`, `load(folder)`. The public methods are here; each variant implements `_fit`/`_sample`.

  gaussian_copula, ctgan, tvae   SDV 2.0's single-table synthesizers, seeded
  dp_tvae                        our TVAE trained with Opacus DP-SGD (see tabular/dp.py)

Saving: the DP model is safetensors + JSON. SDV synthesizers can only be serialised by SDV's own pickle-
based `save`; the workbench writes them into its own workspace, records their SHA-256 in JSON and refuses
to load a file whose hash does not match. Files a user uploads are never unpickled.
"""

from __future__ import annotations

import abc
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from genesis_core.tabular.schema import ColumnSpec, sdv_metadata

GENERATORS = ("gaussian_copula", "ctgan", "tvae", "dp_tvae")
Progress = Callable[[int, int, str], None]  # (done, total, message)


class GeneratorError(ValueError):
    """A generator that cannot do what was asked (bad constraint, unknown column, tampered file)."""


@dataclass(frozen=True)
class Range:
    column: str
    low: float
    high: float

    def ok(self, df: pd.DataFrame) -> pd.Series:
        return df[self.column].between(self.low, self.high) | df[self.column].isna()


@dataclass(frozen=True)
class Inequality:
    low_column: str
    high_column: str

    def ok(self, df: pd.DataFrame) -> pd.Series:
        a, b = df[self.low_column], df[self.high_column]
        return (a <= b) | a.isna() | b.isna()


@dataclass(frozen=True)
class FixedCombinations:
    columns: tuple[str, ...]
    allowed: tuple[tuple, ...] = ()  # filled at fit time from the training data

    def ok(self, df: pd.DataFrame) -> pd.Series:
        allowed = set(self.allowed)
        return pd.Series([tuple(r) in allowed for r in df[list(self.columns)].itertuples(index=False)], index=df.index)


def auto_choice(schema: list[ColumnSpec], rows: int, dp: bool = False,
                exact_correlations: bool = False) -> tuple[str, str]:
    """(generator, the reason in a sentence)."""
    used = [c for c in schema if c.kind not in ("id", "text")]
    numeric = sum(c.kind in ("numerical", "datetime") for c in used) / max(1, len(used))
    if dp:
        return "dp_tvae", "differential privacy was asked for: only dp_tvae is private end to end"
    if exact_correlations:
        return "gaussian_copula", "exact correlations were asked for: the Gaussian copula models them directly"
    if numeric >= 0.7:
        return "gaussian_copula", f"mostly continuous columns ({numeric:.0%}): a Gaussian copula fits them well and fast"
    if rows < 1000:
        return "gaussian_copula", f"only {rows} rows: too few for a neural generator to beat the copula"
    return "tvae", f"mixed column types ({numeric:.0%} continuous) and {rows} rows: a TVAE captures mixed types"


class TabularGenerator(abc.ABC):
    name = ""

    def __init__(self, seed: int = 0, epochs: int = 300, **options: Any):
        self.seed, self.epochs, self.options = seed, epochs, options
        self.schema: list[ColumnSpec] = []
        self.columns: list[str] = []
        self.fixed: list[FixedCombinations] = []

    # -- public --------------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, schema: list[ColumnSpec], progress: Progress | None = None,
            fixed_combinations: list[tuple[str, ...]] = ()) -> "TabularGenerator":
        self.schema, self.columns = schema, list(frame.columns)
        self.fixed = [FixedCombinations(tuple(cols), tuple(map(tuple, frame[list(cols)].dropna()
                                                               .drop_duplicates().itertuples(index=False))))
                      for cols in fixed_combinations]
        self._fit(frame, progress or (lambda *a: None))
        return self

    def sample(self, rows: int, conditions: dict[str, Any] | None = None, constraints: list = (),
               batch_size: int = 10_000, seed: int | None = None) -> pd.DataFrame:
        """`rows` rows, in batches; `conditions` fixes column values; constraints reject rows (a range, an
        inequality between columns, combinations seen in the training data)."""
        if rows < 1:
            raise GeneratorError("ask for at least one row")
        for col in (conditions or {}):
            if col not in self.columns:
                raise GeneratorError(f"cannot condition on {col!r}: it is not a synthesised column")
        checks = [*constraints, *self.fixed]
        for check in checks:
            for col in [getattr(check, a) for a in ("column", "low_column", "high_column") if hasattr(check, a)] + \
                    list(getattr(check, "columns", ())):
                if col not in self.columns:
                    raise GeneratorError(f"constraint on unknown column {col!r}")
        rng = np.random.default_rng(self.seed if seed is None else seed)
        parts, have, tries = [], 0, 0
        while have < rows:
            tries += 1
            n = min(batch_size, max(rows - have, 1) * (2 if checks or conditions else 1))
            batch = self._sample(n, conditions or {}, int(rng.integers(2**31)))
            for check in checks:
                batch = batch[check.ok(batch).values]
            parts.append(batch)
            have += len(batch)
            if tries >= 50 and have < rows:
                raise GeneratorError(f"the conditions and constraints rejected almost every row ({have} of {rows} "
                                     "after 50 batches); loosen them")
        return pd.concat(parts, ignore_index=True).head(rows)[self.columns]

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"generator": self.name, "seed": self.seed, "epochs": self.epochs, "options": self.options,
                "columns": self.columns, "schema": [c.__dict__ for c in self.schema],
                "fixed": [[list(f.columns), [list(map(_jsonable, a)) for a in f.allowed]] for f in self.fixed],
                **self._save(folder)}
        (folder / "generator.json").write_text(json.dumps(meta, indent=2, default=str))
        return folder

    @staticmethod
    def load(folder: str | Path) -> "TabularGenerator":
        folder = Path(folder)
        try:
            meta = json.loads((folder / "generator.json").read_text())
            cls = {"gaussian_copula": SDVGenerator, "ctgan": SDVGenerator, "tvae": SDVGenerator}.get(meta["generator"])
            if cls is None:
                from genesis_core.tabular.dp import DPTVAEGenerator as cls  # noqa: N813
        except (OSError, ValueError, KeyError) as exc:
            raise GeneratorError(f"{folder} does not hold a saved generator.") from exc
        gen = cls.__new__(cls)
        TabularGenerator.__init__(gen, meta["seed"], meta["epochs"], **meta["options"])
        gen.name = meta["generator"]
        gen.schema = [ColumnSpec(**c) for c in meta["schema"]]
        gen.columns = meta["columns"]
        gen.fixed = [FixedCombinations(tuple(c), tuple(tuple(a) for a in allowed)) for c, allowed in meta["fixed"]]
        gen._load(folder, meta)
        return gen

    # -- variants ------------------------------------------------------------------------------
    @abc.abstractmethod
    def _fit(self, frame: pd.DataFrame, progress: Progress) -> None:
        """Implemented by each variant."""

    @abc.abstractmethod
    def _sample(self, rows: int, conditions: dict[str, Any], seed: int) -> pd.DataFrame:
        """Implemented by each variant."""

    @abc.abstractmethod
    def _save(self, folder: Path) -> dict:
        """Implemented by each variant."""

    @abc.abstractmethod
    def _load(self, folder: Path, meta: dict) -> None:
        """Implemented by each variant."""


def _jsonable(v):
    return v.item() if hasattr(v, "item") else v


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class SDVGenerator(TabularGenerator):
    """SDV's GaussianCopula, CTGAN or TVAE, seeded."""

    def __init__(self, name: str = "gaussian_copula", seed: int = 0, epochs: int = 300, **options: Any):
        super().__init__(seed, epochs, **options)
        if name not in ("gaussian_copula", "ctgan", "tvae"):
            raise GeneratorError(f"unknown SDV generator {name!r}")
        self.name = name
        self.synth = None

    def _build(self, metadata):
        from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

        if self.name == "gaussian_copula":
            return GaussianCopulaSynthesizer(metadata, **self.options)
        cls = CTGANSynthesizer if self.name == "ctgan" else TVAESynthesizer
        # verbose: SDV prints the epoch and its losses (into the job's log, or the terminal)
        return cls(metadata, epochs=self.epochs, **{"verbose": True, **self.options})

    def _fit(self, frame: pd.DataFrame, progress: Progress) -> None:
        import torch

        progress(0, 1, f"fitting {self.name}")
        np.random.seed(self.seed)
        torch.manual_seed(self.seed)
        self.synth = self._build(sdv_metadata([c for c in self.schema if c.name in frame.columns]))
        self.synth.fit({"table": frame})  # SDV 2.0 takes {table name: frame}
        progress(1, 1, f"{self.name} fitted")

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
        path = folder / "sdv_synthesizer.pkl"
        self.synth.save(str(path))
        return {"file": path.name, "sha256": _sha256(path)}

    def _load(self, folder: Path, meta: dict) -> None:
        path = folder / meta["file"]
        if _sha256(path) != meta["sha256"]:
            raise GeneratorError(f"{path.name} does not match the hash recorded when it was saved; not loading it.")
        from sdv.utils import load_synthesizer

        self.synth = load_synthesizer(str(path))  # our own file, its hash checked above


def make_generator(name: str, seed: int = 0, epochs: int = 300, **options: Any) -> TabularGenerator:
    if name == "dp_tvae":
        from genesis_core.tabular.dp import DPTVAEGenerator

        return DPTVAEGenerator(seed=seed, epochs=epochs, **options)
    if name in ("gaussian_copula", "ctgan", "tvae"):
        return SDVGenerator(name, seed=seed, epochs=epochs, **options)
    raise GeneratorError(f"unknown generator {name!r}; use one of {', '.join(GENERATORS)} or auto")
