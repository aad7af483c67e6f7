"""Related tables: several CSVs joined by keys, synthesised together with SDV's HMASynthesizer.

    tables = read_tables(["customers.csv", "orders.csv"])     # or a folder, or demo:modechoice
    metadata = table_metadata(tables)                         # keys detected by SDV; override with
                                                              #   relationships=["customers.id:orders.customer_id"]
    synth, model = synthesize_tables(tables, metadata)
    report = tables_report(tables, synth, metadata)           # keys resolve, children per parent, each table's quality

A table set whose keys do not join, a parent key that repeats, or files that are not tables get one sentence
before anything is written.
"""

from __future__ import annotations

import html
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from genesis_core.tabular.data.ingest import TableError

Progress = Callable[[float, int, str], None]


def read_tables(sources: list[str]) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """({table name: frame}, warnings) from a folder, several CSV/Parquet paths or `demo:NAME`."""
    from genesis_core.tabular.data.demos import load_demo_tables
    from genesis_core.tabular.data.ingest import read_table

    if len(sources) == 1 and sources[0].startswith("demo:"):
        return load_demo_tables(sources[0][5:]), []
    paths: list[Path] = []
    for s in sources:
        p = Path(s)
        if p.is_dir():
            paths += sorted(q for q in p.iterdir() if q.suffix.lower() in (".csv", ".parquet", ".tsv", ".txt"))
        elif p.exists():
            paths.append(p)
        else:
            raise TableError(f"{s} does not exist.")
    if len(paths) < 2:
        raise TableError(f"related tables need at least two tables; found {len(paths)} in {', '.join(sources)}.")
    tables, notes = {}, []
    for p in paths:
        name = p.stem
        if name in tables:
            raise TableError(f"two files are named {name!r}; each table needs its own name.")
        try:
            frame, info = read_table(p)
        except TableError as exc:
            raise TableError(f"{p.name}: {exc}") from exc
        tables[name] = frame
        notes += [f"{p.name}: {w}" for w in info.warnings]
    return tables, notes


def _parse_relationship(text: str) -> tuple[str, str, str, str]:
    parent, sep, child = text.replace("=", ":").partition(":")
    if not sep or "." not in parent or "." not in child:
        raise TableError(f"relationship {text!r} must read parent_table.key:child_table.foreign_key.")
    pt, pk = parent.strip().split(".", 1)
    ct, fk = child.strip().split(".", 1)
    return pt, pk, ct, fk


def table_metadata(tables: dict[str, pd.DataFrame], relationships: Sequence[str] = ()):
    """SDV metadata with keys and relationships: SDV's detection, or the user's `parent.key:child.fk` list, then
    checked against the data (keys exist, parent keys are unique, foreign keys join)."""
    from sdv.metadata import Metadata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        md = Metadata.detect_from_dataframes(tables)
    if relationships:
        for rel in md.to_dict().get("relationships", []):
            md.remove_relationship(rel["parent_table_name"], rel["child_table_name"])
        for text in relationships:
            pt, pk, ct, fk = _parse_relationship(text)
            for t, c in ((pt, pk), (ct, fk)):
                if t not in tables:
                    raise TableError(f"relationship {text!r}: there is no table {t!r} (tables: {', '.join(tables)}).")
                if c not in tables[t].columns:
                    raise TableError(f"relationship {text!r}: table {t!r} has no column {c!r}.")
            md.update_column(pk, sdtype="id", table_name=pt)
            if md.tables[pt].primary_key != pk:
                md.set_primary_key(pk, table_name=pt)
            if md.tables[ct].primary_key == fk:
                md.tables[ct].primary_key = None
            md.update_column(fk, sdtype="id", table_name=ct)
            md.add_relationship(pt, ct, pk, fk)
    check_joins(tables, md)
    return md


def relationships_of(metadata) -> list[dict[str, str]]:
    return list(metadata.to_dict().get("relationships", []))


def check_joins(tables: dict[str, pd.DataFrame], metadata) -> None:
    rels = relationships_of(metadata)
    if not rels:
        raise TableError(f"no keys join the tables {', '.join(tables)}: SDV found no column of one table that names "
                         "rows of another; give them as parent_table.key:child_table.foreign_key.")
    linked = {r["parent_table_name"] for r in rels} | {r["child_table_name"] for r in rels}
    alone = [t for t in tables if t not in linked]
    if alone:
        raise TableError(f"table(s) {', '.join(alone)} join no other table; give the key as "
                         "parent_table.key:child_table.foreign_key, or leave the file out.")
    for r in rels:
        parent, child = tables[r["parent_table_name"]], tables[r["child_table_name"]]
        pk, fk = r["parent_primary_key"], r["child_foreign_key"]
        if parent[pk].duplicated().any():
            raise TableError(f"{r['parent_table_name']}.{pk} repeats {int(parent[pk].duplicated().sum())} value(s); "
                             "a parent key must name each row once.")
        values = child[fk].dropna()
        if len(values) and not values.isin(set(parent[pk])).any():
            raise TableError(f"the keys do not join: none of the {values.nunique()} values of "
                             f"{r['child_table_name']}.{fk} is a value of {r['parent_table_name']}.{pk}.")


