"""MOSTLY AI's open engine (TabularARGN) used as its README shows, for bench/tabular_detection.py: one fit and one
sample in a process of its own, with the bench-only packages on its path (never the workbench's environment):

    .venv/bin/python -m pip install --target .bench-anchor --no-deps -r bench/anchor-requirements.txt
    PYTHONPATH=.bench-anchor .venv/bin/python bench/mostlyai_anchor.py TRAIN.csv OUT.csv --rows N --minutes M --seed S

Reads the training rows from a CSV (written by the bench from the same frame the other generators get), trains
TabularARGN (`mostlyai.engine.TabularARGN`, its defaults: model MOSTLY_AI/Medium, flexible generation) for at most
M minutes of training time, writes N rows. The wall time the bench reports is this whole process: analysis,
encoding, training and sampling, as for every other side.
"""

from __future__ import annotations

import argparse
import warnings

import pandas as pd


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("train")
    p.add_argument("out")
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--minutes", type=float, required=True, help="max_training_time of the engine, in minutes")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    try:
        from mostlyai.engine import TabularARGN
    except ImportError as exc:
        raise SystemExit("mostlyai-engine is not installed for the bench: run `.venv/bin/python -m pip install "
                         "--target .bench-anchor --no-deps -r bench/anchor-requirements.txt` and put "
                         f".bench-anchor on PYTHONPATH ({exc})") from None
    train = pd.read_csv(args.train)
    model = TabularARGN(max_training_time=args.minutes, random_state=args.seed, verbose=0, device="cpu")
    model.fit(train)
    model.sample(n_samples=args.rows).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
