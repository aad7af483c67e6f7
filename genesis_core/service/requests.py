"""The bodies the HTTP API accepts, validated before anything starts: unknown fields, numbers out of range and
non-finite floats are refused with 422 naming the field (a job never starts to fail later on them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SEED_MAX = 2**32 - 1  # what numpy's and torch's generators take alike


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SynthesisRequest(_Body):
    """A synthesis: the table (an id from POST /v1/tables, or demo:NAME) and the options of `genesis generate`."""

    table: str = Field(description="a table id from POST /v1/tables, or demo:NAME", max_length=200)
    generator: str = Field("auto", description="auto, or gaussian_copula, ctgan, tvae, dp_tvae, mst, ...",
                           max_length=100)
    rows: int = Field(0, ge=0, description="rows to write (0: as many as the input)")
    epsilon: float = Field(0.0, ge=0, le=1e6, description="differential privacy budget (0: not private)")
    holdout_fraction: float = Field(0.0, ge=0, lt=0.9, description="rows kept aside for the privacy figures")
    epochs: int = Field(300, ge=1, le=1_000_000, description="epochs of the neural generators")
    target: str = Field("", description="a column of the table: the ML-utility target", max_length=500)
    sensitive: list[str] = Field([], max_length=500)
    quasi_identifiers: list[str] = Field([], max_length=500)
    column_types: list[str] = Field([], description='overrides, "column=kind"', max_length=500)
    personal_data: str = Field("replace", max_length=50)
    text_columns: str = Field("model", description="free-text columns: model (a byte language model per column, "
                                                   "conditioned on the row; not DP) or drop", max_length=50)
    text_budget_s: float = Field(0.0, ge=0, le=86_400, description="training seconds per text column (0: sized to "
                                                                   "the text)")
    text_steps: int = Field(0, ge=0, le=10_000_000, description="training steps per text column (0: by the budget)")
    text_copy_chars: int = Field(40, ge=8, le=100_000, description="a text repeating this many characters of a "
                                                                   "training text is drawn again")
    text_size: str = Field("small", description="the text model: tiny, small or medium", max_length=50)
    candidates: list[str] = Field([], max_length=50)
    conditions: list[str] = Field([], max_length=50, description='rows drawn given values: "column=value" (every '
                                  'row) or "column=value@0.3" (that share of the rows)')
    budget_s: float = Field(0.0, ge=0, le=7 * 86_400, description="auto: seconds for the whole choice (0: sized "
                                                                  "to the table)")
    tune: int = Field(0, ge=0, le=10_000)
    report: bool = True
    seed: int = Field(0, ge=0, le=SEED_MAX)
    sequence_key: str = Field("", max_length=500)
    sequence_index: str = Field("", max_length=500)
    name: str = Field("", max_length=200)

    def named_columns(self) -> dict[str, list[str]]:
        """The fields that name columns of the table, with the names they give."""
        named = {"target": [self.target], "sensitive": self.sensitive, "quasi_identifiers": self.quasi_identifiers,
                 "sequence_key": [self.sequence_key], "sequence_index": [self.sequence_index],
                 "column_types": [c.split("=", 1)[0].strip() for c in self.column_types],
                 "conditions": [c.split("=", 1)[0].strip() for c in self.conditions]}
        return {k: [c for c in v if c] for k, v in named.items() if any(v)}


class DriftRequest(_Body):
    reference: str = Field(description="a table id (tbl-...), demo:NAME, or release:ID (its synthetic rows)",
                           max_length=200)
    current: str = Field(description="the same kinds of reference as `reference`", max_length=200)
    alpha: float = Field(0.05, gt=0, lt=1)
    min_effect: float = Field(0.0, ge=0, le=1e6)
    column_types: list[str] = Field([], max_length=500)
    seed: int = Field(0, ge=0, le=SEED_MAX)
