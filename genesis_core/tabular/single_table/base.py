"""Tabular generators behind one interface: `fit(frame, schema)`, `sample(rows, conditions, constraints)`,
`save(folder)`, `load(folder)`. The public methods are here; each variant implements the hooks `_fit`,
`_sample`, `_save`, `_load`, and registers itself by name in `GENERATORS`:

  gaussian_copula, ctgan, tvae   SDV 2.0's single-table synthesizers, seeded
  dp_tvae                        our TVAE trained with Opacus DP-SGD (tabular/single_table/dp_tvae.py)

Every generator works through the same codec (tabular/data/codec.py): it models typed columns with point
masses split off, and what it samples comes back written as the input was (integers, 0/1, date formats
and grids, fake personal data, new ids).

Saving: `generator.json` holds the class name, the constructor's arguments and the codec; `load` calls the
constructor with them. SDV synthesizers can only be serialised by SDV's own pickle-based `save`: the
workbench writes them into its workspace and records their SHA-256 in the workspace's trust record
(store/trust.py); a pickle it did not write is never loaded.
"""


from __future__ import annotations

import abc
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Sequence

import numpy as np
import pandas as pd

from genesis_core.errors import WorkbenchError
from genesis_core.registry import GENERATORS, UnknownNameError
from genesis_core.store.files import atomic_write_text
from genesis_core.tabular.data.codec import TableCodec
from genesis_core.tabular.data.schema import ColumnSpec, category_text
from genesis_core.tabular.single_table.constraints import FixedCombinations

if TYPE_CHECKING:
    from genesis_core.tabular.text.columns import TextSettings

Progress = Callable[[float, float, str], None]  # (done, total, message)


class GeneratorError(WorkbenchError, ValueError):
    """A generator that cannot do what was asked (bad constraint, unknown column, untrusted file)."""


def make_generator(name: str, seed: int = 0, epochs: int = 300, **options: Any) -> TabularGenerator:
    """The registered generator `name`, constructed (raises GeneratorError for an unknown name)."""
    try:
        cls = GENERATORS.get(name)
    except UnknownNameError as exc:
        raise GeneratorError(str(exc)) from None
    return cls(seed=seed, epochs=epochs, **options)


TABLE_SHARE_WITH_TEXT = 0.3  # of a fit's progress, the table model's when text models follow it


def span(progress: Progress, start: float, end: float) -> Progress:
    """A part's progress (done of total, from 0 again) as a span of its whole, start..end of 1."""
    def inner(done: float, total: float, message: str) -> None:
        progress(start + (end - start) * min(max(done / max(total, 1e-9), 0.0), 1.0), 1, message)
    return inner


