"""auto's candidates started from the fork server (torch, pandas, scikit-learn and SDV imported once) beside fresh
interpreters ("spawn"), interleaved: the whole of `select_generator` over three candidates on penguins (5 epochs each,
so that start-up is a visible part of it), and each candidate's seconds from its start to its result.

    .venv/bin/python bench/auto_start.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402

CANDIDATES = ["gaussian_copula", "ctgan", "tvae"]


def one(frame, schema, how: str) -> tuple[float, float]:
    from genesis_core.tabular.single_table import auto

    fork_server = auto.candidate_context
    if how == "spawn":
        auto.candidate_context = lambda: mp.get_context("spawn")
    try:
        t0 = time.perf_counter()
        _, board = auto.select_generator(frame, schema, CANDIDATES, {}, budget_s=120, epochs=5)
        total = time.perf_counter() - t0
    finally:
        auto.candidate_context = fork_server
    assert all(r["status"] == "scored" for r in board), board
    return total, statistics.mean(r["seconds"] for r in board)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    from genesis_core.tabular.data.demos import load_demo
    from genesis_core.tabular.data.schema import infer_schema

    frame = load_demo("penguins")
    schema = infer_schema(frame)
    times: dict[str, list[tuple[float, float]]] = {"spawn": [], "fork server": []}
    for _ in range(args.repeats):
        for how in times:
            times[how].append(one(frame, schema, how))
    rows = []
    for how, runs in times.items():
        totals, each = [t for t, _ in runs], [e for _, e in runs]
        rows.append({"candidates start from": how, "auto, 3 candidates (s)": statistics.median(totals),
                     "min": min(totals), "max": max(totals), "per candidate (s)": statistics.median(each)})
    report("auto_start", rows, {"times": times})


if __name__ == "__main__":
    main()
