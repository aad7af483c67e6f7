"""Synthetic sequences: rows that belong to an entity (`sequence_key`) and come in an order (`sequence_index`).

    frame, spec = prepare_sequences(raw, key="station", index="date")   # one sentence when it is not usable
    gen = make_sequence_generator("par", epochs=128).fit(frame, spec)    # or "timegan"
    synth = gen.sample(50, seed=0)                                      # 50 sequences, as many rows as they have

Context columns (constant within every sequence: a patient's birth year, a station's altitude) are found by
looking and stay constant in the synthetic sequences; lengths vary as the real ones do. PAR is SDV's
PARSynthesizer; TimeGAN is `tabular/sequential/timegan.py`. Both are in SEQUENCE_GENERATORS and save into a folder.
"""

from __future__ import annotations

import abc
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from genesis_core.registry import SEQUENCE_GENERATORS
from genesis_core.store.files import atomic_write_text
from genesis_core.tabular.data.ingest import TableError

Progress = Callable[[float, int, str], None]
MIN_SEQUENCES = 2  # PAR fits two; below FEW_SEQUENCES the run says what so few can show
FEW_SEQUENCES = 5


def few_sequences_warning(n: int) -> str:
    """The warning for a table of fewer than FEW_SEQUENCES sequences ("" otherwise)."""
    if n >= FEW_SEQUENCES:
        return ""
    return (f"only {n} sequences: the generator can copy their shapes but not learn how entities vary, and the "
            f"per-step and cross-sequence figures rest on {n} examples; use {FEW_SEQUENCES} or more to trust them.")


@dataclass
class SequenceSpec:
    key: str
    index: str = ""  # "" : the rows' order in the file
    index_kind: str = ""  # numerical | datetime | "" (row order)
    context: list[str] = field(default_factory=list)  # constant within every sequence
    channels: list[str] = field(default_factory=list)  # the columns that change along a sequence
    numeric_channels: list[str] = field(default_factory=list)
    key_numeric: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SequenceSpec:
        return cls(**d)


def _as_order(values: pd.Series, name: str) -> tuple[pd.Series, str]:
    """The index column as numbers or datetimes; one sentence when it is neither."""
    present = values.dropna()
    if len(present) < len(values):
        raise TableError(f"the sequence index {name!r} is empty in {len(values) - len(present)} row(s); every row "
                         "needs its place in the sequence.")
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values, "numerical"
    if pd.api.types.is_datetime64_any_dtype(values):
        return values, "datetime"
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all():
        return numbers.astype(float), "numerical"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dates = pd.to_datetime(values.astype(str), errors="coerce", format="mixed")
    if dates.notna().all():
        return dates, "datetime"
    bad = values[dates.isna() & numbers.isna()].astype(str).iloc[0]
    raise TableError(f"the sequence index {name!r} holds {bad!r}, neither a number nor a date, so the rows cannot "
                     "be put in order; choose a date or step column, or none to keep the file's order.")


