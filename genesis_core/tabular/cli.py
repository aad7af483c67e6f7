"""`python -m genesis_core generate | report | privacy-audit`: the synthetic-data lab in the terminal.

    python -m genesis_core generate -i data.csv -o synth.csv -m auto -n 1000 [--epsilon 1] [--target COL]
    python -m genesis_core report -r real.csv -s synth.csv [--holdout h.csv] [--target COL] \\
        [--sensitive COLS] [--quasi-identifiers COLS] -o report.html
    python -m genesis_core privacy-audit -r real.csv -s synth.csv --holdout h.csv --quasi-identifiers a,b \\
        [--sensitive c] [--enforce-k 5 -o released.csv]

-i/-r also take demo:penguins, demo:wine or demo:fair (datasets that ship inside packages).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path


def _cols(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def add_tabular_commands(sub) -> None:
    g = sub.add_parser("generate", help="fit a generator to a table and write synthetic rows (+ report)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("-i", "--input", required=True)
    g.add_argument("-o", "--output", required=True, help="synthetic CSV; the report goes beside it")
    g.add_argument("-m", "--model", default="auto", choices=["auto", "gaussian_copula", "ctgan", "tvae", "dp_tvae"])
    g.add_argument("-n", "--rows", type=int, default=0)
    g.add_argument("--epsilon", type=float, default=0.0)
    g.add_argument("--epochs", type=int, default=300)
    g.add_argument("--target", default="")
    g.add_argument("--sensitive", default="")
    g.add_argument("--quasi-identifiers", default="")
    g.add_argument("--seed", type=int, default=0)
    g.set_defaults(func=cmd_generate)
    r = sub.add_parser("report", help="quality and privacy report of a synthetic table against the real one",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for p in (r,):
        p.add_argument("-r", "--real", required=True)
        p.add_argument("-s", "--synthetic", required=True)
        p.add_argument("--holdout", help="real rows the generator never saw (for DCR share and membership AUC)")
        p.add_argument("--target", default="")
        p.add_argument("--sensitive", default="")
        p.add_argument("--quasi-identifiers", default="")
        p.add_argument("-o", "--output", required=True, help="report.html (a .json is written beside it)")
    r.set_defaults(func=cmd_report)
    a = sub.add_parser("privacy-audit", help="privacy figures of a synthetic table; optional k-anonymity enforcement",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("-r", "--real", required=True)
    a.add_argument("-s", "--synthetic", required=True)
    a.add_argument("--holdout")
    a.add_argument("--quasi-identifiers", default="")
    a.add_argument("--sensitive", default="")
    a.add_argument("--enforce-k", type=int, default=0, help="generalise and suppress until every group has k rows")
    a.add_argument("-o", "--output", help="with --enforce-k: the released CSV")
    a.set_defaults(func=cmd_audit)


def _load(source: str, schema=None):
    from genesis_core.tabular import schema as sch
    from genesis_core.tabular.task import load_input

    raw = load_input(source)
    schema = schema or sch.infer_schema(raw)
    return sch.prepare(raw, [c for c in schema if c.name in raw.columns]), schema


def _errors():
    from genesis_core.tabular.generators import GeneratorError
    from genesis_core.tabular.ingest import TableError

    return (TableError, GeneratorError, ValueError, KeyError)


def cmd_generate(args: argparse.Namespace) -> int:
    from genesis_core.cli import CLIError
    from genesis_core.config import from_dict
    from genesis_core.tabular.task import TabularSynthesisConfig, synthesize

    try:
        cfg = from_dict(TabularSynthesisConfig, {
            "source": args.input if args.input.startswith("demo:") else str(Path(args.input).resolve()),
            "generator": args.model, "rows": args.rows, "epsilon": args.epsilon, "epochs": args.epochs,
            "target": args.target, "sensitive": _cols(args.sensitive),
            "quasi_identifiers": _cols(args.quasi_identifiers), "trainer": {"seed": args.seed}})
        out = Path(args.output)
        with tempfile.TemporaryDirectory() as tmp:
            def progress(done, total, message):
                print(f"[{done / total:4.0%}] {message}", file=sys.stderr, flush=True)

            report = synthesize(cfg, Path(tmp), progress)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(Path(tmp) / "synthetic.csv"), out)
            for name in ("report.html", "report.json"):
                shutil.move(str(Path(tmp) / name), out.with_suffix("." + name.replace("report.", "report.")))
    except _errors() as exc:
        raise CLIError(str(exc).strip().splitlines()[0]) from exc
    m, q = report["meta"], report["quality"]
    print(f"wrote {out} ({m['rows_synthetic']} rows, {m['generator']}: {m['reason']}); overall quality "
          f"{q['overall']:.3f}, membership AUC {report['privacy'].get('membership_auc', float('nan')):.3f}")
    return 0


def _report(args, need_output=True):
    from genesis_core.tabular.privacy import privacy_report
    from genesis_core.tabular.quality import _kinds, quality_report

    real, schema = _load(args.real)
    synth, _ = _load(args.synthetic, schema)
    holdout = _load(args.holdout, schema)[0] if args.holdout else None
    missing = [c for c in real.columns if c not in synth.columns]
    if missing:
        raise ValueError(f"the synthetic table lacks column(s) {', '.join(missing)}")
    kinds = _kinds(schema, real.columns)
    privacy = privacy_report(real, holdout, synth[real.columns], kinds, _cols(args.quasi_identifiers), _cols(args.sensitive))
    return real, synth, schema, kinds, privacy, quality_report


def cmd_report(args: argparse.Namespace) -> int:
    from genesis_core.cli import CLIError
    from genesis_core.tabular.report import to_html, to_json

    try:
        real, synth, schema, kinds, privacy, quality_report = _report(args)
        holdout = _load(args.holdout, schema)[0] if args.holdout else None
        quality = quality_report(real, synth[real.columns], schema, holdout, args.target or None)
        report = {"meta": {"summary": f"{args.synthetic} against {args.real}"}, "quality": quality, "privacy": privacy}
        out = Path(args.output)
        out.write_text(to_html(report, real, synth, kinds), encoding="utf-8")
        out.with_suffix(".json").write_text(to_json(report))
    except _errors() as exc:
        raise CLIError(str(exc).strip().splitlines()[0]) from exc
    print(f"wrote {out} and {out.with_suffix('.json')}: overall quality {quality['overall']:.3f} "
          f"(SDMetrics {quality['sdmetrics_quality'] if quality['sdmetrics_quality'] is not None else 'n/a'})")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from genesis_core.cli import CLIError
    from genesis_core.tabular.privacy import enforce_k_anonymity, k_anonymity

    try:
        real, synth, schema, kinds, privacy, _ = _report(args)
        for key in ("dcr_share_closer_to_train", "dcr_train_median", "dcr_holdout_median", "nndr_median",
                    "exact_copy_rate", "exact_copy_rate_holdout_baseline", "membership_auc", "reidentification_rate"):
            if key in privacy:
                print(f"{key:<28} {privacy[key]:.4f}")
        for row in privacy.get("attribute_inference", []):
            print(f"attribute inference {row['column']}: {row['metric']} {row['attack']:.3f} (baseline {row['baseline']:.3f})")
        if "k_anonymity" in privacy:
            print(f"k-anonymity {privacy['k_anonymity']}")
        if privacy.get("note"):
            print(privacy["note"])
        if args.enforce_k:
            quasi = _cols(args.quasi_identifiers)
            if not quasi or not args.output:
                raise CLIError("--enforce-k needs --quasi-identifiers and -o")
            released, info = enforce_k_anonymity(synth, quasi, args.enforce_k, kinds)
            released.to_csv(args.output, index=False)
            after = k_anonymity(released, quasi, _cols(args.sensitive)[0] if _cols(args.sensitive) else None)
            print(f"wrote {args.output}: k={after['k']} after generalising {info['generalised']} and suppressing "
                  f"{info['suppressed_rows']} rows")
    except _errors() as exc:
        raise CLIError(str(exc).strip().splitlines()[0]) from exc
    return 0
