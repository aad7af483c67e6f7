"""Has a table drifted from a reference? Per-column tests chosen by kind, one test for the whole table, and
control of the false discoveries their number would otherwise make.

  numbers, dates   two-sample Kolmogorov–Smirnov test; effect: Wasserstein distance in units of the reference's
                   interquartile range (dates as seconds)
  categories       χ² test of the two samples' counts (categories the reference sees fewer than 5 times pooled);
                   effect: total variation distance
  free text        the KS test of the texts' lengths (their words are not compared)
  every column     the share of missing values: Fisher's exact test; effect: the change in share
  the whole table  a classifier two-sample test (C2ST): a gradient-boosted classifier telling reference rows from
                   current rows, out of fold; its AUC, and the one-sided Mann–Whitney p-value of its scores

The column tests are one family: their p-values are adjusted by Benjamini–Hochberg, and a column has drifted
when one of its adjusted p-values is below `alpha` (and, with `min_effect`, its effect is at least that), so two
random halves of one table flag about `alpha` of the time in all, not `alpha` per test. Identifiers and personal
data are not tested (new values are expected). A column that is gone from the current table, or new in it,
has drifted.
"""

from __future__ import annotations

import html
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from genesis_core.tabular.data import schema as sch

UNTESTED = ("id", "pii")


def _numbers(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(s):
        return (s.dropna().astype("int64") / 1e9).to_numpy(dtype=float)
    return pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)


