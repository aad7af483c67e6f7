"""Free-text columns in a synthesis: which columns get a text model, their length columns, fitting
the models and writing their texts into the synthetic rows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from genesis_core.tabular.text.model import TEXT_SIZES, Progress, TextColumnModel, TextModelConfig
from genesis_core.tabular.text.windows import LENGTH_SUFFIX, length_column
from genesis_core.tabular.text.privacy import scrub_personal_data

# ---------------------------------------------------------------------------------------------------
# what the table generator calls


@dataclass(frozen=True)
class TextSettings:
    """How free-text columns are written (TabularSynthesisConfig's text_* fields)."""

    mode: str = "model"  # model: a byte language model per column | drop: left out
    steps: int = 0  # training steps per column (0: as many as budget_s allows)
    budget_s: float = 0.0  # seconds of training per column (0: sized to the column, see `budget_for`)
    copy_chars: int = 40  # a text repeating this many consecutive characters of a training text is drawn again
    personal_data: str = "replace"  # emails, phone numbers and full names the model writes: replace | drop
    vocabulary_rows: int = 2  # words are those used by at least this many training rows (0: any bytes)
    device: str = "cpu"
    size: str = "small"  # tiny | small | medium (TEXT_SIZES)
    model: TextModelConfig | None = None  # overrides `size`

    def model_config(self) -> TextModelConfig:
        return self.model or TEXT_SIZES[self.size]

    def __post_init__(self) -> None:
        if self.mode not in ("model", "drop"):
            raise ValueError("text_columns must be model or drop")
        if self.copy_chars < 8:
            raise ValueError("text_copy_chars must be at least 8")
        if self.personal_data not in ("replace", "drop"):
            raise ValueError("personal data is either replaced or dropped")
        if self.size not in TEXT_SIZES:
            raise ValueError(f"text_size must be one of {', '.join(TEXT_SIZES)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def budget_for(rows: int, train_bytes: int) -> float:
    """Default seconds of training for a column: 30 s, plus 1 s per 5 KB of its text, at most 300 s."""
    return float(min(300.0, 30.0 + train_bytes / 5_000))


def plan_text_columns(schema: list, text: TextSettings, private: bool) -> list:
    """The text columns a model will write; the others get a note saying why not (it shows in the plan)."""
    columns = [c for c in schema if c.kind == "text"]
    for c in columns:
        c.text_model = text.mode == "model" and not private
        c.text_note = ("" if c.text_model else
                       "the text model is not differentially private, and differential privacy was asked" if private
                       else "text columns were set to drop")
    return [c for c in columns if c.text_model]


def add_length_columns(frame: pd.DataFrame, schema: list, columns: list) -> tuple[pd.DataFrame, list]:
    """The frame and schema with each written text column's length (characters; 0: missing or empty) as a
    numerical column, so the table model learns lengths jointly with the rest of the row."""
    if not columns:
        return frame, schema
    from genesis_core.tabular.data.schema import infer_column

    frame = frame.copy()
    extra = []
    for c in columns:
        name = length_column(c.name)
        frame[name] = frame[c.name].map(lambda v: 0 if v is None or (isinstance(v, float) and math.isnan(v))
                                        else len(str(v))).astype(np.int64)
        spec = infer_column(name, frame[name])
        if spec.kind != "numerical":  # one length only, or two: still a number here
            spec.kind, spec.integer, spec.levels, spec.point_masses = "numerical", True, [], []
        spec.note = f"hidden: the length of {c.name!r}, modelled with the row, conditions its text"
        extra.append(spec)
    return frame, [*schema, *extra]


def fit_text_models(frame: pd.DataFrame, columns: list, modelled: list[str], text: TextSettings, seed: int,
                    progress: Progress, stop: Callable[[], bool]) -> list[TextColumnModel]:
    """One TextColumnModel per text column, conditioned on its length and the other modelled columns."""
    models = []
    for c in columns:
        length = length_column(c.name)
        others = [m for m in modelled if not m.endswith(LENGTH_SUFFIX)]
        train_bytes = int(frame[c.name].dropna().astype(str).str.len().sum())
        budget = text.budget_s or budget_for(len(frame), train_bytes)
        models.append(TextColumnModel.fit(c.name, frame, frame[c.name], [length, *others], text.model_config(),
                                          steps=text.steps, budget_s=budget, seed=seed, copy_chars=text.copy_chars,
                                          device=text.device, progress=progress, stop=stop,
                                          vocabulary_rows=text.vocabulary_rows))
    return models


def write_texts(frame: pd.DataFrame, models: list[TextColumnModel], settings: dict[str, Any], seed: int,
                progress: Progress) -> tuple[pd.DataFrame, dict[str, Any]]:
    """`frame` (decoded synthetic rows) with each text column written; returns it and per column what was
    redrawn for copying and which personal data was replaced."""
    frame = frame.copy()
    stats: dict[str, Any] = {}
    for i, m in enumerate(models):
        texts, info = m.sample(frame, seed=seed + i, progress=progress)
        texts, found = scrub_personal_data(texts, settings.get("personal_data", "replace"), seed + i)
        frame[m.column] = pd.Series(texts, index=frame.index, dtype=object)
        stats[m.column] = {**info, "personal_data": found}
    return frame, stats