class TabularGenerator(abc.ABC):
    name: ClassVar[str] = ""
    private: ClassVar[bool] = False  # trained with differential privacy end to end
    imputer: ClassVar[str] = "boosted"  # how point-mass rows of a numerical column are imputed (codec.encode)
    # how `auto` holds a fit to its time slot: "epochs" (a short probe fit gives the pace of an epoch, and the
    # epochs are sized to the slot), "time_limit_s" (the generator takes that option and stops in time), or ""
    # (a fit whose time does not grow with epochs: a copula, a graphical model)
    paced_by: ClassVar[str] = ""

    def __init__(self, seed: int = 0, epochs: int = 300, **options: Any):
        self.seed, self.epochs, self.options = seed, epochs, options
        self.codec: TableCodec | None = None
        self.fixed: list[FixedCombinations] = []
        self.text_models: list = []  # TextColumnModel per free-text column written by a language model
        self.text_settings: dict[str, Any] = {}
        self.text_stats: dict[str, Any] = {}  # what the last sample did to its texts (copies redrawn, personal data)

    @property
    def schema(self) -> list[ColumnSpec]:
        return self.codec.schema if self.codec else []

    @property
    def model_schema(self) -> list[ColumnSpec]:
        return self.codec.model_schema() if self.codec else []

    @property
    def columns(self) -> list[str]:
        """The columns `sample` returns (personal data left out by choice, free text without a model and the
        hidden text lengths are not among them)."""
        written = {m.column for m in self.text_models}
        return [c.name for c in self.schema if not ((c.kind == "text" and c.name not in written) or c.name in
                                                   self._length_columns or (c.kind == "pii" and c.pii_action == "drop"))]

    @property
    def _length_columns(self) -> set[str]:
        return {m.length_column for m in self.text_models}

    # -- public --------------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, schema: list[ColumnSpec], progress: Progress | None = None,
            fixed_combinations: Sequence[tuple[str, ...]] = (), text: TextSettings | None = None,
            stop: Callable[[], bool] = lambda: False) -> TabularGenerator:
        """Fit to `frame` (as read from the user's file) with its `schema` (schema.infer_schema + overrides).
        Free-text columns are written by a language model each (`text`: how; tabular/text/columns.py), after
        the table model, which also models each text's length (without `text`, they are left out)."""
        from genesis_core.tabular.text.columns import add_length_columns, plan_text_columns

        writes_text = plan_text_columns(schema, text, self.private) if text is not None else []
        frame, schema = add_length_columns(frame, schema, writes_text)
        self.codec = TableCodec.fit(frame, schema, private=self.private)
        for cols in fixed_combinations:
            unknown = [c for c in cols if c not in frame.columns]
            if unknown:
                raise GeneratorError(f"fixed combination of unknown column {unknown[0]!r}")
        self.fixed = [FixedCombinations(tuple(cols), tuple(map(tuple, pd.DataFrame(
            {c: category_text(frame[c]) for c in cols}).dropna().drop_duplicates().itertuples(index=False))))
            for cols in fixed_combinations]
        model_frame = self.codec.encode(frame, self.seed, row_local=self.private, imputer=self.imputer)
        if len(model_frame.columns) == 0:
            raise GeneratorError("no column is left to synthesise (every column is an id, free text or personal data)")
        report = progress or (lambda *a: None)
        table_share = TABLE_SHARE_WITH_TEXT if writes_text else 1.0  # one span for the whole fit, never restarted
        self._fit(model_frame, span(report, 0.0, table_share))
        if writes_text and text is not None:
            from genesis_core.tabular.text.columns import fit_text_models

            self.text_settings = text.to_dict()
            modelled = [c.name for c in self.model_schema]
            self.text_models = fit_text_models(frame, writes_text, modelled, text, self.seed,
                                               span(report, table_share, 1.0), stop)
        return self

    def sample(self, rows: int, conditions: dict[str, Any] | None = None, constraints: Sequence = (),
               batch_size: int = 10_000, seed: int | None = None,
               progress: Progress | None = None) -> pd.DataFrame:
        """`rows` rows, written as the input was, in batches; `conditions` fixes column values; constraints
        reject rows (a range, an inequality between columns, combinations seen in the training data). Free
        text is written last, for the rows kept, conditioned on each."""
        if self.codec is None:
            raise GeneratorError("fit the generator before sampling from it")
        if rows < 1:
            raise GeneratorError("ask for at least one row")
        modelled = {c.name for c in self.model_schema}
        for col in (conditions or {}):
            if col not in modelled:
                raise GeneratorError(f"cannot condition on {col!r}: it is not a synthesised column")
        checks = [*constraints, *self.fixed]
        for check in checks:
            for col in [getattr(check, a) for a in ("column", "low_column", "high_column") if hasattr(check, a)] + \
                    list(getattr(check, "columns", ())):
                if col not in self.columns:
                    raise GeneratorError(f"constraint on unknown column {col!r}")
        typed_conditions = self.codec.encode_conditions(conditions or {})
        rng = np.random.default_rng(self.seed if seed is None else seed)
        parts, have, tries = [], 0, 0
        while have < rows:
            tries += 1
            n = min(batch_size, max(rows - have, 1) * (2 if checks or conditions else 1))
            batch_seed = int(rng.integers(2**31))
            batch = self.codec.decode(self._sample(n, typed_conditions, batch_seed), batch_seed)
            for check in checks:
                batch = batch[check.ok(batch).values]
            parts.append(batch)
            have += len(batch)
            if tries >= 50 and have < rows:
                raise GeneratorError(f"the conditions and constraints rejected almost every row ({have} of {rows} "
                                     "after 50 batches); loosen them")
        out = pd.concat(parts, ignore_index=True).head(rows)
        if self.text_models:
            from genesis_core.tabular.text.columns import write_texts

            out, self.text_stats = write_texts(out, self.text_models, self.text_settings,
                                               int(rng.integers(2**31)), progress or (lambda *a: None))
        return out[self.columns]

    @classmethod
    def search_space(cls, trial, rows: int) -> dict[str, Any]:
        """Hyperparameters worth tuning, drawn from an Optuna trial (`auto --tune`); {} when nothing is."""
        return {}

    def init_args(self) -> dict[str, Any]:
        """The constructor's arguments, saved so that `load` builds the same generator."""
        return {"seed": self.seed, "epochs": self.epochs, **self.options}

    def save(self, folder: str | Path) -> Path:
        if self.codec is None:
            raise GeneratorError("fit the generator before saving it.")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"generator": self.name, "init": self.init_args(), "codec": self.codec.to_dict(),
                "fixed": [[list(f.columns), [list(a) for a in f.allowed]] for f in self.fixed],
                "text": [m.save(folder / f"text_{i}") for i, m in enumerate(self.text_models)],
                "text_settings": self.text_settings, **self._save(folder)}
        atomic_write_text(folder / "generator.json", json.dumps(meta, indent=2, default=_jsonable))
        return folder

    @staticmethod
    def load(folder: str | Path) -> TabularGenerator:
        folder = Path(folder)
        try:
            meta = json.loads((folder / "generator.json").read_text())
            cls = GENERATORS.get(meta["generator"])
            gen = cls(**meta["init"])
            gen.codec = TableCodec.from_dict(meta["codec"])
            gen.fixed = [FixedCombinations(tuple(c), tuple(tuple(a) for a in allowed)) for c, allowed in meta["fixed"]]
            if meta.get("text"):
                from genesis_core.tabular.text.model import TextColumnModel

                gen.text_models = [TextColumnModel.load(folder / m["folder"], m) for m in meta["text"]]
                gen.text_settings = dict(meta.get("text_settings") or {})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GeneratorError(f"{folder} does not hold a saved generator.") from exc
        gen._load(folder, meta)
        return gen

    # -- variants ------------------------------------------------------------------------------
    @abc.abstractmethod
    def _fit(self, frame: pd.DataFrame, progress: Progress) -> None:
        """Fit to the typed frame (columns: `self.model_schema`)."""

    @abc.abstractmethod
    def _sample(self, rows: int, conditions: dict[str, Any], seed: int) -> pd.DataFrame:
        """`rows` typed rows (about as many when conditions are rejected rather than imposed)."""

    @abc.abstractmethod
    def _save(self, folder: Path) -> dict:
        """Write the fitted state into `folder`; return JSON metadata to store beside it."""

    @abc.abstractmethod
    def _load(self, folder: Path, meta: dict) -> None:
        """Read back what `_save` wrote."""

def _jsonable(v):
    if hasattr(v, "item"):
        return v.item()
    return str(v)
