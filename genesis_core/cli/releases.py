"""`genesis releases list | show | diff | evidence` and `genesis drift`: releases with their lineage, and drift
between two tables (or two releases).

    genesis releases list                       # newest first, with each input's sha256
    genesis releases show REL                   # the whole record, as JSON
    genesis releases diff REL_A REL_B           # what changed: input, schema, generator, config, figures
    genesis releases evidence REL -o ev.html    # compliance evidence (GDPR Recital 26, HIPAA Safe Harbor)
    genesis drift -r reference.csv -c current.csv [--json] [-o drift.html]
    genesis drift -r release:REL_A -c release:REL_B      # the synthetic rows of two releases
"""

from __future__ import annotations

import argparse
import json
import sys

from genesis_core.errors import CLIError
from genesis_core.cli.output import table
from genesis_core.formatting import number
from genesis_core.registry import COMMANDS


@COMMANDS.register("releases")
def add_release_commands(sub) -> None:
    r = sub.add_parser("releases", help="versioned synthetic-data releases and their lineage",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = r.add_subparsers(dest="action", required=True, metavar="ACTION")
    rl = actions.add_parser("list", help="releases, newest first, with each input's sha256",
                            description="Releases of this workspace, newest first.")
    rl.add_argument("--json", action="store_true", help="print the records as JSON")
    rl.add_argument("--input", default="", metavar="SHA256", help="only releases of this input (its sha256)")
    rs = actions.add_parser("show", help="one release's record, as JSON", description="One release's record.")
    rs.add_argument("release", help="a release id (or a unique start of one)")
    rd = actions.add_parser("diff", help="what changed between two releases", description="What changed between "
                            "two releases: input, schema, generator, config, versions, privacy, figures.")
    rd.add_argument("a", help="the first release")
    rd.add_argument("b", help="the second release")
    rd.add_argument("--json", action="store_true", help="print the difference as JSON")
    re_ = actions.add_parser("evidence", help="compliance evidence of a release (never a certificate)",
                             description="What was measured for a release and how it bears on GDPR Recital 26 and "
                                         "HIPAA Safe Harbor; what it does not cover.")
    re_.add_argument("release", help="a release id")
    re_.add_argument("-o", "--output", help="write the evidence as HTML here")
    re_.add_argument("--json", action="store_true", help="print the evidence as JSON")
    r.set_defaults(func=cmd_releases, json=False, input="", output=None)

    d = sub.add_parser("drift", help="has a table drifted from a reference? per-column tests and a classifier test",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("-r", "--reference", required=True, help="CSV/Parquet, demo:NAME, or release:ID (its rows)")
    d.add_argument("-c", "--current", required=True, help="CSV/Parquet, demo:NAME, or release:ID")
    d.add_argument("--alpha", type=float, default=0.05, help="false discovery rate of the column tests (0.05)")
    d.add_argument("--min-effect", type=float, default=0.0,
                   help="also require this effect size to flag a column (default 0: significance alone)")
    d.add_argument("--column-type", action="append", default=[], metavar="COLUMN=KIND",
                   help="override a type inferred on the reference (repeatable)")
    d.add_argument("--json", action="store_true", help="print the report as JSON (its \"drifted\": the columns)")
    d.add_argument("-o", "--output", help="write the report as HTML here")
    d.add_argument("--seed", type=int, default=0, help="random seed of the classifier test")
    d.set_defaults(func=cmd_drift)


def cmd_releases(args: argparse.Namespace) -> int:
    from genesis_core.formatting import format_time
    from genesis_core.tabular.releases.records import diff_releases, get_release, list_releases
    from genesis_core.store.workspace import Workspace

    ws = Workspace()
    if args.action == "list":
        rows, damaged = list_releases(ws, args.input)
        for d in damaged:
            print(f"note: {d}", file=sys.stderr)
        if args.json:
            print(json.dumps(rows, indent=2, default=str))
            return 0
        if not rows:
            print("no releases yet: every synthesis (`genesis generate`, the page, the HTTP API) writes one")
            return 0

        print(table([[r["id"], format_time(r["created"]), f"{r['dataset']} v{r['version']}",
                       r["input"]["sha256"][:12], r["generator"], r["output"].get("rows", ""),
                       number(r["figures"].get("eval/quality_score"), ".3f", "-"),
                       number(r["figures"].get("eval/epsilon"), ".3f", "-"),
                       r["lineage"].get("parent") or "-"] for r in rows],
                     ["RELEASE", "CREATED", "DATASET", "INPUT SHA256", "GENERATOR", "ROWS", "QUALITY", "EPSILON",
                      "PARENT"]))
        return 0
    if args.action == "show":
        print(json.dumps(get_release(ws, args.release), indent=2, default=str))
        return 0
    if args.action == "diff":
        diff = diff_releases(get_release(ws, args.a), get_release(ws, args.b))
        print(json.dumps(diff, indent=2, default=str) if args.json else describe_diff(diff))
        return 0
    from genesis_core.store.files import atomic_write_text
    from genesis_core.tabular.releases.evidence import evidence, to_html

    report = evidence(get_release(ws, args.release))
    if args.output:
        atomic_write_text(args.output, to_html(report))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(report["disclaimer"])
        for r in report["gdpr_recital_26"]:
            value = "not measured" if r["value"] is None else number(r["value"], ".3f", "-")
            print(f"GDPR 26 {r['risk']:<13} {r['measure']:<48} {value:>12}  {r['reading']}")
        print("HIPAA Safe Harbor identifiers found: " + ("; ".join(report["identifiers_found"]) or "none by type or name"))
        for x in report["not_covered"]:
            print(f"not covered: {x}")
        if args.output:
            print(f"evidence: {args.output}")
    return 0


def describe_diff(diff: dict) -> str:
    lines = [f"{diff['a']} -> {diff['b']}: " + ("same input" if diff["same_input"] else "different inputs")
             + ("; the second is the next version of the first" if diff["b_descends_from_a"] else
                "; the first is the next version of the second" if diff["a_descends_from_b"] else "")]
    s = diff["schema"]
    for what in ("added", "removed"):
        if s[what]:
            lines.append(f"columns {what}: {', '.join(s[what])}")
    for r in s["retyped"]:
        lines.append(f"column {r['column']}: {r['a']} -> {r['b']}")
    for c in diff["changes"]:
        lines.append(f"{c['field']}: {c['a']!r} -> {c['b']!r}")
    for f in diff["figures"]:
        if f["change"] is not None and f["change"] != 0:
            lines.append(f"{f['figure']}: {f['a']:.3f} -> {f['b']:.3f} ({f['change']:+.3f})")
    return "\n".join(lines)


def cmd_drift(args: argparse.Namespace) -> int:
    from genesis_core.errors import WorkbenchError, one_sentence
    from genesis_core.store.files import atomic_write_text
    from genesis_core.store.workspace import Workspace
    from genesis_core.tabular.releases.drift import drift_report, to_html
    from genesis_core.tabular.releases.lineage import read_table_ref
    from genesis_core.tabular.evaluation.report import to_json

    ws = Workspace()
    try:
        report = drift_report(read_table_ref(args.reference, ws), read_table_ref(args.current, ws), args.alpha, args.min_effect,
                              args.column_type, seed=args.seed)
    except (WorkbenchError, ValueError, KeyError) as exc:
        raise CLIError(one_sentence(exc)) from exc
    if args.output:
        atomic_write_text(args.output, to_html(report))
    if args.json:
        print(to_json(report))
        return 0
    for r in report["columns"]:
        effect = "-" if r.get("effect") is None else f"{r['effect']:.3f}"
        p = "-" if r.get("p_adjusted") is None else f"{r['p_adjusted']:.3g}"
        print(f"{'DRIFT' if r['drifted'] else 'ok':<6}{r['column']:<28}{r['kind']:<12}{r['test']:<14}p(BH) {p:<10}"
              f"effect {effect:<8}{r['why']}")
    for c in report["columns_removed"]:
        print(f"DRIFT {c}: gone from the current table")
    for c in report["columns_added"]:
        print(f"DRIFT {c}: new in the current table")
    print(report["summary"])
    if args.output:
        print(f"report: {args.output}")
    return 0
