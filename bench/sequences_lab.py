"""Synthetic sequences and related tables on real data that ships offline (statsmodels).

  sequences  PAR and TimeGAN on elnino (61 years x 12 months), modechoice (210 travellers x 4 modes, context
             income and party size) and fertility (country sequences of 5-56 years); 20% of the sequences held
             out; each figure beside the same figure for the held-out real sequences (the floor); fit seconds
  tables     HMA on modechoice as two tables (travellers, options): keys resolve, children per parent, each
             table's quality, seconds

    .venv/bin/python bench/sequences_lab.py [--datasets elnino,modechoice,fertility] [--epochs 128]
        [--timegan-epochs 100] [--parts sequences,tables]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402

KEYS = ["column_shapes", "step_marginals", "autocorrelation_similarity", "cross_correlation_similarity",
        "discriminative_score", "tstr_mae"]


def sequence_rows(datasets: list[str], epochs: int, timegan_epochs: int) -> list[dict]:
    from genesis_core.tabular.data.demos import SEQUENCE_DEMOS, load_demo
    from genesis_core.tabular.evaluation.sequences import sequence_report
    from genesis_core.tabular.sequential.generators import make_sequence_generator, prepare_sequences, split_sequences

    rows = []
    for name in datasets:
        _, key, index = SEQUENCE_DEMOS[name]
        frame, spec = prepare_sequences(load_demo(name), key, index)
        train, holdout = split_sequences(frame, spec, 0.2)
        floor = None
        for gen_name, ep in (("par", epochs), ("timegan", timegan_epochs)):
            t0 = time.perf_counter()
            gen = make_sequence_generator(gen_name, epochs=ep).fit(train, spec)
            fit_s = time.perf_counter() - t0
            synth = gen.sample(train[spec.key].nunique())
            rep = sequence_report(train, synth, spec, holdout)
            q, p = rep["quality"], rep["privacy"]
            floor = q.get("reference", floor)
            rows.append({"data": name, "generator": f"{gen_name} ({ep} ep)",
                         **{k: _r(q.get(k)) for k in KEYS}, "trtr_mae": _r(q.get("trtr_mae")),
                         "closer_to_train": _r(p.get("share_closer_to_train")), "ideal": _r(p.get("share_ideal")),
                         "fit_s": round(fit_s, 1)})
            print(rows[-1], flush=True)
        rows.append({"data": name, "generator": "held-out real (floor)", **{k: _r(floor.get(k)) for k in KEYS},
                     "trtr_mae": _r(floor.get("trtr_mae")), "closer_to_train": "-", "ideal": "-", "fit_s": "-"})
    return rows


def table_rows() -> list[dict]:
    from genesis_core.tabular.multi_table.related_tables import read_tables, synthesize_tables, table_metadata, tables_report

    tables, _ = read_tables(["demo:modechoice"])
    t0 = time.perf_counter()
    md = table_metadata(tables)
    synth, _ = synthesize_tables(tables, md)
    seconds = time.perf_counter() - t0
    rep = tables_report(tables, synth, md)
    (rel,) = rep["relationships"]
    return [{"tables": "modechoice (travellers, options)", "foreign_keys_resolve": rel["foreign_keys_resolve"],
             "children_per_parent": _r(rel["children_per_parent_similarity"]),
             **{f"quality_{t['table']}": _r(t["quality_score"]) for t in rep["tables"]}, "fit_sample_s": round(seconds, 1)}]


def _r(v):
    return round(v, 3) if isinstance(v, float) else v


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--datasets", default="elnino,modechoice,fertility")
    p.add_argument("--epochs", type=int, default=128, help="PAR")
    p.add_argument("--timegan-epochs", type=int, default=100)
    p.add_argument("--parts", default="sequences,tables")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    parts = args.parts.split(",")
    if "sequences" in parts:
        report("sequences", sequence_rows(args.datasets.split(","), args.epochs, args.timegan_epochs))
    if "tables" in parts:
        report("related_tables", table_rows())


if __name__ == "__main__":
    main()
