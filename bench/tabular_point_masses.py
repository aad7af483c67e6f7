"""GaussianCopula on tables with many zero-heavy numeric columns (point masses): the lab's generator against SDV's
GaussianCopulaSynthesizer used directly, each fit + sample in its own process, CPU seconds (user + system of the
process and its threads) and wall seconds, interleaved repeats, the median of each side and the ratio.

  randhie    RAND health insurance experiment (statsmodels, real): 20,190 rows, counts and costs, 24-99% zeros
  wide_zero  24 numeric columns, 8,000 rows, 60% exact zeros each, the rest log-normal and correlated (generated)

    .venv/bin/python bench/tabular_point_masses.py [--repeats 3] [--tables randhie,wide_zero]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIT = """
import sys, warnings
warnings.filterwarnings("ignore")
import pandas as pd
sys.path.insert(0, {root!r})
raw = pd.read_csv(sys.argv[1])
if sys.argv[2] == "lab":
    from genesis_core.tabular import schema as sch
    from genesis_core.tabular.single_table.base import make_generator
    make_generator("gaussian_copula", seed=0).fit(raw, sch.infer_schema(raw)).sample(len(raw))
else:
    from genesis_core.tabular.single_table.base import sdv_used_directly
    sdv_used_directly(raw, "gaussian_copula")
"""


def table(name: str):
    import numpy as np
    import pandas as pd
    import statsmodels.api as sm

    if name == "randhie":
        return sm.datasets.randhie.load_pandas().data
    rng = np.random.default_rng(0)
    n = 8000
    base = rng.normal(size=n)
    return pd.DataFrame({f"c{i}": np.where(rng.random(n) < 0.6, 0.0, np.round(np.exp(base + rng.normal(size=n)), 2))
                         for i in range(24)})


def run_once(script: Path, csv: Path, side: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(script), str(csv), side], check=True, capture_output=True,
                   env={**os.environ, "PYTHONWARNINGS": "ignore"})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", default="randhie,wide_zero", help="comma-separated: randhie, wide_zero")
    p.add_argument("--repeats", type=int, default=3, help="interleaved runs of each side per table")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "fit.py"
        script.write_text(FIT.format(root=str(ROOT)))
        for name in args.tables.split(","):
            csv = Path(tmp) / f"{name}.csv"
            frame = table(name)
            frame.to_csv(csv, index=False)
            times = {"lab": [], "sdv": []}
            for _ in range(args.repeats):  # interleaved: the machine's noise falls on both sides
                for side in ("lab", "sdv"):
                    times[side].append(run_once(script, csv, side))
            cpu = {k: statistics.median(t[0] for t in v) for k, v in times.items()}
            wall = {k: statistics.median(t[1] for t in v) for k, v in times.items()}
            ratios = [a[0] / b[0] for a, b in zip(times["lab"], times["sdv"])]
            rows.append({"table": name, "rows": len(frame), "columns": frame.shape[1],
                         "lab_cpu_s": round(cpu["lab"], 2), "sdv_cpu_s": round(cpu["sdv"], 2),
                         "cpu_ratio": round(cpu["lab"] / cpu["sdv"], 2),
                         "ratio_range": f"{min(ratios):.2f}-{max(ratios):.2f}",
                         "lab_wall_s": round(wall["lab"], 2), "sdv_wall_s": round(wall["sdv"], 2)})
            print(rows[-1], flush=True)
    report("tabular_point_masses", rows, {"repeats": args.repeats})


if __name__ == "__main__":
    main()
