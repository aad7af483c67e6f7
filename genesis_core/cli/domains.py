"""`genesis domain`: realistic rows without data of one's own, from generators fitted on real public tables
(genesis_core/tabular/domains.py).

    genesis domain list                                                  # domains, templates, their figures
    genesis domain healthcare -t patient_cohort -n 1000 -o patients.csv
    genesis domain finance -t credit_applications -n 500 -o credit.csv --condition "card=yes@50%"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genesis_core.registry import COMMANDS


@COMMANDS.register("domain")
def add_domain_commands(sub) -> None:
    p = sub.add_parser("domain", help="rows from a domain template (healthcare, finance): generators fitted on "
                                      "real public tables; `domain list` shows them", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("domain", help="list, or a domain: healthcare, finance")
    p.add_argument("-t", "--template", default="", help="the domain's template (see `domain list`)")
    p.add_argument("-n", "--rows", type=int, default=1000, help="rows to write (default 1000)")
    p.add_argument("-o", "--output", default="", help="the CSV to write")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same rows)")
    p.add_argument("--condition", action="append", default=[], metavar="COLUMN=VALUE[@SHARE]",
                   help="draw rows given a value (repeatable), as `generate --condition`")
    p.set_defaults(func=cmd_domain)


def cmd_domain(args: argparse.Namespace) -> int:
    from genesis_core.errors import WorkbenchError
    from genesis_core.tabular import domains

    def fail(message: str) -> int:
        print(f"error: {message}", file=sys.stderr)
        return 2

    if args.domain == "list":
        for row in domains.catalog():
            head = f"{row['domain']} -t {row['template']}: {row['about']} ({row['source']})"
            if row["status"] != "ready":
                print(f"{head}\n    not available: {row['status']}")
                continue
            print(f"{head}\n    {row['rows']} rows, {row['columns']} columns; quality {row['quality']:.3f}, "
                  f"detection AUC {row['detection_auc']:.3f} (held-out real rows {row['held_out_detection_auc']:.3f}), "
                  f"DCR share {row['dcr_share']:.3f} (ideal {row['dcr_share_ideal']:.3f})")
        return 0
    try:
        template = domains.template(args.domain, args.template)
        if not args.output:
            return fail("give -o FILE.csv to write the rows to")
        frame, met = domains.sample_template(template, args.rows, args.seed, tuple(args.condition))
    except (WorkbenchError, ValueError, KeyError) as exc:
        return fail(str(exc))
    from genesis_core.store.files import atomic_write_text

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, frame.to_csv(index=False))
    print(f"wrote {out} ({len(frame)} rows of {template.key}, seed {args.seed})")
    for c in met:
        print(f"condition {c['condition']}: {c['rows_met']} of {c['rows_asked']} rows drawn given it hold it")
    return 0
