"""Quality and privacy of every generator on the demo datasets (CPU), through the same pipeline as the page:
50% of the rows held out for the privacy figures, synthetic rows as many as the training rows.

    .venv/bin/python bench/tabular_lab.py [--demos penguins,wine,fair] [--epochs 150]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402
from genesis_core.config import from_dict  # noqa: E402
from genesis_core.tabular.task import TabularSynthesisConfig, synthesize  # noqa: E402

TARGETS = {"penguins": "species", "wine": "cultivar", "fair": "affairs"}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--demos", default="penguins,wine,fair")
    p.add_argument("--epochs", type=int, default=150)
    args = p.parse_args()
    rows = []
    for demo in args.demos.split(","):
        for gen, eps in [("gaussian_copula", 0), ("tvae", 0), ("ctgan", 0), ("dp_tvae", 1.0), ("dp_tvae", 5.0)]:
            if demo == "fair" and gen == "ctgan":
                continue  # minutes per fit on 2 CPU cores; run it with --demos fair on a bigger machine
            cfg = from_dict(TabularSynthesisConfig, {"source": f"demo:{demo}", "generator": gen, "epsilon": eps,
                                                     "epochs": args.epochs if gen != "dp_tvae" else 30,
                                                     "target": TARGETS[demo]})
            t0 = time.perf_counter()
            r = synthesize(cfg, Path(tempfile.mkdtemp()))
            q, pr = r["quality"], r["privacy"]
            u = q.get("utility", {})
            rows.append({"demo": demo, "generator": gen, "epsilon": pr["dp"].get("epsilon_total", "-"),
                         "overall": round(q["overall"], 3), "sdmetrics": round(q["sdmetrics_quality"] or float("nan"), 3),
                         "c2st_auc": round(q["c2st_auc"], 3), "trtr": round(u.get("trtr", float("nan")), 3),
                         "tstr": round(u.get("tstr", float("nan")), 3), "mia_auc": round(pr["membership_auc"], 3),
                         "dcr_share": round(pr["dcr_share_closer_to_train"], 3),
                         "exact_copies": round(pr["exact_copy_rate"], 3), "seconds": round(time.perf_counter() - t0, 1)})
            print(rows[-1], flush=True)
    report("tabular_lab", rows)


if __name__ == "__main__":
    main()