def _number_test(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    if len(a) < 2 or len(b) < 2:
        return {"test": "KS", "p_value": None, "statistic": None, "effect": None,
                "why": "too few values to compare"}
    with warnings.catch_warnings():  # ties: scipy falls back to the asymptotic p-value, which is what we want
        warnings.simplefilter("ignore", RuntimeWarning)
        ks = stats.ks_2samp(a, b)
    q1, q3 = np.quantile(a, [0.25, 0.75])
    scale = (q3 - q1) or np.std(a) or 1.0
    return {"test": "KS", "statistic": float(ks.statistic), "p_value": float(ks.pvalue),
            "effect": float(stats.wasserstein_distance(a, b) / scale), "effect_name": "Wasserstein / IQR",
            "reference_mean": float(np.mean(a)), "current_mean": float(np.mean(b))}


def _category_test(a: pd.Series, b: pd.Series) -> dict[str, Any]:
    a, b = sch.category_text(a.dropna()), sch.category_text(b.dropna())
    if len(a) < 2 or len(b) < 2:
        return {"test": "χ²", "p_value": None, "statistic": None, "effect": None, "why": "too few values to compare"}
    ca, cb = a.value_counts(), b.value_counts()
    levels = ca.index.union(cb.index)
    ca, cb = ca.reindex(levels, fill_value=0), cb.reindex(levels, fill_value=0)
    tv = 0.5 * float(np.abs(ca / ca.sum() - cb / cb.sum()).sum())
    rare = ca < 5
    if rare.any():  # pooled, so that the χ² approximation holds
        ca = pd.concat([ca[~rare], pd.Series({"(rare)": ca[rare].sum()})])
        cb = pd.concat([cb[~rare], pd.Series({"(rare)": cb[rare].sum()})])
    table = np.vstack([ca.to_numpy(), cb.to_numpy()])
    table = table[:, table.sum(0) > 0]
    if table.shape[1] < 2:
        return {"test": "χ²", "statistic": 0.0, "p_value": 1.0, "effect": tv, "effect_name": "total variation"}
    chi2, p, _, _ = stats.chi2_contingency(table)
    return {"test": "χ²", "statistic": float(chi2), "p_value": float(p), "effect": tv, "effect_name": "total variation",
            "reference_top": str(a.value_counts().index[0]), "current_top": str(b.value_counts().index[0])}


def _missing_test(a: pd.Series, b: pd.Series) -> dict[str, Any]:
    ma, mb = int(a.isna().sum()), int(b.isna().sum())
    p = 1.0 if ma + mb == 0 else float(stats.fisher_exact([[ma, len(a) - ma], [mb, len(b) - mb]]).pvalue)
    return {"missing_reference": ma / max(len(a), 1), "missing_current": mb / max(len(b), 1), "missing_p": p,
            "missing_change": mb / max(len(b), 1) - ma / max(len(a), 1)}


def table_test(reference: pd.DataFrame, current: pd.DataFrame, kinds: dict[str, str], seed: int = 0,
               max_rows: int = 5000) -> dict[str, Any]:
    """The classifier two-sample test of the whole table: a gradient-boosted classifier fit on half of the rows
    (as many of each table) scores the other half; its AUC (0.5: indistinguishable) and the one-sided
    Mann–Whitney p-value of those held-out scores (exact in level: the scored rows were never fit on)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from genesis_core.tabular.data.encoding import TableEncoder

    n = min(len(reference), len(current), max_rows)
    if n < 10:
        return {"test": "C2ST", "auc": None, "p_value": None, "why": "fewer than 10 rows in a table"}
    r, c = reference.sample(n, random_state=seed), current.sample(n, random_state=seed)
    enc = TableEncoder(r, kinds)
    x, y = np.vstack([enc(r), enc(c)]), np.r_[np.zeros(n), np.ones(n)]
    x_fit, x_test, y_fit, y_test = train_test_split(x, y, test_size=0.5, stratify=y, random_state=seed)
    proba = HistGradientBoostingClassifier(random_state=seed, max_iter=100).fit(x_fit, y_fit).predict_proba(x_test)[:, 1]
    p = stats.mannwhitneyu(proba[y_test == 1], proba[y_test == 0], alternative="greater").pvalue
    return {"test": "C2ST", "auc": float(roc_auc_score(y_test, proba)), "p_value": float(p), "rows_each": n}


def _bh(p: list[float]) -> list[float]:
    if not p:
        return []
    return stats.false_discovery_control(np.asarray(p, dtype=float), method="bh").tolist()


def drift_report(reference: pd.DataFrame, current: pd.DataFrame, alpha: float = 0.05, min_effect: float = 0.0,
                 column_types=(), seed: int = 0) -> dict[str, Any]:
    """Drift of `current` from `reference` (frames as read from their files; the schema is inferred on the
    reference, with "column=kind" overrides)."""
    from genesis_core.tabular.pipeline import schema_for
    from genesis_core.tabular.evaluation.quality import column_kinds

    if not 0 < alpha < 1:
        raise ValueError("alpha must lie between 0 and 1")
    schema = schema_for(reference, column_types)
    shared = [c.name for c in schema if c.name in current.columns]
    if not shared:
        from genesis_core.tabular.data.ingest import TableError

        def names(frame):
            cols = [str(c) for c in frame.columns]
            return ", ".join(cols[:5]) + (", …" if len(cols) > 5 else "")

        raise TableError(f"the two tables share no column (reference: {names(reference)}; current: "
                         f"{names(current)}), so there is nothing to compare; choose tables of the same kind.")
    ref = sch.prepare(reference, schema)
    cur = sch.prepare(current[shared], [c for c in schema if c.name in shared])
    rows: list[dict[str, Any]] = []
    pvals: list[float] = []
    owners: list[tuple[int, str]] = []
    for spec in schema:
        if spec.name not in shared:
            continue
        # personal data is left out of the prepared frames (as in the report): its missing share is still compared
        a = ref[spec.name] if spec.name in ref.columns else reference[spec.name]
        b = cur[spec.name] if spec.name in cur.columns else current[spec.name]
        row: dict[str, Any] = {"column": spec.name, "kind": spec.kind, **_missing_test(a, b)}
        if spec.kind in UNTESTED:
            row.update({"test": "none", "p_value": None, "effect": None,
                        "why": "an identifier or personal data: new values are expected"})
        elif spec.kind in ("numerical", "datetime"):
            row.update(_number_test(_numbers(a), _numbers(b)))
        elif spec.kind == "text":
            row.update(_number_test(a.dropna().astype(str).str.len().to_numpy(float),
                                    b.dropna().astype(str).str.len().to_numpy(float)))
            row["test"] = "KS of lengths"
        else:
            row.update(_category_test(a, b))
        for key in ("p_value", "missing_p"):
            if row.get(key) is not None:
                pvals.append(row[key])
                owners.append((len(rows), key))
        rows.append(row)
    for (i, key), adj in zip(owners, _bh(pvals)):
        rows[i]["p_adjusted" if key == "p_value" else "missing_p_adjusted"] = adj
    for row in rows:
        value_hit = row.get("p_adjusted") is not None and row["p_adjusted"] < alpha and (
            row.get("effect") or 0.0) >= min_effect
        missing_hit = row.get("missing_p_adjusted") is not None and row["missing_p_adjusted"] < alpha and abs(
            row["missing_change"]) >= min_effect
        row["drifted"] = bool(value_hit or missing_hit)
        row["why"] = row.get("why") or _why(row, value_hit, missing_hit)
    removed = [c.name for c in schema if c.name not in current.columns]
    added = [str(c) for c in current.columns if c not in {s.name for s in schema}]
    kinds = column_kinds([s for s in schema if s.kind not in (*UNTESTED, "text")], [
        s.name for s in schema if s.name in shared and s.kind not in (*UNTESTED, "text")])
    whole: dict[str, Any] = table_test(ref[list(kinds)], cur[list(kinds)], kinds, seed) if kinds else {
        "test": "C2ST", "auc": None, "p_value": None, "why": "no column to compare"}
    whole["drifted"] = whole.get("p_value") is not None and whole["p_value"] < alpha
    drifted = [r["column"] for r in rows if r["drifted"]] + removed + added
    return {"reference_rows": len(reference), "current_rows": len(current), "alpha": alpha, "min_effect": min_effect,
            "correction": "Benjamini–Hochberg over every column test", "columns": rows, "table": whole,
            "columns_removed": removed, "columns_added": added, "drifted": drifted,
            "columns_compared": len(rows) + len(removed) + len(added),
            "summary": _summary(drifted, whole, len(rows), alpha)}


def _why(row: dict[str, Any], value_hit: bool, missing_hit: bool) -> str:
    parts = []
    if value_hit:
        parts.append(f"{row['test']} p = {row['p_adjusted']:.2g} after correction, {row.get('effect_name', 'effect')}"
                     f" {row['effect']:.3f}")
    if missing_hit:
        parts.append(f"missing share {row['missing_reference']:.1%} -> {row['missing_current']:.1%} "
                     f"(p = {row['missing_p_adjusted']:.2g} after correction)")
    return "; ".join(parts) if parts else "no evidence of drift"


def _summary(drifted: list[str], whole: dict[str, Any], n: int, alpha: float) -> str:
    cols = (f"{len(drifted)} column{'s' if len(drifted) != 1 else ''} drifted ({', '.join(drifted[:8])}"
            f"{', ...' if len(drifted) > 8 else ''})" if drifted else f"no column of {n} drifted")
    if whole.get("auc") is None:
        return cols + f" at a false discovery rate of {alpha:g}."
    verdict = "tells them apart" if whole["drifted"] else "does not tell them apart"
    return (cols + f" at a false discovery rate of {alpha:g}; a classifier {verdict} "
                   f"(AUC {whole['auc']:.3f}, p = {whole['p_value']:.2g}).")


def drift_figure(report: dict[str, Any]):
    """Each tested column's effect size, coloured by whether it drifted."""
    import plotly.graph_objects as go

    rows = [r for r in report["columns"] if r.get("effect") is not None]
    fig = go.Figure(go.Bar(x=[r["column"] for r in rows], y=[r["effect"] for r in rows],
                           marker_color=["#d62728" if r["drifted"] else "#7f7f7f" for r in rows],
                           hovertext=[r["why"] for r in rows]))
    fig.update_layout(title={"text": "Drift per column (red: drifted after correction)<br><sup>effect size: "
                             "Wasserstein / IQR for numbers and dates, total variation for categories</sup>"},
                      yaxis_title="effect size", height=400, margin={"t": 80, "l": 60, "r": 20, "b": 40})
    return fig


def to_html(report: dict[str, Any]) -> str:
    from genesis_core.tabular.evaluation.html import page, table

    fig = drift_figure(report).to_html(full_html=False, include_plotlyjs="inline")
    whole = report["table"]
    return page("Drift report", f"""<p>{html.escape(report['summary'])}</p>
<p>Reference {report['reference_rows']} rows, current {report['current_rows']} rows; {html.escape(report['correction'])}
at α = {report['alpha']:g}. Removed columns: {html.escape(', '.join(report['columns_removed']) or 'none')}; new columns:
{html.escape(', '.join(report['columns_added']) or 'none')}.</p>
<h2>Whole table: classifier two-sample test</h2>{table([whole], ['test', 'auc', 'p_value', 'drifted'])}
<h2>Columns</h2>{table(report['columns'], ['column', 'kind', 'test', 'p_value', 'p_adjusted', 'effect',
                                            'missing_reference', 'missing_current', 'drifted', 'why'],
                        ['column', 'kind', 'test', 'p', 'p (BH)', 'effect', 'missing (ref)', 'missing (cur)',
                         'drifted', 'why'])}
{fig}""")
