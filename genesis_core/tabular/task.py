"""Synthesis as a background job (`tabular_synthesis`) and its config. The pipeline itself is
`tabular/pipeline.py`; the CLI's `generate` runs the same function."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from genesis_core.registry import GENERATORS, TASKS
from genesis_core.tabular.data import schema as sch
from genesis_core.training.task import JobResult, JobTask, TaskConfigBase, TrainerConfig


KINDS = ("table", "sequences", "tables")


def kind_of(config: dict) -> str:
    """What a synthesis config (as saved with a run, old or new) synthesises: table, sequences or tables."""
    if config.get("kind") in KINDS:
        return config["kind"]
    return "tables" if config.get("sources") else "sequences" if config.get("sequence_key") else "table"


@dataclass(frozen=True)
class TabularSynthesisConfig(TaskConfigBase):
    task: str = "tabular_synthesis"
    kind: str = ""  # what is synthesised: table (one table) | sequences (sequence_key given) | tables (related
    # tables, sources given); "" : read off those fields, as configs saved before the kind was explicit are
    source: str = "demo:penguins"  # demo:NAME, or a CSV/Parquet path (the page stores uploads in the workspace)
    generator: str = "auto"  # auto (measured on held-out rows), or a registered generator (gaussian_copula, ...)
    candidates: tuple[str, ...] = ()  # auto: the generators to try (default: GaussianCopula, CTGAN, TVAE; with
    # epsilon, the private ones)
    auto_budget_s: float = 0.0  # auto and tune: seconds for the whole choice, the final fit included (0: sized to
    # the table, see tabular/single_table/auto.py default_budget); a candidate still fitting at its share is stopped
    tune: int = 0  # Optuna trials of the chosen generator's hyperparameters, scored on held-out rows (0: none)
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
    personal_data: str = "replace"  # columns of personal data (names, emails, phones): replace (fake) | drop;
    # also what happens to emails, phone numbers and full names a text model writes
    text_columns: str = "model"  # free-text columns: model (a byte language model per column, conditioned on the
    # row; not differentially private, so left out when epsilon > 0) | drop (left out)
    text_steps: int = 0  # training steps of each text model (0: as many as text_budget_s allows)
    text_budget_s: float = 0.0  # seconds of training per text column (0: 30 s + 1 s per 5 KB of text, <= 300 s)
    text_copy_chars: int = 40  # a synthetic text repeating this many consecutive characters of a training text
    # is drawn again
    text_vocabulary_rows: int = 2  # a text model writes only words used by at least this many training rows (0: any)
    text_size: str = "small"  # the text model: tiny (2 x 64, quick looks) | small (4 x 192) | medium (6 x 256)
    ranges: tuple[str, ...] = ()  # constraints "column:low:high"
    inequalities: tuple[str, ...] = ()  # constraints "low_column<high_column"
    fixed_combinations: tuple[str, ...] = ()  # "a,b": only combinations seen in the data
    conditions: tuple[str, ...] = ()  # rows drawn given values: "column=value" (every row), "column=value@0.3"
    # (30% of the rows; the rest unconditioned); conditions without a share apply to every group
    # sequences: rows that belong to an entity and come in an order (generator auto -> par, or timegan)
    sequence_key: str = ""  # the column naming the entity a row belongs to ("" : a flat table)
    sequence_index: str = ""  # the column giving each row's place (a date or a step; "" : the file's order)
    context_columns: tuple[str, ...] = ()  # constant per sequence (default: found by looking)
    # related tables: several CSVs joined by keys (generator auto -> hma); `source` is then unused
    sources: tuple[str, ...] = ()  # paths, a folder, or ("demo:modechoice",)
    relationships: tuple[str, ...] = ()  # "parent_table.key:child_table.foreign_key" (default: SDV's detection)
    scale: float = 1.0  # related tables: synthetic rows per real row of each table
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(steps=1, tensorboard=False, device="cpu"))

    def __post_init__(self) -> None:
        from genesis_core.registry import SEQUENCE_GENERATORS

        if self.sources and self.sequence_key:
            raise ValueError("sequences and related tables are two tasks: give sequence_key or sources, not both")
        implied = kind_of({"sources": self.sources, "sequence_key": self.sequence_key})
        if not self.kind:
            object.__setattr__(self, "kind", implied)
        elif self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        elif self.kind != implied:
            raise ValueError({"table": "kind table synthesises one table: leave sequence_key and sources empty",
                              "sequences": "kind sequences needs sequence_key (the column naming each row's entity)",
                              "tables": "kind tables needs sources (the related tables' files)"}[self.kind])
        if self.kind == "sequences":
            if self.generator != "auto" and self.generator not in SEQUENCE_GENERATORS:
                raise ValueError(f"generator {self.generator!r} does not make sequences; use auto or one of "
                                 f"{', '.join(SEQUENCE_GENERATORS.names())}")
            if self.epsilon > 0:
                raise ValueError("no sequence generator here is differentially private; leave epsilon at 0")
        if self.kind == "tables":
            if self.generator not in ("auto", "hma"):
                raise ValueError(f"related tables are synthesised by hma; generator {self.generator!r} is for one table")
            if self.epsilon > 0:
                raise ValueError("HMA is not differentially private; leave epsilon at 0")
            if self.scale <= 0:
                raise ValueError("scale must be positive")
        if self.text_columns not in ("model", "drop"):
            raise ValueError("text_columns must be model or drop")
        if self.text_size not in ("tiny", "small", "medium"):
            raise ValueError("text_size must be tiny, small or medium")
        if self.text_steps < 0 or self.text_budget_s < 0 or self.text_copy_chars < 8 or self.text_vocabulary_rows < 0:
            raise ValueError("text_steps and text_budget_s must not be negative; text_copy_chars at least 8")
        if not 0 <= self.holdout_fraction < 0.9:
            raise ValueError("holdout_fraction must be at least 0 and below 0.9")
        if self.epsilon < 0 or self.rows < 0 or self.epochs < 1:
            raise ValueError("epsilon and rows must not be negative; epochs at least 1")
        if self.kind == "table" and self.generator != "auto" and self.generator not in GENERATORS:
            raise ValueError(f"generator {self.generator!r} is unknown; use auto or one of "
                             f"{', '.join(GENERATORS.names())}")
        if self.dp_categories not in ("public", "dp"):
            raise ValueError("dp_categories must be public or dp")
        if self.personal_data not in ("replace", "drop"):
            raise ValueError("personal_data must be replace or drop")
        if self.conditions:
            from genesis_core.tabular.single_table.conditions import parse_conditions

            parse_conditions(self.conditions)  # a malformed condition fails here, naming it
        if self.auto_budget_s < 0:
            raise ValueError("auto_budget_s must be positive (or 0: sized to the table)")
        if self.tune < 0:
            raise ValueError("tune must not be negative")
        for spec in self.column_types:
            if "=" not in spec or spec.split("=", 1)[1].split("@", 1)[0] not in sch.KINDS:
                raise ValueError(f"column_types entry {spec!r} must be column=kind with kind one of {', '.join(sch.KINDS)}")


@TASKS.register("tabular_synthesis")
class TabularSynthesisTask(JobTask):
    config_cls = TabularSynthesisConfig
    title = "Synthetic data"
    description = "Fit a generator to a table and write private synthetic data with a quality and privacy report."

    def fit_job(self, run, stop_event, reporter) -> JobResult:
        from genesis_core.store.metrics import MetricsWriter
        from genesis_core.tabular.pipeline import report_metrics, synthesize

        start = time.time()

        def progress(done: float, total: int, message: str) -> None:
            frac = done / total
            eta = (time.time() - start) / frac * (1 - frac) if frac > 0 else None
            reporter({"step": int(round(frac * 100)), "total": 100, "eta_s": eta, "metrics": {}, "message": message})

        report = synthesize(self.config, run.artifacts_dir, progress, stop_event.is_set)
        release = _record(run, self.config, report)
        metrics = report_metrics(report)
        writer = MetricsWriter(run.metrics_path)
        writer.log_scalars(100, metrics)
        writer.log_event(100, "finished", f"synthesised {report['meta']['rows_synthetic']} "
                                          f"{report['meta'].get('unit', 'rows')} with {report['meta']['generator']}")
        writer.close()
        reporter({"step": 100, "total": 100, "eta_s": 0.0, "metrics": metrics,
                  "message": f"report written; release {release['id']} (v{release['version']} of this input)"})
        return JobResult(100, 100, "finished", metrics)


def _record(run, config: TabularSynthesisConfig, report: dict) -> dict:
    """The release record of a synthesis job (its run and job named in the lineage)."""
    from genesis_core.jobs.store import JobStore
    from genesis_core.store.workspace import Workspace
    from genesis_core.tabular.releases.lineage import record_release

    workspace = Workspace(run.dir.parent.parent)
    store = JobStore(workspace.jobs_db)
    try:
        jobs = store.for_run(run.id)
    finally:
        store.close()
    synthetic = run.artifact_path("synthetic") if config.kind == "tables" else run.artifact_path("synthetic.csv")
    return record_release(workspace, config, report, synthetic, run=run.id, job=jobs[0].id if jobs else "")


@dataclass(frozen=True)
class PrivacyCurveConfig(TaskConfigBase):
    task: str = "tabular_privacy_curve"
    source: str = "demo:penguins"  # demo:NAME, or a CSV/Parquet path
    generators: tuple[str, ...] = ("mst", "dp_tvae")  # private generators to compare
    epsilons: tuple[float, ...] = (0.5, 1.0, 3.0, 10.0)
    epochs: int = 30  # DP-TVAE
    dp_categories: str = "dp"
    column_types: tuple[str, ...] = ()
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(steps=1, tensorboard=False, device="cpu"))

    def __post_init__(self) -> None:
        if not self.epsilons or min(self.epsilons) <= 0:
            raise ValueError("epsilons must be positive")
        for name in self.generators:
            if name not in GENERATORS or not GENERATORS.get(name).private:
                raise ValueError(f"{name!r} is not a private generator")


@TASKS.register("tabular_privacy_curve")
class PrivacyCurveTask(JobTask):
    config_cls = PrivacyCurveConfig
    title = "Quality against epsilon"
    description = "Fit each private generator at several privacy budgets and score the quality of each release."

    def fit_job(self, run, stop_event, reporter) -> JobResult:
        import json

        from genesis_core.store.files import atomic_write_text
        from genesis_core.tabular.single_table.base import make_generator
        from genesis_core.tabular.pipeline import read_source, schema_for
        from genesis_core.tabular.evaluation.quality import fidelity

        cfg = self.config
        raw = read_source(cfg.source)[0]
        schema = schema_for(raw, cfg.column_types)
        real = sch.prepare(raw, schema)
        points: list[dict[str, Any]] = []
        total, start = len(cfg.generators) * len(cfg.epsilons), time.time()
        for name in cfg.generators:
            for eps in cfg.epsilons:
                if stop_event.is_set():
                    return JobResult(len(points), total, "cancelled", {})
                t0 = time.time()
                gen = make_generator(name, seed=cfg.trainer.seed, epochs=cfg.epochs, epsilon=eps,
                                     categories=cfg.dp_categories).fit(raw, schema)
                q = fidelity(real, sch.prepare(gen.sample(len(raw)), schema), schema)
                points.append({"generator": name, "epsilon": eps, "quality_score": q["quality_score"],
                               "column_shapes": q["column_shapes"], "column_pair_trends": q["column_pair_trends"],
                               "epsilon_spent": getattr(gen, "privacy", {}).get("epsilon_total"), "seconds": round(time.time() - t0, 1)})
                done = len(points)
                reporter({"step": done, "total": total, "eta_s": (time.time() - start) / done * (total - done),
                          "metrics": {}, "message": f"{name} at ε={eps:g}: quality {q['quality_score'] or 0:.3f}"})
        atomic_write_text(run.artifact_path("privacy_curve.json"), json.dumps({"points": points}, indent=2))
        return JobResult(total, total, "finished", {})