def drop_orphans(tables: dict[str, pd.DataFrame], metadata) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Child rows whose foreign key names no parent row are left out, each such table named in a warning."""
    out, notes = dict(tables), []
    for r in relationships_of(metadata):
        c, p = r["child_table_name"], r["parent_table_name"]
        fk, pk = r["child_foreign_key"], r["parent_primary_key"]
        bad = out[c][fk].notna() & ~out[c][fk].isin(set(out[p][pk]))
        if bad.any():
            notes.append(f"{c}: {int(bad.sum())} row(s) name a {p}.{pk} that does not exist; left out")
            out[c] = out[c][~bad].reset_index(drop=True)
    return out, notes


def synthesize_tables(tables: dict[str, pd.DataFrame], metadata, scale: float = 1.0, seed: int = 0,
                      progress: Progress = lambda d, n, m: None):
    """(synthetic tables, the fitted HMASynthesizer)."""
    import torch
    from sdv.multi_table import HMASynthesizer

    np.random.seed(seed)
    torch.manual_seed(seed)
    progress(0, 2, f"fitting HMA on {len(tables)} tables ({', '.join(f'{k}: {len(v)} rows' for k, v in tables.items())})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = HMASynthesizer(metadata, verbose=False)
        model.fit(tables)
        progress(1, 2, f"sampling at scale {scale:g}")
        np.random.seed(seed)
        synth = model.sample_scale(scale=scale)
    progress(2, 2, "sampled")
    return synth, model


def child_count_similarity(real_parent: pd.Series, real_fk: pd.Series, synth_parent: pd.Series,
                           synth_fk: pd.Series) -> dict[str, float]:
    """1 - KS statistic between the real and synthetic distributions of children per parent (zeros included)."""
    from scipy.stats import ks_2samp

    def counts(parent, fk):
        return fk.value_counts().reindex(parent.to_numpy(), fill_value=0).to_numpy()

    r, s = counts(real_parent, real_fk), counts(synth_parent, synth_fk)
    return {"similarity": float(1 - ks_2samp(r, s).statistic) if len(r) and len(s) else 0.0,
            "real_mean": float(r.mean()) if len(r) else 0.0, "synthetic_mean": float(s.mean()) if len(s) else 0.0}


def tables_report(real: dict[str, pd.DataFrame], synth: dict[str, pd.DataFrame], metadata, seed: int = 0
                  ) -> dict[str, Any]:
    from genesis_core.tabular.data import schema as sch
    from genesis_core.tabular.evaluation.quality import fidelity

    md = metadata.to_dict()
    rels = []
    for r in relationships_of(metadata):
        p, c = r["parent_table_name"], r["child_table_name"]
        pk, fk = r["parent_primary_key"], r["child_foreign_key"]
        fks = synth[c][fk].dropna()
        rels.append({"parent": f"{p}.{pk}", "child": f"{c}.{fk}",
                     "foreign_keys_resolve": float(fks.isin(set(synth[p][pk])).mean()) if len(fks) else 1.0,
                     **{f"children_per_parent_{k}": v for k, v in child_count_similarity(
                         real[p][pk], real[c][fk], synth[p][pk], synth[c][fk]).items()}})
    per_table = []
    for name, frame in real.items():
        ids = [c for c, v in md["tables"][name]["columns"].items() if v.get("sdtype") == "id"]
        cols = [c for c in frame.columns if c not in ids and c in synth[name].columns]
        row: dict[str, Any] = {"table": name, "rows_real": len(frame), "rows_synthetic": len(synth[name])}
        if cols:
            schema = sch.infer_schema(frame[cols])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f = fidelity(sch.prepare(frame[cols], schema), sch.prepare(synth[name][cols], schema), schema, seed=seed)
            row.update(column_shapes=f["column_shapes"], column_pair_trends=f["column_pair_trends"])
            parts = [v for v in (f["column_shapes"], f["column_pair_trends"]) if v is not None]
            row["quality_score"] = float(np.mean(parts)) if parts else None
        per_table.append(row)
    return {"relationships": rels, "tables": per_table, "metadata": md}


def to_html(report: dict[str, Any]) -> str:
    from genesis_core.tabular.evaluation.html import page, table

    summary = html.escape(report.get("meta", {}).get("summary", ""))
    return page("Synthetic related tables", f"<p>{summary}</p><h2>Keys</h2>{table(report['relationships'], spec='.3f')}"
                f"<h2>Each table</h2>{table(report['tables'], spec='.3f')}")
