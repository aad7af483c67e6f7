"""The synthetic-data lab against SDV used directly, side by side in one run, on real tables that ship offline.

  quality      SDMetrics' quality score (mean of Column Shapes and Column Pair Trends) of the lab's generator
               and of SDV's same synthesizer called as a user would (its own metadata detection, defaults),
               same epochs, same seed, both scored under the lab's schema; the best of each side per table
  speed        `generate --no-report -m gaussian_copula` vs a script that runs SDV's GaussianCopula on the
               same CSV, each as its own process (interpreter start, imports, read, fit, sample, write)
  privacy      (with --dp) the private generators at epsilon 1 beside non-private GaussianCopula

    .venv/bin/python bench/tabular_lab.py [--tables penguins,fair,anes96,randhie,grunfeld] [--epochs 100]
        [--generators gaussian_copula,tvae,ctgan] [--parts quality,speed,dp]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SDV_SCRIPT = """
import sys, pandas as pd
from sdv.metadata import Metadata
from sdv.single_table import GaussianCopulaSynthesizer
df = pd.read_csv(sys.argv[1])
s = GaussianCopulaSynthesizer(Metadata.detect_from_dataframes({"table": df}))
s.fit({"table": df})
out = s.sample(len(df))
out = next(iter(out.values())) if isinstance(out, dict) else out
out.to_csv(sys.argv[2], index=False)
"""


def load(name: str):
    """Real tables that ship inside packages (offline)."""
    import statsmodels.api as sm

    from genesis_core.tabular.data.demos import load_demo

    if name in ("penguins", "wine", "fair"):
        return load_demo(name)
    if name == "default":  # ISLR's credit card default: 10,000 rows, 4 columns (two yes/no, two amounts)
        from genesis_core.tabular.data.demos import r_dataset

        return r_dataset("ISLR", "Default")
    if name == "randhie":  # RAND health insurance experiment: counts of visits, many zeros
        return sm.datasets.randhie.load_pandas().data.sample(5000, random_state=0).reset_index(drop=True)
    return getattr(sm.datasets, name).load_pandas().data


def quality_rows(tables: list[str], generators: list[str], epochs: int) -> list[dict]:
    from genesis_core.tabular.data import schema as sch
    from genesis_core.tabular.single_table.base import make_generator
    from genesis_core.tabular.single_table.sdv import sdv_used_directly
    from genesis_core.tabular.evaluation.quality import fidelity

    rows = []
    for table in tables:
        raw = load(table)
        schema = sch.infer_schema(raw)
        real = sch.prepare(raw, schema)
        for gen in generators:
            t0 = time.perf_counter()
            ours = make_generator(gen, seed=0, epochs=epochs).fit(raw, schema).sample(len(raw), seed=0)
            t_ours = time.perf_counter() - t0
            t0 = time.perf_counter()
            theirs = sdv_used_directly(raw, gen, seed=0, epochs=epochs)
            t_sdv = time.perf_counter() - t0
            a = fidelity(real, sch.prepare(ours, schema), schema)
            b = fidelity(real, sch.prepare(theirs, schema), schema)
            rows.append({"table": table, "rows": len(raw), "generator": gen, "lab": round(a["quality_score"], 3),
                         "sdv": round(b["quality_score"], 3), "lab_shapes": round(a["column_shapes"], 3),
                         "sdv_shapes": round(b["column_shapes"], 3), "lab_pairs": round(a["column_pair_trends"], 3),
                         "sdv_pairs": round(b["column_pair_trends"], 3), "lab_s": round(t_ours, 1),
                         "sdv_s": round(t_sdv, 1)})
            print(rows[-1], flush=True)
    return rows


def best_of(rows: list[dict]) -> list[dict]:
    out = []
    for table in dict.fromkeys(r["table"] for r in rows):
        mine = [r for r in rows if r["table"] == table]
        lab, sdv = max(mine, key=lambda r: r["lab"]), max(mine, key=lambda r: r["sdv"])
        out.append({"table": table, "lab_best": f"{lab['lab']:.3f} ({lab['generator']})",
                    "sdv_best": f"{sdv['sdv']:.3f} ({sdv['generator']})", "lab_minus_sdv": round(lab["lab"] - sdv["sdv"], 3)})
    return out


def speed_rows(tables: list[str], repeats: int = 3) -> list[dict]:
    rows = []
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with tempfile.TemporaryDirectory() as tmp:
        for table in tables:
            csv = Path(tmp) / f"{table}.csv"
            load(table).to_csv(csv, index=False)
            script = Path(tmp) / "sdv_direct.py"
            script.write_text(SDV_SCRIPT)
            times = {"lab": [], "sdv": []}
            for _ in range(repeats):  # interleaved: the machine's noise falls on both sides
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "genesis_core", "generate", "-i", str(csv), "-o",
                                str(Path(tmp) / "lab.csv"), "-m", "gaussian_copula", "--no-report"], check=True,
                               capture_output=True, cwd=ROOT, env={**env, "GENESIS_HOME": tmp})
                times["lab"].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                subprocess.run([sys.executable, str(script), str(csv), str(Path(tmp) / "sdv.csv")], check=True,
                               capture_output=True, env=env)
                times["sdv"].append(time.perf_counter() - t0)
            lab, sdv = min(times["lab"]), min(times["sdv"])
            rows.append({"table": table, "lab_generate_s": round(lab, 2), "sdv_process_s": round(sdv, 2),
                         "ratio": round(lab / sdv, 2)})
            print(rows[-1], flush=True)
    return rows


def dp_rows(tables: list[str], epsilon: float = 1.0) -> list[dict]:
    from genesis_core.registry import GENERATORS
    from genesis_core.tabular.data import schema as sch
    from genesis_core.tabular.single_table.base import make_generator
    from genesis_core.tabular.evaluation.quality import fidelity

    rows = []
    for table in tables:
        raw = load(table)
        schema = sch.infer_schema(raw)
        real = sch.prepare(raw, schema)
        for gen in ["gaussian_copula", *[n for n in GENERATORS.names() if GENERATORS.get(n).private]]:
            options = {"epsilon": epsilon} if GENERATORS.get(gen).private else {}
            t0 = time.perf_counter()
            g = make_generator(gen, seed=0, epochs=30, **options).fit(raw, schema)
            synth = g.sample(len(raw), seed=0)
            q = fidelity(real, sch.prepare(synth, schema), schema)
            rows.append({"table": table, "generator": gen, "epsilon": epsilon if options else "none",
                         "epsilon_spent": round(g.privacy["epsilon_total"], 3) if options else "-",
                         "quality": round(q["quality_score"], 3), "shapes": round(q["column_shapes"], 3),
                         "pairs": round(q["column_pair_trends"], 3), "seconds": round(time.perf_counter() - t0, 1)})
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tables", default="penguins,fair,anes96,randhie,grunfeld")
    p.add_argument("--generators", default="gaussian_copula,tvae,ctgan")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--speed-tables", default="penguins,fair")
    p.add_argument("--parts", default="quality,speed", help="quality, speed, dp (private generators at epsilon 1)")
    p.add_argument("--dp", action="store_true", help="same as adding dp to --parts")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    tables = args.tables.split(",")
    parts = set(args.parts.split(",")) | ({"dp"} if args.dp else set())
    if "quality" in parts:
        quality = quality_rows(tables, args.generators.split(","), args.epochs)
        report("tabular_quality", quality)
        report("tabular_best", best_of(quality))
    if "speed" in parts:
        report("tabular_speed", speed_rows(args.speed_tables.split(",")))
    if "dp" in parts:
        report("tabular_dp", dp_rows(tables[:3]))


if __name__ == "__main__":
    main()
