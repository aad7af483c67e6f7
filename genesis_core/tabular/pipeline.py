"""The synthesis pipeline, one function for the job, the page and the CLI:

  read the table -> infer and override the schema -> keep a holdout aside (if asked) -> choose the generator
  (or measure the candidates: auto) -> fit -> sample -> write synthetic.csv, generator/ -> score quality and
  privacy (unless asked not to) -> write report.json and report.html

Every file is written atomically, so a crash never leaves half a report that a page would read. A table
too small to split or to fit gets one sentence before anything is written.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from genesis_core.store.files import atomic_write_text
from genesis_core.tabular.data import schema as sch
from genesis_core.tabular.data.demos import load_demo
from genesis_core.tabular.data.ingest import (
    MIN_ROWS,
    TableError,
    TableInfo,
    read_table,
    read_written_table,
    table_text,
    write_options_of,
)
from genesis_core.tabular.evaluation.report import to_json

Progress = Callable[[float, int, str], None]


def read_source(source: str) -> tuple[pd.DataFrame, TableInfo]:
    """(the table, what reading it found) for `demo:NAME` or a CSV / Parquet path."""
    if source.startswith("demo:"):
        frame = load_demo(source[5:])
        return frame, TableInfo(len(frame), frame.shape[1], ",", "utf-8", "demo")
    return read_table(source)


def schema_for(raw: pd.DataFrame, column_types=(), personal_data: str = "replace",
               number_formats: dict[str, dict] | None = None) -> list[sch.ColumnSpec]:
    """The inferred schema with the user's overrides ("column=kind" or "column=datetime@FORMAT"), and how the
    file wrote its numbers (`TableInfo.number_formats`: `0.0`, `61e3`, `-0.0` come back written so)."""
    schema = sch.infer_schema(raw)
    for c in schema:
        fmt = (number_formats or {}).get(c.name)
        numeric_codes = c.kind == "categorical" and c.dtype.startswith(("int", "float", "uint"))
        if fmt and (c.kind == "numerical" or numeric_codes):  # constant 0.0 or codes 1.0, 2.0 keep their point too
            c.places = int(fmt.get("places", -1))
            c.scientific, c.exponent = "exponent" in fmt, int(fmt.get("exponent", 0))
            c.step = float(fmt.get("step", c.step))  # the written form's grid (61e3), else the values' own
            c.negative_zero = float(fmt.get("negative_zero", 0.0))
    overrides: dict[str, dict] = {}
    for spec in column_types:
        column, _, kind = spec.partition("=")
        kind, _, fmt = kind.partition("@")
        overrides[column.strip()] = {"kind": kind.strip(), **({"datetime_format": fmt} if fmt else {})}
    schema = sch.apply_overrides(schema, overrides)
    for c in schema:
        c.pii_action = personal_data
    return schema


def split_holdout(raw: pd.DataFrame, fraction: float, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(training rows, held-out rows or None); one sentence when the table is too small for it."""
    if len(raw) < MIN_ROWS:
        raise TableError(f"the table has {len(raw)} row{'s' if len(raw) != 1 else ''}; synthesis needs at least "
                         f"{MIN_ROWS}.")
    if fraction <= 0:
        return raw.reset_index(drop=True), None
    n_hold = int(round(len(raw) * fraction))
    if n_hold < 2 or len(raw) - n_hold < MIN_ROWS:
        raise TableError(f"a holdout of {fraction:.0%} of {len(raw)} rows leaves {len(raw) - n_hold} to fit and "
                         f"{n_hold} to hold out; use a larger table or no holdout (at least {MIN_ROWS} and 2).")
    order = np.random.default_rng(seed).permutation(len(raw))
    return (raw.iloc[np.sort(order[n_hold:])].reset_index(drop=True),
            raw.iloc[np.sort(order[:n_hold])].reset_index(drop=True))


def text_settings(config: Any):
    """How the config asks free-text columns to be written (tabular/text/columns.py)."""
    from genesis_core.tabular.text.columns import TextSettings

    return TextSettings(mode=config.text_columns, steps=config.text_steps, budget_s=config.text_budget_s,
                        copy_chars=config.text_copy_chars, personal_data=config.personal_data,
                        vocabulary_rows=config.text_vocabulary_rows, size=config.text_size,
                        device=config.trainer.device)