def prepare_sequences(raw: pd.DataFrame, key: str, index: str = "", context: list[str] | None = None
                      ) -> tuple[pd.DataFrame, SequenceSpec]:
    """(the rows sorted by key and index, with the index parsed; the spec). Raises TableError with one sentence
    for a key or index that is not there, an index that cannot be ordered, or a table without sequences."""
    if key not in raw.columns:
        raise TableError(f"the sequence key {key!r} is not a column; the columns are {', '.join(map(str, raw.columns))}.")
    if index and index not in raw.columns:
        raise TableError(f"the sequence index {index!r} is not a column; the columns are "
                         f"{', '.join(map(str, raw.columns))}.")
    if index == key:
        raise TableError("the sequence key and the sequence index must be two different columns.")
    frame = raw.copy()
    if frame[key].isna().any():
        raise TableError(f"the sequence key {key!r} is empty in {int(frame[key].isna().sum())} row(s); every row "
                         "must belong to an entity.")
    lengths = frame.groupby(key, sort=False).size()
    if len(lengths) < MIN_SEQUENCES:
        raise TableError(f"{key!r} has {len(lengths)} distinct value(s); sequence synthesis needs at least "
                         f"{MIN_SEQUENCES} sequences.")
    if lengths.max() < 2:
        raise TableError(f"every value of {key!r} has one row, so there are no sequences to learn; choose the column "
                         "that names the entity a row belongs to, or synthesise the table as a flat table.")
    index_kind = ""
    if index:
        frame[index], index_kind = _as_order(frame[index], index)
        frame = frame.sort_values([key, index], kind="stable")
    else:
        frame["__order__"] = np.arange(len(frame))
        frame = frame.sort_values([key, "__order__"], kind="stable").drop(columns="__order__")
    frame = frame.reset_index(drop=True)
    others = [c for c in frame.columns if c not in (key, index)]
    if context is None:
        nunique = frame.groupby(key, sort=False)[others].nunique(dropna=False) if others else pd.DataFrame()
        context = [c for c in others if (nunique[c] <= 1).all() and frame[c].nunique(dropna=False) > 1]
    else:
        missing = [c for c in context if c not in others]
        if missing:
            raise TableError(f"context column(s) {', '.join(missing)} are not columns of the table (or are the key or "
                             "index).")
    channels = [c for c in others if c not in context]
    if not channels:
        raise TableError("every column besides the key and index is constant within each sequence; there is nothing "
                         "that changes along a sequence to learn.")
    numeric = [c for c in channels if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               and frame[c].nunique() > 2]
    spec = SequenceSpec(key, index, index_kind, list(context), channels, numeric,
                        bool(pd.api.types.is_numeric_dtype(frame[key])))
    return frame, spec


