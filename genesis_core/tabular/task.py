"""Synthesis as a background job: the `tabular_synthesis` task reads the table, splits off a holdout, fits
the chosen generator with progress, samples, and writes the synthetic CSV, the generator and the report
(JSON + HTML) into the run's artifacts. Also the demo datasets that ship inside packages."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from genesis_core.registry import TASKS
from genesis_core.tabular import schema as sch
from genesis_core.tabular.generators import Inequality, Range, auto_choice, make_generator
from genesis_core.tabular.ingest import TableError, read_table
from genesis_core.training.task import JobTask, TaskConfigBase, TrainerConfig

DEMOS = {
    "penguins": "palmerpenguins: 344 penguins, species, island, measurements, sex",
    "wine": "scikit-learn wine: 178 wines, 13 chemical measurements and the cultivar",
    "fair": "statsmodels fair: 6,366 women, affairs survey (age, children, religiousness, occupation...)",
}


def load_demo(name: str) -> pd.DataFrame:
    if name == "penguins":
        import palmerpenguins

        return palmerpenguins.load_penguins()
    if name == "wine":
        from sklearn.datasets import load_wine

        d = load_wine(as_frame=True)
        df = d.frame.copy()
        df["target"] = df["target"].map({i: str(n) for i, n in enumerate(d.target_names)})
        return df.rename(columns={"target": "cultivar"})
    if name == "fair":
        import statsmodels.api as sm

        return sm.datasets.fair.load_pandas().data
    raise TableError(f"unknown demo dataset {name!r}; choose one of {', '.join(DEMOS)}")


def load_input(source: str) -> pd.DataFrame:
    """`demo:NAME` or a path to a CSV / Parquet file."""
    if source.startswith("demo:"):
        return load_demo(source[5:])
    return read_table(source)[0]


@dataclass(frozen=True)
class TabularSynthesisConfig(TaskConfigBase):
    task: str = "tabular_synthesis"
    source: str = "demo:penguins"  # demo:NAME, or a CSV/Parquet path (the page stores uploads in the workspace)
    generator: Literal["auto", "gaussian_copula", "ctgan", "tvae", "dp_tvae"] = "auto"
    epochs: int = 300  # CTGAN / TVAE / DP-TVAE
    epsilon: float = 0.0  # > 0 asks for differential privacy (auto then picks dp_tvae)
    delta: float = 0.0  # 0: min(1e-5, 1/(10 n))
    dp_categories: Literal["public", "dp"] = "public"  # category sets declared public or paid from epsilon
    rows: int = 0  # synthetic rows to write (0: as many as the training rows)
    holdout_fraction: float = 0.5  # real rows kept from the generator for the privacy report (0.5: equal sizes,
    # so the DCR share compares like with like; the larger side is subsampled otherwise)
    target: str = ""  # ML-utility target column
    sensitive: tuple[str, ...] = ()
    quasi_identifiers: tuple[str, ...] = ()
    column_types: tuple[str, ...] = ()  # overrides: "column=kind" (numerical, categorical, boolean, datetime, id,
    # text), or "column=datetime@%d.%m.%Y" to give a datetime format
    ranges: tuple[str, ...] = ()  # constraints "column:low:high"
    inequalities: tuple[str, ...] = ()  # constraints "low_column<high_column"
    fixed_combinations: tuple[str, ...] = ()  # "a,b": only combinations seen in the data
    exact_correlations: bool = False  # for auto: prefer the copula
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(steps=1, tensorboard=False, device="cpu"))

    def __post_init__(self) -> None:
        if not 0 < self.holdout_fraction < 0.9:
            raise ValueError("holdout_fraction must be between 0 and 0.9")
        if self.epsilon < 0 or self.rows < 0 or self.epochs < 1:
            raise ValueError("epsilon and rows must not be negative; epochs at least 1")
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


def constraints_from(config: TabularSynthesisConfig) -> list:
    out = []
    for r in config.ranges:
        col, lo, hi = r.rsplit(":", 2)
        out.append(Range(col, float(lo), float(hi)))
    for r in config.inequalities:
        a, b = r.split("<", 1)
        out.append(Inequality(a.strip(), b.strip()))
    return out


def synthesize(config: TabularSynthesisConfig, out_dir: Path, progress=lambda done, total, msg: None,
               stop=lambda: False) -> dict[str, Any]:
    """The whole pipeline; writes synthetic.csv, generator/, report.json, report.html into out_dir."""
    from genesis_core.tabular.privacy import privacy_report
    from genesis_core.tabular.quality import _kinds, quality_report
    from genesis_core.tabular.report import to_html, to_json

    t0 = time.time()
    raw = load_input(config.source)
    schema = sch.infer_schema(raw)
    overrides = {}
    for spec in config.column_types:
        column, _, kind = spec.partition("=")
        kind, _, fmt = kind.partition("@")
        overrides[column] = {"kind": kind, **({"datetime_format": fmt} if fmt else {})}
    schema = sch.apply_overrides(schema, overrides)
    frame = sch.prepare(raw, schema)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(frame))
    n_hold = max(1, int(round(len(frame) * config.holdout_fraction)))
    holdout, train = frame.iloc[order[:n_hold]].reset_index(drop=True), frame.iloc[order[n_hold:]].reset_index(drop=True)
    name, reason = (config.generator, "chosen by the user") if config.generator != "auto" else \
        auto_choice(schema, len(train), dp=config.epsilon > 0, exact_correlations=config.exact_correlations)
    if config.epsilon > 0 and name != "dp_tvae":
        raise ValueError(f"epsilon {config.epsilon:g} asks for differential privacy, but {name} is not private; "
                         "use dp_tvae or auto")
    options = {"epsilon": config.epsilon or 1.0, "delta": config.delta or None, "categories": config.dp_categories} \
        if name == "dp_tvae" else {}
    gen = make_generator(name, seed=config.trainer.seed, epochs=config.epochs, **options)
    progress(0, 3, f"fitting {name} on {len(train)} rows ({reason})")
    combos = [tuple(c.strip() for c in fc.split(",")) for fc in config.fixed_combinations]
    gen.fit(train, schema, progress=lambda d, n, m: progress(d / max(n, 1), 3, m), fixed_combinations=combos)
    if stop():
        raise InterruptedError("cancelled")
    gen.save(out_dir / "generator")
    progress(1, 3, "sampling")
    synth = gen.sample(config.rows or len(train), constraints=constraints_from(config))
    synth.to_csv(out_dir / "synthetic.csv", index=False)
    progress(2, 3, "scoring quality and privacy")
    kinds = _kinds(schema, synth.columns)
    quality = quality_report(train, synth, schema, holdout, config.target or None, seed=config.trainer.seed)
    dp = getattr(gen, "privacy", None)
    privacy = privacy_report(train, holdout, synth, kinds, list(config.quasi_identifiers), list(config.sensitive), dp)
    report = {"meta": {"generator": name, "reason": reason, "rows_train": len(train), "rows_holdout": len(holdout),
                       "rows_synthetic": len(synth), "seconds": time.time() - t0,
                       "summary": f"{name} ({reason}); {len(train)} training rows, {len(holdout)} held out, "
                                  f"{len(synth)} synthetic rows."},
              "schema": sch.schema_to_dicts(schema), "quality": quality, "privacy": privacy}
    (out_dir / "report.json").write_text(to_json(report))
    (out_dir / "report.html").write_text(to_html(report, train, synth, kinds), encoding="utf-8")
    progress(3, 3, "done")
    return report


@TASKS.register("tabular_synthesis")
class TabularSynthesisTask(JobTask):
    config_cls = TabularSynthesisConfig
    title = "Synthetic data"
    description = "Fit a generator to a table and write private synthetic data with a quality and privacy report."

    def fit_job(self, run, stop_event, reporter) -> TabularResult:
        start = time.time()

        def progress(done: float, total: int, message: str) -> None:
            frac = done / total
            eta = (time.time() - start) / frac * (1 - frac) if frac > 0 else None
            reporter({"step": int(round(frac * 100)), "total": 100, "eta_s": eta, "metrics": {}, "message": message})

        report = synthesize(self.config, run.artifacts_dir, progress, stop_event.is_set)
        q, p = report["quality"], report["privacy"]
        metrics = {"eval/overall": q["overall"], "eval/c2st_auc": q["c2st_auc"],
                   "eval/membership_auc": p["membership_auc"], "eval/dcr_share": p["dcr_share_closer_to_train"]}
        if isinstance(p["dp"], dict) and "epsilon_total" in p["dp"]:
            metrics["eval/epsilon"] = p["dp"]["epsilon_total"]
        from genesis_core.store.metrics import MetricsWriter

        writer = MetricsWriter(run.metrics_path)
        writer.log_scalars(100, metrics)
        writer.log_event(100, "finished", f"synthesised {report['meta']['rows_synthetic']} rows with "
                                          f"{report['meta']['generator']}")
        writer.close()
        reporter({"step": 100, "total": 100, "eta_s": 0.0, "metrics": metrics, "message": "report written"})
        return TabularResult(100, 100, "finished", metrics)