def generator_options(name: str, config: Any) -> dict[str, Any]:
    from genesis_core.registry import GENERATORS

    if GENERATORS.get(name).private:
        return {"epsilon": config.epsilon or 1.0, "delta": config.delta or None, "categories": config.dp_categories}
    return {}


def constraints_from(config: Any) -> list:
    from genesis_core.tabular.single_table.constraints import Inequality, Range

    out: list[Range | Inequality] = []
    for r in config.ranges:
        col, lo, hi = r.rsplit(":", 2)
        out.append(Range(col, float(lo), float(hi)))
    for r in config.inequalities:
        a, b = r.split("<", 1)
        out.append(Inequality(a.strip(), b.strip()))
    return out


def sample_with_conditions(gen, rows: int, conditions=(), seed: int = 0, constraints=(),
                           progress: Progress = lambda done, total, msg: None) -> tuple[pd.DataFrame, list[dict]]:
    """`rows` rows of a fitted generator, each group of rows drawn given its condition (tabular/single_table/conditions.py),
    mixed in a seeded order; and, per group, how many rows were asked for and how many hold the condition."""
    from genesis_core.tabular.single_table.conditions import plan, report

    groups = plan(conditions, rows) if conditions else []
    if not groups:
        return gen.sample(rows, constraints=constraints,
                          progress=lambda d, n, m: progress(2 + 0.5 * d / max(n, 1), 3, m)), []
    frames, done = [], 0
    for i, (group, n) in enumerate(groups):
        start = done
        frames.append(gen.sample(n, conditions=group.values or None, constraints=constraints, seed=seed + i,
                                 progress=lambda d, m_, msg, s0=start, n=n: progress(
                                     2 + 0.5 * (s0 + d / max(m_, 1) * n) / rows, 3, msg)))
        done += n
    order = np.random.default_rng(seed).permutation(rows)
    synth = pd.concat(frames, ignore_index=True).iloc[order].reset_index(drop=True)
    return synth, report(groups, frames)


