"""Drift tests calibrated on real tables that ship offline: how often two random halves of one table are flagged
(false discoveries: column verdicts and the whole-table classifier test), and how often a real shift is found.

  halves   N random splits of each table into halves; column verdicts flagged / made, classifier tests flagged
  shift    the same halves with one numerical column shifted by 0.25 of its standard deviation in the second half;
           how often that column is flagged (power), and how many other columns are (false discoveries)

    .venv/bin/python bench/drift_calibration.py [--splits 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402
from genesis_core.tabular.data.demos import load_demo  # noqa: E402
from genesis_core.tabular.releases.drift import drift_report  # noqa: E402

SHIFTED = {"penguins": "body_mass_g", "fair": "age", "wine": "alcohol"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--splits", type=int, default=20)
    args = p.parse_args()
    rows = []
    for name, column in SHIFTED.items():
        df = load_demo(name)
        flagged = made = table_flags = found = others = 0
        t0 = time.time()
        for seed in range(args.splits):
            order = np.random.default_rng(seed).permutation(len(df))
            a, b = df.iloc[order[: len(df) // 2]], df.iloc[order[len(df) // 2:]].copy()
            r = drift_report(a, b, seed=seed)
            flagged += len(r["drifted"])
            made += len(r["columns"])
            table_flags += r["table"]["drifted"]
            b[column] = b[column] + 0.25 * df[column].std()
            s = drift_report(a, b, seed=seed)
            found += column in s["drifted"]
            others += len([c for c in s["drifted"] if c != column])
        rows.append({"table": name, "rows": len(df), "columns": df.shape[1], "splits": args.splits,
                     "halves_flagged": f"{flagged}/{made}", "classifier_flagged": f"{table_flags}/{args.splits}",
                     "shifted": column, "shift_found": f"{found}/{args.splits}", "others_flagged": others,
                     "seconds_per_report": (time.time() - t0) / (2 * args.splits)})
    report("drift_calibration", rows)


if __name__ == "__main__":
    main()
