"""The synthetic-data lab as a few lines of Python, the same pipeline as `genesis generate` (schema, generator or
`auto`, report, a release record in the workspace):

    from genesis_core.tabular import PrivacyConfig, SyntheticGenerator

    gen = SyntheticGenerator(method="auto", privacy=PrivacyConfig(epsilon=1.0)).fit(df)
    rows = gen.generate(1000, conditions={"smoker": "yes"})   # or ["target=1@0.3"]: a share of the rows
    gen.quality_report()["quality"]["quality_score"]
    gen.save("my-generator"); SyntheticGenerator.load("my-generator").generate(10)
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from genesis_core.errors import WorkbenchError

if TYPE_CHECKING:
    from genesis_core.tabular.single_table.base import TabularGenerator


class SDKError(WorkbenchError, ValueError):
    """A SyntheticGenerator used out of order (generate before fit), or a folder that holds none."""


@dataclass(frozen=True)
class PrivacyConfig:
    """Differential privacy (epsilon > 0: only private generators, MST or DP-TVAE; `auto` chooses among them) and
    the columns the privacy figures look at."""

    epsilon: float = 0.0
    delta: float = 0.0  # 0: min(1e-5, 1/(10 n))
    quasi_identifiers: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    holdout_fraction: float = 0.0  # real rows kept from the generator for the figures that need them


@dataclass
class SyntheticGenerator:
    """Fit a table, generate rows, read the report; `options` are any other keys of `genesis generate`'s config
    (`target`, `epochs`, `text_columns`, `auto_budget_s`, `candidates`, ...)."""

    method: str = "auto"
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._generator: TabularGenerator | None = None
        self._report: dict[str, Any] | None = None
        self._release: dict[str, Any] | None = None

    def _config(self, source: str, rows: int):
        from genesis_core.config import from_dict
        from genesis_core.tabular.task import TabularSynthesisConfig

        p = self.privacy
        return from_dict(TabularSynthesisConfig, {
            "source": source, "generator": self.method, "rows": rows, "epsilon": p.epsilon, "delta": p.delta,
            "quasi_identifiers": list(p.quasi_identifiers), "sensitive": list(p.sensitive),
            "holdout_fraction": p.holdout_fraction, "trainer": {"seed": self.seed}, **self.options})

    def fit(self, data: pd.DataFrame | str, progress=None) -> SyntheticGenerator:
        """Fit to a DataFrame (or a CSV/Parquet path, or demo:NAME) through the pipeline `generate` runs: the report
        is scored and a release recorded in the workspace ($GENESIS_HOME)."""
        from genesis_core.store.workspace import Workspace
        from genesis_core.tabular.single_table.base import TabularGenerator
        from genesis_core.tabular.releases.lineage import record_release
        from genesis_core.tabular.pipeline import synthesize

        with tempfile.TemporaryDirectory(prefix="genesis-sdk-") as tmp:
            source = data
            if isinstance(data, pd.DataFrame):
                source = str(Path(tmp) / "table.csv")
                data.to_csv(source, index=False)
            rows = len(data) if isinstance(data, pd.DataFrame) else 0
            config = self._config(str(source), rows)
            out = Path(tmp) / "out"
            self._report = synthesize(config, out, progress or (lambda d, n, m: None))
            self._generator = TabularGenerator.load(out / "generator")
            self._kept = tempfile.TemporaryDirectory(prefix="genesis-sdk-fit-")  # removed with this object
            self._folder = Path(self._kept.name)
            shutil.copytree(out, self._folder, dirs_exist_ok=True)
            self._release = record_release(Workspace(), config, self._report, self._folder / "synthetic.csv",
                                           origin="sdk")
        return self

    def generate(self, rows: int, conditions: dict[str, Any] | list[str] | None = None, seed: int | None = None
                 ) -> pd.DataFrame:
        """`rows` new rows, written as the input was; `conditions`: {column: value} for every row, or
        ["column=value", "column=value@0.3", ...] as `generate --condition` takes them."""
        if self._generator is None:
            raise SDKError("fit (or load) the generator before generating rows")
        if isinstance(conditions, (list, tuple)):
            from genesis_core.tabular.single_table.conditions import parse_conditions
            from genesis_core.tabular.pipeline import sample_with_conditions

            parse_conditions(conditions)  # a malformed one is said before any row is drawn
            return sample_with_conditions(self._generator, rows, tuple(conditions),
                                          self.seed if seed is None else seed)[0]
        return self._generator.sample(rows, conditions=conditions or None, seed=seed)

    def quality_report(self) -> dict[str, Any]:
        """The report of the fit: quality (fidelity, detection, utility), privacy, and what was done to each column."""
        if self._report is None:
            raise SDKError("fit the generator first: the report is scored on the table it was fit on")
        return self._report

    @property
    def release(self) -> dict[str, Any] | None:
        return self._release

    def save(self, path: str | Path) -> Path:
        """The fitted generator (safetensors or SDV's file, JSON) and its report, in a folder."""
        if self._generator is None:
            raise SDKError("fit the generator before saving it")
        path = Path(path)
        shutil.copytree(self._folder, path, dirs_exist_ok=False)
        (path / "sdk.json").write_text(json.dumps({"method": self.method, "seed": self.seed,
                                                   "privacy": self.privacy.__dict__, "options": self.options}))
        return path

    @classmethod
    def load(cls, path: str | Path) -> SyntheticGenerator:
        from genesis_core.tabular.single_table.base import TabularGenerator

        path = Path(path)
        try:
            saved = json.loads((path / "sdk.json").read_text())
            privacy: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in saved["privacy"].items()}
            gen = cls(saved["method"], PrivacyConfig(**privacy), saved["seed"], saved["options"])
            gen._report = json.loads((path / "report.json").read_text()) if (path / "report.json").exists() else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SDKError(f"{path.name} does not hold a SyntheticGenerator saved by the workbench") from exc
        gen._generator = TabularGenerator.load(path / "generator")
        gen._folder = path
        return gen