def synthesize(config: Any, out_dir: Path, progress: Progress = lambda done, total, msg: None,
               stop: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """Run the pipeline for a TabularSynthesisConfig; writes synthetic.csv, generator/ and (with
    `config.report`) report.json and report.html into `out_dir`. Returns the report (or its meta part)."""
    from genesis_core.registry import GENERATORS
    from genesis_core.tabular.single_table.base import make_generator

    if config.kind == "sequences":
        return synthesize_sequences(config, Path(out_dir), progress, stop)
    if config.kind == "tables":
        return synthesize_related(config, Path(out_dir), progress, stop)
    t0 = time.time()
    out_dir = Path(out_dir)
    raw, info = read_source(config.source)
    schema = schema_for(raw, config.column_types, config.personal_data, info.number_formats)
    if config.conditions:  # before anything is fit: a condition on a column the table lacks is said at once
        from genesis_core.tabular.single_table.conditions import check_against

        check_against(config.conditions, raw, [c.name for c in schema if c.kind not in sch.NOT_SYNTHESISED])
    train, holdout = split_holdout(raw, config.holdout_fraction, config.trainer.seed)
    seed = config.trainer.seed
    leaderboard: list[dict[str, Any]] = []
    from genesis_core.tabular.single_table.auto import CANDIDATE_SHARE, default_budget, final_epochs

    budget = config.auto_budget_s or default_budget(len(train), train.shape[1])
    budget_end = time.monotonic() + budget
    epochs = config.epochs
    chosen_privately = config.generator == "auto" and config.epsilon > 0  # from public facts: nothing fitted
    auto_limit: dict[str, float] = {}
    if chosen_privately:
        from genesis_core.tabular.single_table.auto import candidates_for, private_choice

        name, reason = private_choice(candidates_for(config.epsilon, tuple(config.candidates)))
    elif config.generator == "auto":
        from genesis_core.tabular.single_table.auto import candidates_for, select_generator

        candidates = candidates_for(config.epsilon, tuple(config.candidates))
        per_candidate = {n: generator_options(n, config) for n in candidates}
        name, leaderboard = select_generator(
            train, schema, candidates, per_candidate, budget * CANDIDATE_SHARE, seed, config.epochs,
            progress=lambda f, m: progress(f, 3, m), stop=stop)
        best = next(r for r in leaderboard if r["generator"] == name)
        n_fit = len(train) - int(round(len(train) * 0.2))
        scored = sum(r.get("score") is not None for r in leaderboard)
        unscored: dict[str, Any] = {}
        for r in leaderboard:
            if r.get("score") is None:
                unscored[r.get("status", "failed")] = unscored.get(r.get("status", "failed"), 0) + 1
        tie = best.get("chosen", "best score") != "best score"
        how_many = (f"the only one of {len(leaderboard)} candidates scored" if scored == 1 else
                    ("chosen among" if tie else "best of") + f" {scored} candidates scored"
                    + (f" (of {len(leaderboard)})" if scored < len(leaderboard) else ""))
        if tie:
            how_many += f": {best['chosen']}"
        if unscored:
            how_many += "; not scored: " + ", ".join(f"{n} {s}" for s, n in unscored.items())
        reason = (f"{how_many}; fit on {n_fit} rows, scored on {int(round(len(train) * 0.2))} "
                  f"rows they never saw (score {best['score']:.3f}: quality {best['quality_score']:.3f}, detection "
                  + (f"AUC {best['detection_auc']:.3f}" if best.get("detection_auc") is not None else "not measured")
                  + (f", copy guard {best['copy_guard']:.2f}" if best.get("copy_guard", 1.0) < 1.0 else "")
                  + f"; budget {budget:.0f} s)")
        epochs = final_epochs(best, config.epochs, len(train), n_fit, budget_end - time.monotonic())
        if epochs < config.epochs and GENERATORS.get(name).paced_by == "epochs":
            reason += f"; fit with {epochs} of {config.epochs} epochs to end within the budget"
        if GENERATORS.get(name).paced_by == "time_limit_s":  # its candidate's fit, scaled by rows, at the least
            limit = max(budget_end - time.monotonic(), float(best.get("fit_s") or 0) * len(train) / max(n_fit, 1))
            auto_limit = {"time_limit_s": round(limit, 1)}
    else:
        name, reason = config.generator, "chosen by the user"
    if config.epsilon > 0 and not GENERATORS.get(name).private:
        raise ValueError(f"epsilon {config.epsilon:g} asks for differential privacy, but {name} is not private; "
                         f"use one of {', '.join(n for n in GENERATORS.names() if GENERATORS.get(n).private)} or auto")
    if stop():
        raise InterruptedError("cancelled")
    options = {**generator_options(name, config), **auto_limit}
    tuning: list[dict[str, Any]] = []
    if config.tune:
        if GENERATORS.get(name).private:
            raise ValueError(f"tuning {name} on this table would spend its privacy budget once per trial; tune on "
                             "public data, or leave tune at 0")
        from genesis_core.tabular.single_table.auto import tune_generator

        options, tuning = tune_generator(train, schema, name, options, config.tune, budget * CANDIDATE_SHARE, seed,
                                         config.epochs, progress=lambda f, m: progress(f, 3, m), stop=stop)
        epochs = int(options.pop("epochs", epochs))
        scored_trials = [r for r in tuning if r.get("quality_score") is not None]
        if scored_trials:
            best = max(scored_trials, key=lambda r: r["quality_score"])
            reason += f"; tuned with {len(tuning)} Optuna trials (best {best['quality_score']:.3f} on held-out rows)"
    gen = make_generator(name, seed=seed, epochs=epochs, **options)
    progress(1, 3, f"fitting {name} on {len(train)} rows ({reason})")
    combos = [tuple(c.strip() for c in fc.split(",")) for fc in config.fixed_combinations]
    gen.fit(train, schema, progress=lambda d, n, m: progress(1 + d / max(n, 1), 3, m), fixed_combinations=combos,
            text=text_settings(config), stop=stop)
    if stop():
        raise InterruptedError("cancelled")
    gen.save(out_dir / "generator")
    rows = config.rows or len(raw)
    progress(2, 3, f"sampling {rows} rows")
    synth, condition_rows = sample_with_conditions(gen, rows, config.conditions, config.trainer.seed,
                                                   constraints_from(config), progress)
    # written as the input was: its delimiter (a table read with ';' keeps ';')
    atomic_write_text(out_dir / "synthetic.csv", table_text(synth, **info.write_options()))
    if holdout is not None:  # the rows the generator never saw, for `report` / `privacy-audit --holdout`
        atomic_write_text(out_dir / "holdout.csv", table_text(holdout, **info.write_options()))
    plan = sch.column_plan(schema)
    meta = {"generator": name, "reason": reason, "leaderboard": leaderboard, "tuning": tuning,
            "options": {"epochs": epochs, **{k: v for k, v in options.items() if k != "bounds"}}, "rows_input": len(raw),
            "rows_train": len(train), "rows_holdout": 0 if holdout is None else len(holdout),
            "rows_synthetic": len(synth), "generate_s": round(time.time() - t0, 2), "columns": plan,
            "conditions": condition_rows,
            "text_models": {m.column: {**m.info, **gen.text_stats.get(m.column, {})} for m in gen.text_models},
            "warnings": list(info.warnings), **info.write_options(),
            "summary": f"{name} ({reason}); fit on {len(train)} rows"
                       + (f", {len(holdout)} held out" if holdout is not None else ", no holdout")
                       + f"; {len(synth)} synthetic rows."}
    report: dict[str, Any] = {"meta": meta, "schema": sch.schema_to_dicts(schema)}
    if config.report:
        parts = 3 + bool(config.target) + bool(config.quasi_identifiers) + bool(gen.text_models)
        dp = getattr(gen, "privacy", None)
        if dp and chosen_privately:  # the choice between private generators spent nothing: say how
            dp = {**dp, "choice": f"auto chose {name} from public facts, reading no row: nothing spent on the choice"}
        report.update(score(train, holdout, synth, schema, config, dp,
                            tick=scoring_ticks(progress, stop, parts)))
        from genesis_core.tabular.evaluation.report import to_html

        typed = sch.prepare(train, schema), sch.prepare(synth, schema)
        atomic_write_text(out_dir / "report.html", to_html(report, *typed, schema))
    meta["seconds"] = round(time.time() - t0, 2)
    atomic_write_text(out_dir / "report.json", to_json(report))  # last: a page that sees it finds the rest
    progress(3, 3, "done")
    return report


def synthesize_sequences(config: Any, out_dir: Path, progress: Progress = lambda done, total, msg: None,
                         stop: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """The pipeline for sequences: synthetic.csv (`config.rows` sequences, default as many as the input has),
    generator/, report.json and report.html (quality and nearest-sequence privacy)."""
    from genesis_core.tabular.evaluation.sequences import sequence_report, to_html
    from genesis_core.tabular.sequential.generators import (
        few_sequences_warning,
        make_sequence_generator,
        prepare_sequences,
        split_sequences,
    )

    t0 = time.time()
    raw, info = read_source(config.source)
    frame, spec = prepare_sequences(raw, config.sequence_key, config.sequence_index,
                                    list(config.context_columns) or None)
    train, holdout = split_sequences(frame, spec, config.holdout_fraction, config.trainer.seed)
    few = few_sequences_warning(int(train[spec.key].nunique()))
    if few:
        info.warnings.append(few)
    name = "par" if config.generator == "auto" else config.generator
    n_real = int(frame[spec.key].nunique())
    progress(0, 3, f"{name} on {train[spec.key].nunique()} sequences; context {', '.join(spec.context) or 'none'}; "
                   f"changing along each: {', '.join(spec.channels)}")
    gen = make_sequence_generator(name, seed=config.trainer.seed, epochs=config.epochs)
    gen.fit(train, spec, progress=lambda d, n, m: progress(d / max(n, 1), 3, m))
    if stop():
        raise InterruptedError("cancelled")
    gen.save(out_dir / "generator")
    n = config.rows or n_real
    progress(1, 3, f"sampling {n} sequences")
    synth = gen.sample(n)
    atomic_write_text(out_dir / "synthetic.csv", table_text(synth, **info.write_options()))
    meta = {"kind": "sequences", "unit": "sequences", "generator": name,
            "reason": "chosen by the user" if config.generator != "auto" else "PAR: SDV's sequence model",
            "spec": spec.to_dict(), "options": {"epochs": config.epochs}, "rows_input": len(raw),
            "sequences_input": n_real, "sequences_train": int(train[spec.key].nunique()),
            "sequences_holdout": 0 if holdout is None else int(holdout[spec.key].nunique()),
            "rows_synthetic": n, "rows_written": len(synth), "generate_s": round(time.time() - t0, 2),
            "warnings": list(info.warnings), **info.write_options(),
            "summary": f"{name} fit on {train[spec.key].nunique()} sequences"
                       + (f", {holdout[spec.key].nunique()} held out" if holdout is not None else ", no holdout")
                       + f"; {n} synthetic sequences ({len(synth)} rows)."}
    report: dict[str, Any] = {"meta": meta}
    if config.report:
        from genesis_core.tabular.evaluation.sequences import report_parts

        report.update(sequence_report(train, synth, spec, holdout, seed=config.trainer.seed,
                                      tick=scoring_ticks(progress, stop, report_parts(train, spec, holdout),
                                                         start=2.0, span=0.95, what="scoring sequences")))
        atomic_write_text(out_dir / "report.html", to_html(report, train, synth, spec))
    meta["seconds"] = round(time.time() - t0, 2)
    atomic_write_text(out_dir / "report.json", to_json(report))
    progress(3, 3, "done")
    return report


def synthesize_related(config: Any, out_dir: Path, progress: Progress = lambda done, total, msg: None,
                       stop: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """The pipeline for related tables: synthetic/<table>.csv, generator/, report.json and report.html."""
    from genesis_core.tabular.single_table.sdv import save_sdv
    from genesis_core.tabular.multi_table.related_tables import (
        drop_orphans,
        read_tables,
        synthesize_tables,
        table_metadata,
        tables_report,
        to_html,
    )

    t0 = time.time()
    tables, notes = read_tables(list(config.sources))
    metadata = table_metadata(tables, list(config.relationships))
    tables, dropped = drop_orphans(tables, metadata)
    synth, model = synthesize_tables(tables, metadata, config.scale, config.trainer.seed,
                                     progress=lambda d, n, m: progress(d / max(n, 1) * 2, 3, m))
    if stop():
        raise InterruptedError("cancelled")
    (out_dir / "generator").mkdir(parents=True, exist_ok=True)
    saved = save_sdv(model, out_dir / "generator", "hma.pkl")
    for name, frame in synth.items():
        atomic_write_text(out_dir / "synthetic" / f"{name}.csv", frame.to_csv(index=False))
    rels = [f"{r['parent_table_name']}.{r['parent_primary_key']} -> {r['child_table_name']}.{r['child_foreign_key']}"
            for r in metadata.to_dict()["relationships"]]
    meta = {"kind": "tables", "unit": "rows", "generator": "hma", "reason": "SDV's HMA for related tables",
            "tables": {k: len(v) for k, v in tables.items()}, "relationships": rels, "saved": saved,
            "rows_synthetic": int(sum(len(v) for v in synth.values())), "generate_s": round(time.time() - t0, 2),
            "warnings": notes + dropped,
            "summary": f"HMA on {len(tables)} tables joined by {'; '.join(rels)}; scale {config.scale:g}."}
    report: dict[str, Any] = {"meta": meta}
    if config.report:
        progress(2.5, 3, "scoring: keys, children per parent, each table's quality")
        report.update(tables_report(tables, synth, metadata, seed=config.trainer.seed))
        atomic_write_text(out_dir / "report.html", to_html(report))
    meta["seconds"] = round(time.time() - t0, 2)
    atomic_write_text(out_dir / "report.json", to_json(report))
    progress(3, 3, "done")
    return report


def score(train: pd.DataFrame, holdout: pd.DataFrame | None, synth: pd.DataFrame, schema: list[sch.ColumnSpec],
          config: Any, dp_statement: dict | None = None,
          tick: Callable[[str], None] = lambda what: None) -> dict[str, Any]:
    """The quality and privacy parts of the report, for frames as the user wrote them; `tick(what)` before each
    part (see `scoring_ticks`)."""
    from genesis_core.tabular.evaluation.privacy import privacy_report
    from genesis_core.tabular.evaluation.quality import quality_report

    t_train, t_synth = sch.prepare(train, schema), sch.prepare(synth, schema)
    t_hold = sch.prepare(holdout, schema) if holdout is not None else None
    seed = config.trainer.seed
    quality = quality_report(t_train, t_synth, schema, t_hold, config.target or None, seed=seed, tick=tick)
    privacy = privacy_report(t_train, t_hold, t_synth, schema, list(config.quasi_identifiers), list(config.sensitive),
                             dp_statement, seed=seed, tick=tick)
    out: dict[str, Any] = {"quality": quality, "privacy": privacy}
    if any(c.kind == "text" and c.name in synth.columns for c in schema):
        from genesis_core.tabular.evaluation.text import text_report

        tick("text columns: lengths, n-grams, two-sample test, copies")
        out["text"] = text_report(train, holdout, synth, schema, seed=seed)
    return out


def scoring_ticks(progress: Progress, stop: Callable[[], bool], parts: int, start: float = 2.5,
                  span: float = 0.45, what: str = "scoring") -> Callable[[str], None]:
    """A `tick` for the scoring parts: each says "scoring 2/5: detection ..." with its share of the phase, and
    is a stop point (a cancel ends the scoring between two parts)."""
    count = {"n": 0}

    def tick(part: str) -> None:
        if stop():
            raise InterruptedError("cancelled")
        count["n"] += 1
        n = max(parts, count["n"])
        progress(start + span * (count["n"] - 1) / n, 3, f"{what} {count['n']}/{n}: {part}")

    return tick


def report_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The report's headline figures as eval/ scalars for the run's metrics."""
    q, p = report.get("quality", {}), report.get("privacy", {})
    if report.get("meta", {}).get("kind") == "tables":
        tables = report.get("tables", [])
        scores = [t["quality_score"] for t in tables if t.get("quality_score") is not None]
        resolve = [r["foreign_keys_resolve"] for r in report.get("relationships", [])]
        counts = [r["children_per_parent_similarity"] for r in report.get("relationships", [])]
        return {k: float(np.mean(v)) for k, v in (("eval/quality_score", scores), ("eval/foreign_keys_resolve", resolve),
                                                  ("eval/children_per_parent", counts)) if v}
    if report.get("meta", {}).get("kind") == "sequences":
        keys = ("column_shapes", "step_marginals", "autocorrelation_similarity", "cross_correlation_similarity",
                "discriminative_score", "tstr_mae", "trtr_mae")
        out = {f"eval/{k}": q.get(k) for k in keys}
        out["eval/share_closer_to_train"] = p.get("share_closer_to_train")
        return {k: float(v) for k, v in out.items() if v is not None and not pd.isna(v)}
    candidates = {"eval/quality_score": q.get("quality_score"), "eval/column_shapes": q.get("column_shapes"),
                  "eval/column_pair_trends": q.get("column_pair_trends"), "eval/c2st_auc": q.get("c2st_auc"),
                  "eval/membership_auc": p.get("membership_auc"),
                  "eval/dcr_share": p.get("dcr_share_closer_to_train"),
                  "eval/epsilon": (p.get("dp") or {}).get("epsilon_total")}
    return {k: float(v) for k, v in candidates.items() if v is not None and not pd.isna(v)}


def report_frames(run: Any) -> tuple[pd.DataFrame, pd.DataFrame, list[sch.ColumnSpec]]:
    """(the real table, the synthetic one, the schema) of a flat synthesis run, typed by its schema: what the
    report's figures are drawn from."""
    report = json.loads(run.artifact_path("report.json").read_text())
    schema = sch.schema_from_dicts(report["schema"])
    synth = read_written_table(run.artifact_path("synthetic.csv"), report["meta"])
    return sch.prepare(read_source(run.config()["source"])[0], schema), sch.prepare(synth, schema), schema


def sample_more(run: Any, rows: int, seed: int = 1) -> Path:
    """More rows from a synthesis run's fitted generator, as a CSV in the run's artifacts. The file is the
    cache: asking again for the same rows and seed returns it at once."""
    from genesis_core.tabular.single_table.base import GeneratorError, TabularGenerator

    if rows < 1:
        raise GeneratorError("ask for at least one row")
    path = run.artifact_path(f"more_{rows}_seed{seed}.csv")
    if path.exists():
        return path
    report = run.artifact_path("report.json")
    meta = json.loads(report.read_text()).get("meta", {}) if report.exists() else {}
    if meta.get("kind") == "tables":
        raise GeneratorError("related tables are sampled together: run the job again with another scale")
    if meta.get("kind") == "sequences":  # rows count sequences here
        from genesis_core.tabular.sequential.generators import SequenceGenerator

        frame = SequenceGenerator.load(run.artifacts_dir / "generator").sample(rows, seed=seed)
    else:
        frame = TabularGenerator.load(run.artifacts_dir / "generator").sample(rows, seed=seed)
    atomic_write_text(path, table_text(frame, **write_options_of(meta)))
    return path