def split_sequences(frame: pd.DataFrame, spec: SequenceSpec, fraction: float, seed: int = 0
                    ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(training sequences, held-out sequences or None): whole entities go to one side."""
    if fraction <= 0:
        return frame, None
    keys = frame[spec.key].drop_duplicates().to_numpy()
    n_hold = int(round(len(keys) * fraction))
    if n_hold < 2 or len(keys) - n_hold < MIN_SEQUENCES:
        raise TableError(f"a holdout of {fraction:.0%} of {len(keys)} sequences leaves {len(keys) - n_hold} to fit; "
                         f"use more sequences or no holdout (at least {MIN_SEQUENCES} and 2).")
    rng = np.random.default_rng(seed)
    held = set(rng.choice(keys, n_hold, replace=False).tolist())
    mask = frame[spec.key].isin(held)
    return frame[~mask].reset_index(drop=True), frame[mask].reset_index(drop=True)


def relabel(synth: pd.DataFrame, spec: SequenceSpec) -> pd.DataFrame:
    """Synthetic sequences numbered in the order they appear (1, 2, ... for a numeric key), never a real key."""
    codes = pd.factorize(synth[spec.key])[0]
    synth = synth.copy()
    synth[spec.key] = codes + 1 if spec.key_numeric else [f"synthetic_{c + 1}" for c in codes]
    return synth


def make_sequence_generator(name: str, seed: int = 0, epochs: int = 128, **options: Any) -> SequenceGenerator:
    return SEQUENCE_GENERATORS.get(name)(seed=seed, epochs=epochs, **options)


class SequenceGenerator(abc.ABC):
    """Fit to sorted sequences (`prepare_sequences`), sample whole sequences, save to and load from a folder."""

    name = "?"

    def __init__(self, seed: int = 0, epochs: int = 128, **options: Any):
        self.seed, self.epochs, self.options = seed, epochs, options
        self.spec: SequenceSpec | None = None

    @property
    def fitted_spec(self) -> SequenceSpec:
        """The spec this generator was fitted (or loaded) with."""
        if self.spec is None:
            raise TableError("fit the sequence generator before sampling or saving it.")
        return self.spec

    def fit(self, frame: pd.DataFrame, spec: SequenceSpec, progress: Progress | None = None) -> SequenceGenerator:
        self.spec = spec
        self.columns = list(frame.columns)
        self.dtypes = {c: str(frame[c].dtype) for c in frame.columns}
        self._fit(frame, progress or (lambda d, n, m: None))
        return self

    def sample(self, sequences: int, seed: int | None = None) -> pd.DataFrame:
        if sequences < 1:
            raise TableError("ask for at least one sequence.")
        out = self._sample(sequences, self.seed if seed is None else seed)
        spec = self.fitted_spec
        out = relabel(out[self.columns], spec)
        return out.sort_values([spec.key, *([spec.index] if spec.index else [])], kind="stable").reset_index(drop=True)

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"generator": self.name, "init": {"seed": self.seed, "epochs": self.epochs, **self.options},
                "spec": self.fitted_spec.to_dict(), "columns": self.columns, "dtypes": self.dtypes, **self._save(folder)}
        atomic_write_text(folder / "generator.json", json.dumps(meta, indent=2, default=str))
        return folder

    @staticmethod
    def load(folder: str | Path) -> SequenceGenerator:
        from genesis_core.tabular.single_table.base import GeneratorError

        folder = Path(folder)
        try:
            meta = json.loads((folder / "generator.json").read_text())
            gen = SEQUENCE_GENERATORS.get(meta["generator"])(**meta["init"])
            gen.spec, gen.columns, gen.dtypes = SequenceSpec.from_dict(meta["spec"]), meta["columns"], meta["dtypes"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GeneratorError(f"{folder} does not hold a saved sequence generator.") from exc
        gen._load(folder, meta)
        return gen

    @abc.abstractmethod
    def _fit(self, frame: pd.DataFrame, progress: Progress) -> None: ...

    @abc.abstractmethod
    def _sample(self, sequences: int, seed: int) -> pd.DataFrame: ...

    @abc.abstractmethod
    def _save(self, folder: Path) -> dict: ...

    @abc.abstractmethod
    def _load(self, folder: Path, meta: dict) -> None: ...


def par_metadata(frame: pd.DataFrame, spec: SequenceSpec):
    """SDV metadata for PAR: its own detection, with the key an id and the index numerical or datetime."""
    import warnings

    from sdv.metadata import Metadata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        md = Metadata.detect_from_dataframes({"table": frame})
    md.update_column(spec.key, sdtype="id", table_name="table")
    md.set_sequence_key(spec.key, table_name="table")
    if spec.index:
        if spec.index_kind == "datetime":
            md.update_column(spec.index, sdtype="datetime", datetime_format="%Y-%m-%d %H:%M:%S", table_name="table")
        else:
            md.update_column(spec.index, sdtype="numerical", table_name="table")
        md.set_sequence_index(spec.index, table_name="table")
    return md


@SEQUENCE_GENERATORS.register("par")
class PARGenerator(SequenceGenerator):
    """SDV's PARSynthesizer (probabilistic autoregressive model), the context columns modelled by its copula."""

    name = "par"

    def _fit(self, frame: pd.DataFrame, progress: Progress) -> None:
        import warnings

        import torch
        from sdv.sequential import PARSynthesizer

        progress(0, 1, f"fitting PAR on {frame[self.fitted_spec.key].nunique()} sequences ({self.epochs} epochs)")
        np.random.seed(self.seed)
        torch.manual_seed(self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.synth = PARSynthesizer(par_metadata(frame, self.fitted_spec), context_columns=self.fitted_spec.context,
                                        epochs=self.epochs, verbose=False, enforce_min_max_values=True)
            self.synth.fit({"table": frame})
        progress(1, 1, "PAR fitted")

    def _sample(self, sequences: int, seed: int) -> pd.DataFrame:
        import warnings

        import torch

        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.synth.sample_sequences(sequences)
        return next(iter(out.values())) if isinstance(out, dict) else out

    def _save(self, folder: Path) -> dict:
        from genesis_core.tabular.single_table.sdv import save_sdv

        return save_sdv(self.synth, folder)

    def _load(self, folder: Path, meta: dict) -> None:
        from genesis_core.tabular.single_table.sdv import load_sdv

        self.synth = load_sdv(folder, meta)
