"""Synthesis as a background job (`tabular_synthesis`) and its config. The pipeline itself is
`tabular/pipeline.py`; the CLI's `generate` runs the same function."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from genesis_core.registry import GENERATORS, TASKS
from genesis_core.tabular import schema as sch
from genesis_core.training.task import JobTask, TaskConfigBase, TrainerConfig


@dataclass(frozen=True)
class TabularSynthesisConfig(TaskConfigBase):
    task: str = "tabular_synthesis"
    source: str = "demo:penguins"  # demo:NAME, or a CSV/Parquet path (the page stores uploads in the workspace)
    generator: str = "auto"  # auto (measured on held-out rows), or a registered generator (gaussian_copula, ...)
    candidates: tuple[str, ...] = ()  # auto: the generators to try (default: GaussianCopula, CTGAN, TVAE; with
    # epsilon, the private ones)
    auto_budget_s: float = 600.0  # auto: time for all candidates together; one still fitting then is stopped
    epochs: int = 300  # CTGAN / TVAE / DP-TVAE
    epsilon: float = 0.0  # > 0 asks for differential privacy (only private generators are then allowed)
    delta: float = 0.0  # 0: min(1e-5, 1/(10 n))
    dp_categories: str = "dp"  # the domain (category sets, ranges of numbers): "dp" paid from epsilon, or "public"
    # (the observed ones, declared public by the user; the DP statement lists them)
    rows: int = 0  # synthetic rows to write (0: as many as the input has)
    holdout_fraction: float = 0.0  # real rows kept from the generator for the privacy figures that need them
    report: bool = True  # score quality and privacy (false: generation only)
    target: str = ""  # ML-utility target column
    sensitive: tuple[str, ...] = ()
    quasi_identifiers: tuple[str, ...] = ()
    column_types: tuple[str, ...] = ()  # overrides: "column=kind" (numerical, categorical, boolean, datetime, id,
    # text, pii), or "column=datetime@%d.%m.%Y" to give a datetime format
    personal_data: str = "replace"  # columns of personal data (names, emails, phones): replace (fake) | drop
    ranges: tuple[str, ...] = ()  # constraints "column:low:high"
    inequalities: tuple[str, ...] = ()  # constraints "low_column<high_column"
    fixed_combinations: tuple[str, ...] = ()  # "a,b": only combinations seen in the data
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(steps=1, tensorboard=False, device="cpu"))

    def __post_init__(self) -> None:
        if not 0 <= self.holdout_fraction < 0.9:
            raise ValueError("holdout_fraction must be at least 0 and below 0.9")
        if self.epsilon < 0 or self.rows < 0 or self.epochs < 1:
            raise ValueError("epsilon and rows must not be negative; epochs at least 1")
        if self.generator != "auto" and self.generator not in GENERATORS:
            raise ValueError(f"generator {self.generator!r} is unknown; use auto or one of "
                             f"{', '.join(GENERATORS.names())}")
        if self.dp_categories not in ("public", "dp"):
            raise ValueError("dp_categories must be public or dp")
        if self.personal_data not in ("replace", "drop"):
            raise ValueError("personal_data must be replace or drop")
        if self.auto_budget_s <= 0:
            raise ValueError("auto_budget_s must be positive")
        for spec in self.column_types:
            if "=" not in spec or spec.split("=", 1)[1].split("@", 1)[0] not in sch.KINDS:
                raise ValueError(f"column_types entry {spec!r} must be column=kind with kind one of {', '.join(sch.KINDS)}")


@dataclass
class TabularResult:  # what the worker reads back, shaped like the Trainer's result
    step: int
    total_steps: int
    reason: str
    eval_metrics: dict[str, float]
    checkpoint: Any = None


@TASKS.register("tabular_synthesis")
class TabularSynthesisTask(JobTask):
    config_cls = TabularSynthesisConfig
    title = "Synthetic data"
    description = "Fit a generator to a table and write private synthetic data with a quality and privacy report."

    def fit_job(self, run, stop_event, reporter) -> TabularResult:
        from genesis_core.store.metrics import MetricsWriter
        from genesis_core.tabular.pipeline import report_metrics, synthesize

        start = time.time()

        def progress(done: float, total: int, message: str) -> None:
            frac = done / total
            eta = (time.time() - start) / frac * (1 - frac) if frac > 0 else None
            reporter({"step": int(round(frac * 100)), "total": 100, "eta_s": eta, "metrics": {}, "message": message})

        report = synthesize(self.config, run.artifacts_dir, progress, stop_event.is_set)
        metrics = report_metrics(report)
        writer = MetricsWriter(run.metrics_path)
        writer.log_scalars(100, metrics)
        writer.log_event(100, "finished", f"synthesised {report['meta']['rows_synthetic']} rows with "
                                          f"{report['meta']['generator']}")
        writer.close()
        reporter({"step": 100, "total": 100, "eta_s": 0.0, "metrics": metrics, "message": "report written"})
        return TabularResult(100, 100, "finished", metrics)
