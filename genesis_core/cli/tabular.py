"""`python -m genesis_core generate | report | privacy-audit`: the synthetic-data lab in the terminal.

    python -m genesis_core generate -i data.csv -o synth.csv [-m auto] [-n ROWS] [--holdout-fraction 0.2] \\
        [--epsilon 1] [--target COL] [--no-report]
    python -m genesis_core report -r real.csv -s synth.csv [--holdout h.csv] [--target COL] \\
        [--sensitive COLS] [--quasi-identifiers COLS] -o report.html
    python -m genesis_core privacy-audit -r real.csv -s synth.csv --holdout h.csv --quasi-identifiers a,b \\
        [--sensitive c] [--enforce-k 5 | --enforce-l 2 -o released.csv]

    python -m genesis_core generate -i visits.csv -o synth.csv -m par|timegan --sequence-key patient \\
        [--sequence-index date] [-n SEQUENCES]
    python -m genesis_core generate -i customers.csv -i orders.csv -o synth/ [-m hma] \\
        [--relationship customers.id:orders.customer_id] [--scale 1]

generate fits on every row and writes as many rows as the input has (-n to choose); --holdout-fraction keeps
rows aside for the privacy figures that need rows the generator never saw. -m auto fits the candidates and
keeps the best one on held-out rows; with --epsilon it fits none and takes the first private candidate in the
order aim, mst, dp_tvae (a choice scored on real rows would spend privacy outside the budget). -i/-r also take demo:penguins, demo:wine or demo:fair (tables that ship
inside packages).

Sequences (--sequence-key): -n counts sequences; columns constant within every sequence are context and stay
constant; the report scores marginals per step, autocorrelation, cross-correlation, the discriminative and
predictive scores and nearest-sequence privacy (demo:fertility, demo:elnino, demo:modechoice).
Related tables (several -i, or a folder): keys detected by SDV unless given; -o is a folder that receives one CSV
per table and the report (demo:modechoice as -i gives two related tables).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from genesis_core.errors import CLIError, WorkbenchError, one_sentence
from genesis_core.formatting import number
from genesis_core.registry import COMMANDS


def _cols(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


@COMMANDS.register("tabular")
def add_tabular_commands(sub) -> None:
    g = sub.add_parser("generate", help="fit a generator to a table and write synthetic rows (+ report)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("-i", "--input", required=True, action="append",
                   help="a CSV/Parquet file or demo:NAME; repeat it (or give a folder) for related tables")
    g.add_argument("-o", "--output", required=True, help="synthetic CSV (a folder for related tables); the report "
                                                          "goes beside it")
    g.add_argument("-m", "--model", default="auto", help="auto, or a generator: gaussian_copula, autoregressive, "
                                                         "ctgan, tvae, aim, mst, dp_tvae, ...; par, timegan "
                                                         "(sequences); hma (tables)")
    g.add_argument("-n", "--rows", type=int, default=0, help="rows to write (default: as many as the input); "
                                                             "sequences with --sequence-key")
    g.add_argument("--sequence-key", default="", help="the column naming the entity each row belongs to")
    g.add_argument("--sequence-index", default="", help="the column giving each row's order (a date or step)")
    g.add_argument("--context", default="", help="sequences: columns constant per sequence (default: found)")
    g.add_argument("--relationship", action="append", default=[], metavar="PARENT.KEY:CHILD.FK",
                   help="related tables: a key (repeatable; default: detected)")
    g.add_argument("--scale", type=float, default=1.0, help="related tables: synthetic rows per real row")
    g.add_argument("--holdout-fraction", type=float, default=0.0,
                   help="share of the rows kept from the generator for the privacy figures (default 0)")
    g.add_argument("--no-report", action="store_true", help="generate only: no quality or privacy scoring")
    g.add_argument("--candidates", default="", help="auto: generators to try, comma-separated")
    g.add_argument("--condition", action="append", default=[], metavar="COLUMN=VALUE[@SHARE]",
                   help="draw rows given a value (repeatable): smoker=yes (every row), target=1@0.3 (30%% of the "
                        "rows; the rest unconditioned); the report says how many rows hold each")
    g.add_argument("--budget", type=float, default=0.0,
                   help="auto, --tune: seconds for the choice and the final fit together (default: sized to the "
                        "table, 60 s plus 0.02 s per cell, at most 600 s)")
    g.add_argument("--tune", type=int, default=0, metavar="N",
                   help="N Optuna trials of the chosen generator's hyperparameters, scored on held-out rows")
    g.add_argument("--epsilon", type=float, default=0.0,
                   help="differential privacy budget (with mst, dp_tvae or auto); 0: not private")
    g.add_argument("--epochs", type=int, default=300, help="training epochs of the neural generators")
    g.add_argument("--target", default="", help="a column to predict, for the ML-utility figures of the report")
    g.add_argument("--sensitive", default="", help="columns an attacker would want to infer, comma-separated")
    g.add_argument("--quasi-identifiers", default="",
                   help="columns that together could identify a person, comma-separated (k-anonymity, attacks)")
    g.add_argument("--column-type", action="append", default=[], metavar="COLUMN=KIND",
                   help="override an inferred type (repeatable): age=numerical, code=categorical, "
                        "born=datetime@%%d.%%m.%%Y")
    g.add_argument("--personal-data", choices=["replace", "drop"], default="replace",
                   help="names, emails, phone numbers: replaced by fake values (default) or left out")
    g.add_argument("--text-columns", choices=["model", "drop"], default="model",
                   help="free-text columns: written by a byte language model per column, conditioned on the row "
                        "(default; not differentially private), or left out")
    g.add_argument("--text-budget", type=float, default=0.0, metavar="SECONDS",
                   help="training seconds per text column (default: 30 s plus 1 s per 5 KB of text, at most 300)")
    g.add_argument("--text-steps", type=int, default=0, help="training steps per text column (overrides the budget)")
    g.add_argument("--text-copy-chars", type=int, default=40, metavar="N",
                   help="a synthetic text repeating N consecutive characters of a training text is drawn again")
    g.add_argument("--seed", type=int, default=0, help="random seed (same seed, same table)")
    g.set_defaults(func=cmd_generate)
    r = sub.add_parser("report", help="quality and privacy report of a synthetic table against the real one",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _real_and_synthetic(r, "score")
    r.add_argument("--target", default="", help="a column to predict, for the ML-utility figures")
    r.add_argument("-o", "--output", required=True, help="report.html (a .json is written beside it)")
    r.set_defaults(func=cmd_report)
    a = sub.add_parser("privacy-audit", help="privacy figures of a synthetic table; optional k-anonymity enforcement",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _real_and_synthetic(a, "audit")
    a.add_argument("--enforce-k", type=int, default=0, help="generalise and suppress until every group has k rows")
    a.add_argument("--enforce-l", type=int, default=0, metavar="L",
                   help="generalise and suppress until every group holds L distinct values of --sensitive")
    a.add_argument("-o", "--output", help="with --enforce-k or --enforce-l: the released CSV")
    a.set_defaults(func=cmd_audit)


def _real_and_synthetic(parser: argparse.ArgumentParser, verb: str) -> None:
    """The tables and columns `report` and `privacy-audit` both read."""
    parser.add_argument("-r", "--real", required=True, help="the real table the generator was fit on (CSV or Parquet)")
    parser.add_argument("-s", "--synthetic", required=True, help=f"the synthetic table to {verb}")
    parser.add_argument("--holdout", help="real rows the generator never saw (DCR share, membership AUC); "
                                          "`generate --holdout-fraction F` writes them beside its output")
    parser.add_argument("--sensitive", default="", help="columns an attacker would want to infer, comma-separated")
    parser.add_argument("--quasi-identifiers", default="", help="columns that together could identify a person")


def _fail(exc: Exception) -> CLIError:
    return CLIError(one_sentence(exc))


def _print_plan(meta: dict) -> None:
    for w in meta.get("warnings", []):
        print(f"note: {w}", file=sys.stderr)
    for c in meta.get("columns", []):
        if not c["what"].startswith("synthesised"):
            print(f"note: {c['column']}: {c['what']} ({c['why']})", file=sys.stderr)
    for row in meta.get("tuning", []):
        score = row.get("quality_score")
        params = {k: v for k, v in row.items() if k not in ("trial", "quality_score", "status", "seconds")}
        print(f"tune: trial {row['trial']:<3} " + (f"quality {score:.3f}" if score is not None else row["status"])
              + f"  {params or '(defaults)'}")
    for row in meta.get("leaderboard", []):
        score, auc = row.get("score", row.get("quality_score")), row.get("detection_auc")
        print(f"auto: {row['generator']:<16} " + (
            f"score {score:.3f} = mean of quality {row['quality_score']:.3f} and detection "
            + (f"(AUC {auc:.3f})" if auc is not None else "(not measured)")
            + (f" x copy guard {row['copy_guard']:.2f}" if row.get("copy_guard", 1.0) < 1.0 else "")
            + f"  ({row['fit_s']:.1f} s to fit"
            + (f", {row['epochs']} epochs at the pace its slot holds" if row.get("epochs") else "") + ")"
            + (f"  <- chosen: {row['chosen']}" if row.get("chosen") else "")
            if score is not None else f"{row['status']}: {row.get('error', '')}"))


def print_figures(report: dict) -> None:
    from genesis_core.tabular.evaluation.report import headline

    for row in headline(report["quality"]):
        if row["value"] is not None:
            print(f"{row['figure']:<78} {row['value']:.3f}")
    if report["quality"].get("column_pair_trends_note"):
        print(f"Column pair trends: {report['quality']['column_pair_trends_note']}")
    u = report["quality"].get("utility")
    if u and "tstr" in u:
        print(f"utility ({u['target']}, {u['metric']}): train synthetic/test real {u['tstr']:.3f}, train real/test "
              f"real {u['trtr']:.3f}, constant model {u['constant_baseline']:.3f}")
    p = report["privacy"]
    if p.get("note"):
        print(p["note"])
    for v in p.get("verdicts", []):
        print(f"[{v['verdict']}] {v['measure']}: {v['value']:.3f}. {v['sentence']}")
    for entry in report.get("text", []):
        from genesis_core.tabular.evaluation.text import figures_table

        print(f"text column {entry['column']!r} (synthetic | reference: {entry['reference_name']}):")
        for row in figures_table(entry):
            synthetic, real = number(row["synthetic"], ".3f"), number(row["reference (real)"], ".3f")
            print(f"  {row['figure']:<68} {synthetic:>9} | {real:>9}")



def cmd_generate(args: argparse.Namespace) -> int:
    from genesis_core.config import from_dict
    from genesis_core.tabular.pipeline import synthesize
    from genesis_core.tabular.task import TabularSynthesisConfig

    out = Path(args.output)
    inputs = [i if i.startswith("demo:") else str(Path(i).resolve()) for i in args.input]
    related = len(inputs) > 1 or Path(inputs[0]).is_dir() or (
        inputs[0].startswith("demo:") and not args.sequence_key and inputs[0][5:] in _table_demos())
    if args.model == "hma":
        related = True
    try:
        if related:
            return _generate_related(args, inputs, out)
        cfg = from_dict(TabularSynthesisConfig, {
            "source": inputs[0], "sequence_key": args.sequence_key, "sequence_index": args.sequence_index,
            "context_columns": _cols(args.context),
            "generator": args.model, "rows": args.rows, "epsilon": args.epsilon, "epochs": args.epochs,
            "holdout_fraction": args.holdout_fraction, "report": not args.no_report,
            "candidates": _cols(args.candidates), "auto_budget_s": args.budget, "tune": args.tune, "target": args.target,
            "sensitive": _cols(args.sensitive), "quasi_identifiers": _cols(args.quasi_identifiers),
            "column_types": args.column_type, "personal_data": args.personal_data, "trainer": {"seed": args.seed},
            "text_columns": args.text_columns, "text_budget_s": args.text_budget, "text_steps": args.text_steps,
            "text_copy_chars": args.text_copy_chars, "conditions": args.condition})
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".generate-") as tmp:
            def progress(done, total, message):
                print(f"[{done / total:4.0%}] {message}", file=sys.stderr, flush=True)

            report = synthesize(cfg, Path(tmp), progress)
            os.replace(Path(tmp) / "synthetic.csv", out)  # same folder: each file appears whole or not at all
            if (Path(tmp) / "holdout.csv").exists():
                os.replace(Path(tmp) / "holdout.csv", out.with_suffix(".holdout.csv"))
            if cfg.report:
                os.replace(Path(tmp) / "report.html", out.with_suffix(".report.html"))
                os.replace(Path(tmp) / "report.json", out.with_suffix(".report.json"))
        release = _record_cli_release(cfg, report, out)
    except (WorkbenchError, ValueError, KeyError) as exc:
        raise _fail(exc) from exc
    m = report["meta"]
    _print_plan(m)
    print(f"wrote {out} ({m['rows_synthetic']} {m.get('unit', 'rows')}, {m['generator']}: {m['reason']}; "
          f"{m['generate_s']:.1f} s)")
    for c in m.get("conditions") or []:
        print(f"condition {c['condition']}: {c['rows_met']} of {c['rows_asked']} rows drawn given it hold it")
    if out.with_suffix(".holdout.csv").exists() and m.get("rows_holdout"):
        print(f"held-out rows: {out.with_suffix('.holdout.csv')} (pass it to report / privacy-audit --holdout)")
    if cfg.report:
        if m.get("kind") == "sequences":
            print_sequence_figures(report)
        else:
            print_figures(report)
        print(f"report: {out.with_suffix('.report.html')}")
    print(f"release {release['id']} (v{release['version']} of input {release['input']['sha256'][:12]}; "
          "`genesis releases show` it)")
    return 0


def _record_cli_release(cfg, report: dict, out: Path) -> dict:
    from genesis_core.store.workspace import Workspace
    from genesis_core.tabular.releases.lineage import record_release

    return record_release(Workspace(), cfg, report, out, origin="cli")


def _table_demos() -> set[str]:
    from genesis_core.tabular.data.demos import SEQUENCE_DEMOS, TABLE_DEMOS

    return set(TABLE_DEMOS) - set(SEQUENCE_DEMOS)


def print_sequence_figures(report: dict) -> None:
    from genesis_core.tabular.evaluation.sequences import FIGURES

    q, p = report["quality"], report["privacy"]
    for key, label, _ in FIGURES:
        if q.get(key) is not None:
            print(f"{label:<66} {q[key]:.3f}")
    for key in ("nearest_train_median", "nearest_holdout_median", "share_closer_to_train", "share_ideal"):
        if key in p:
            print(f"privacy: {key:<57} {p[key]:.3f}")
    if p.get("note"):
        print(p["note"])


def _generate_related(args: argparse.Namespace, inputs: list[str], out: Path) -> int:
    import shutil

    from genesis_core.config import from_dict
    from genesis_core.tabular.pipeline import synthesize
    from genesis_core.tabular.task import TabularSynthesisConfig

    if out.suffix.lower() in (".csv", ".parquet"):
        raise CLIError(f"related tables are written as one CSV each: give -o a folder, not {out.name}")
    cfg = from_dict(TabularSynthesisConfig, {
        "sources": inputs, "generator": "hma" if args.model in ("auto", "hma") else args.model,
        "relationships": args.relationship, "scale": args.scale, "report": not args.no_report,
        "trainer": {"seed": args.seed}})
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".generate-") as tmp:
        def progress(done, total, message):
            print(f"[{done / total:4.0%}] {message}", file=sys.stderr, flush=True)

        report = synthesize(cfg, Path(tmp), progress)
        for f in (Path(tmp) / "synthetic").iterdir():
            os.replace(f, out / f.name)
        for name in ("report.html", "report.json"):
            if (Path(tmp) / name).exists():
                os.replace(Path(tmp) / name, out / name)
        shutil.rmtree(Path(tmp) / "generator", ignore_errors=True)
    m = report["meta"]
    for w in m.get("warnings", []):
        print(f"note: {w}", file=sys.stderr)
    print(f"wrote {', '.join(f'{out / t}.csv' for t in m['tables'])} (HMA; keys {'; '.join(m['relationships'])}; "
          f"{m['generate_s']:.1f} s)")
    for r in report.get("relationships", []):
        print(f"{r['child']} -> {r['parent']}: foreign keys resolve {r['foreign_keys_resolve']:.3f}, children per "
              f"parent similarity {r['children_per_parent_similarity']:.3f} (mean {r['children_per_parent_real_mean']:.2f}"
              f" real, {r['children_per_parent_synthetic_mean']:.2f} synthetic)")
    for t in report.get("tables", []):
        if t.get("quality_score") is not None:
            print(f"{t['table']:<24} quality {t['quality_score']:.3f} ({t['rows_synthetic']} rows)")
    if not args.no_report:
        print(f"report: {out / 'report.html'}")
    release = _record_cli_release(cfg, report, out)
    print(f"release {release['id']} (v{release['version']} of input {release['input']['sha256'][:12]})")
    return 0


def _load(source: str, schema=None):
    from genesis_core.tabular.data import schema as sch
    from genesis_core.tabular.pipeline import read_source

    raw = read_source(source)[0]
    schema = schema or sch.infer_schema(raw)
    return sch.prepare(raw, [c for c in schema if c.name in raw.columns]), schema


def _score(args):
    from genesis_core.tabular.evaluation.privacy import privacy_report

    real, schema = _load(args.real)
    synth, _ = _load(args.synthetic, schema)
    holdout = _load(args.holdout, schema)[0] if args.holdout else None
    missing = [c for c in real.columns if c not in synth.columns]
    if missing:
        raise ValueError(f"the synthetic table lacks column(s) {', '.join(missing)}")
    synth = synth[real.columns]
    privacy = privacy_report(real, holdout, synth, schema, _cols(args.quasi_identifiers), _cols(args.sensitive))
    return real, synth, holdout, schema, privacy


def cmd_report(args: argparse.Namespace) -> int:
    from genesis_core.store.files import atomic_write_text
    from genesis_core.tabular.evaluation.quality import quality_report
    from genesis_core.tabular.evaluation.report import to_html, to_json

    try:
        real, synth, holdout, schema, privacy = _score(args)
        quality = quality_report(real, synth, schema, holdout, args.target or None)
        report = {"meta": {"summary": f"{args.synthetic} against {args.real}"}, "quality": quality, "privacy": privacy}
        out = Path(args.output)
        atomic_write_text(out, to_html(report, real, synth, schema))
        atomic_write_text(out.with_suffix(".json"), to_json(report))
    except (WorkbenchError, ValueError, KeyError) as exc:
        raise _fail(exc) from exc
    print_figures(report)
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from genesis_core.store.files import atomic_write_text
    from genesis_core.tabular.evaluation.privacy import enforce_k_anonymity, enforce_l_diversity, k_anonymity
    from genesis_core.tabular.evaluation.quality import column_kinds

    try:
        real, synth, holdout, schema, privacy = _score(args)
        for key in ("dcr_share_closer_to_train", "dcr_share_ideal", "dcr_train_median", "dcr_holdout_median",
                    "nndr_median", "exact_copy_rate", "exact_copy_rate_holdout_baseline", "membership_auc",
                    "reidentification_rate"):
            if key in privacy:
                print(f"{key:<34} {privacy[key]:.4f}")
        for v in privacy.get("verdicts", []):
            print(f"[{v['verdict']}] {v['sentence']}")
        if "k_anonymity" in privacy:
            print(f"k-anonymity {privacy['k_anonymity']}")
        if privacy.get("note"):
            print(privacy["note"])
        if args.enforce_k:
            quasi = _cols(args.quasi_identifiers)
            if not quasi or not args.output:
                raise CLIError("--enforce-k needs --quasi-identifiers and -o")
            released, info = enforce_k_anonymity(synth, quasi, args.enforce_k, column_kinds(schema, synth.columns))
            atomic_write_text(args.output, released.to_csv(index=False))
            after = k_anonymity(released, quasi, _cols(args.sensitive)[0] if _cols(args.sensitive) else None)
            print(f"wrote {args.output}: k={after['k']} after generalising {info['generalised']} and suppressing "
                  f"{info['suppressed_rows']} rows")
        if args.enforce_l:
            quasi, sensitive = _cols(args.quasi_identifiers), _cols(args.sensitive)
            if not quasi or not sensitive or not args.output:
                raise CLIError("--enforce-l needs --quasi-identifiers, --sensitive and -o")
            released, info = enforce_l_diversity(synth, quasi, sensitive[0], args.enforce_l,
                                                 column_kinds(schema, synth.columns))
            atomic_write_text(args.output, released.to_csv(index=False))
            print(f"wrote {args.output}: l={info['l_after']} (was {info['l_before']}) for {sensitive[0]!r} after "
                  f"generalising {info['generalised'] or 'no column'} and suppressing {info['suppressed_rows']} rows "
                  f"in {info['groups_suppressed']} groups")
    except CLIError:
        raise
    except (WorkbenchError, ValueError, KeyError) as exc:
        raise _fail(exc) from exc
    return 0
