"""How faithful synthetic data is to the real data.

  per column   KS complement (numerical: 1 - Kolmogorov-Smirnov statistic), TV complement (categorical:
               1 - total variation distance) and the chi-squared test's p-value of the synthetic counts
               against the real frequencies
  pairs        correlation similarity (1 - |r_real - r_synth| / 2, Pearson on numerical pairs) and
               contingency similarity (1 - TV distance of the joint table, categorical and binned pairs)
  detection    C2ST: ROC AUC of a gradient-boosted classifier telling real from synthetic (cross-validated);
               0.5 means indistinguishable; reported as detection score = 1 - 2 * |AUC - 0.5|
  ML utility   for a target column: train on synthetic / test on real (TSTR) and train on real / test on
               synthetic (TRTS) against train on real / test on real (TRTR), macro F1 (classification)
               or R² (regression); feature-importance rank correlation (Spearman) between models fit on
               real and on synthetic data
  overall      the mean of column shapes, column pairs and detection scores (and utility ratio when a
               target is given); SDMetrics' own QualityReport score is computed beside it for reference
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from genesis_core.tabular.encoding import TableEncoder, numeric
from genesis_core.tabular.schema import ColumnSpec


def _kinds(schema: list[ColumnSpec], columns) -> dict[str, str]:
    kinds = {c.name: c.kind for c in schema}
    return {c: ("numerical" if kinds.get(c) in ("numerical", "datetime") else "categorical") for c in columns}


def column_scores(real: pd.DataFrame, synth: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    rows = []
    for col, kind in kinds.items():
        if kind == "numerical":
            a, b = numeric(real[col]).dropna(), numeric(synth[col]).dropna()
            score = 1 - stats.ks_2samp(a, b).statistic if len(a) and len(b) else 0.0
            rows.append({"column": col, "kind": kind, "metric": "KS complement", "score": float(score), "chi2_p": None})
        else:
            ra, sb = real[col].astype(str), synth[col].astype(str)
            p, q = ra.value_counts(normalize=True), sb.value_counts(normalize=True)
            cats = p.index.union(q.index)
            tv = 0.5 * float(np.abs(p.reindex(cats, fill_value=0) - q.reindex(cats, fill_value=0)).sum())
            expected = p.reindex(cats, fill_value=1e-9) * len(sb)
            observed = sb.value_counts().reindex(cats, fill_value=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                chi = stats.chisquare(observed, expected * observed.sum() / expected.sum())
            rows.append({"column": col, "kind": kind, "metric": "TV complement", "score": 1 - tv,
                         "chi2_p": float(chi.pvalue)})
    return pd.DataFrame(rows)


def _binned(s: pd.Series, edges=None) -> tuple[pd.Series, Any]:
    x = numeric(s)
    if edges is None:
        edges = np.unique(np.nanquantile(x.dropna(), np.linspace(0, 1, 6))) if x.notna().any() else np.array([0, 1])
    return pd.cut(x, np.concatenate([[-np.inf], edges[1:-1], [np.inf]]), duplicates="drop").astype(str), edges


def pair_scores(real: pd.DataFrame, synth: pd.DataFrame, kinds: dict[str, str], max_columns: int = 30) -> pd.DataFrame:
    cols = list(kinds)[:max_columns]
    rows = []
    for i, a in enumerate(cols):
        for b in cols[i + 1:]:
            if kinds[a] == kinds[b] == "numerical":
                ra = pd.concat([numeric(real[a]), numeric(real[b])], axis=1).dropna()
                sa = pd.concat([numeric(synth[a]), numeric(synth[b])], axis=1).dropna()
                if len(ra) < 3 or len(sa) < 3:
                    continue
                r1, r2 = ra.corr().iloc[0, 1], sa.corr().iloc[0, 1]
                if np.isnan(r1) or np.isnan(r2):
                    continue
                rows.append({"a": a, "b": b, "metric": "correlation similarity", "score": 1 - abs(r1 - r2) / 2,
                             "real": r1, "synthetic": r2})
            else:
                def table(df, ref=None):
                    cols_ = []
                    edges = {}
                    for c in (a, b):
                        if kinds[c] == "numerical":
                            binned, edges[c] = _binned(df[c], None if ref is None else ref[c])
                            cols_.append(binned)
                        else:
                            cols_.append(df[c].astype(str))
                    return pd.crosstab(cols_[0], cols_[1], normalize=True), edges

                t_real, edges = table(real)
                t_syn, _ = table(synth, edges)
                t_real, t_syn = t_real.stack(), t_syn.stack()
                idx = t_real.index.union(t_syn.index)
                tv = 0.5 * float(np.abs(t_real.reindex(idx, fill_value=0) - t_syn.reindex(idx, fill_value=0)).sum())
                rows.append({"a": a, "b": b, "metric": "contingency similarity", "score": 1 - tv, "real": None,
                             "synthetic": None})
    return pd.DataFrame(rows, columns=["a", "b", "metric", "score", "real", "synthetic"])


def detection_auc(real: pd.DataFrame, synth: pd.DataFrame, kinds: dict[str, str], seed: int = 0,
                  max_rows: int = 5000) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import cross_val_predict
    from sklearn.metrics import roc_auc_score

    r = real.sample(min(len(real), max_rows), random_state=seed)
    s = synth.sample(min(len(synth), max_rows), random_state=seed)
    enc = TableEncoder(r, kinds)
    xr, xs = enc(r), enc(s)
    x = np.vstack([xr, xs])
    y = np.r_[np.zeros(len(xr)), np.ones(len(xs))]
    proba = cross_val_predict(HistGradientBoostingClassifier(random_state=seed, max_iter=100), x, y, cv=3,
                              method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba))


def ml_utility(real_train: pd.DataFrame, real_test: pd.DataFrame, synth: pd.DataFrame, target: str,
               kinds: dict[str, str], seed: int = 0) -> dict[str, Any]:
    """TSTR, TRTS and TRTR for `target`, and the feature-importance rank correlation."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import f1_score, r2_score

    if target not in kinds:
        raise ValueError(f"target {target!r} is not a synthesised column")
    classification = kinds[target] == "categorical"
    model = (lambda: HistGradientBoostingClassifier(random_state=seed, max_iter=150)) if classification else \
        (lambda: HistGradientBoostingRegressor(random_state=seed, max_iter=150))
    metric_name = "macro F1" if classification else "R²"

    enc = TableEncoder(real_train, {c: k for c, k in kinds.items() if c != target})  # one encoding for all frames

    def encode(df):
        xs = enc(df)
        y = df[target].astype(str).to_numpy() if classification else numeric(df[target]).to_numpy()
        keep = np.ones(len(y), bool) if classification else ~np.isnan(y.astype(float))
        return xs[keep], y[keep]

    xtr, ytr = encode(real_train)
    xte, yte = encode(real_test)
    xsy, ysy = encode(synth)

    def score(m, x, y):
        p = m.predict(x)
        return float(f1_score(y, p, average="macro")) if classification else float(r2_score(y, p))

    real_model = model().fit(xtr, ytr)
    out = {"target": target, "task": "classification" if classification else "regression", "metric": metric_name,
           "trtr": score(real_model, xte, yte)}
    if len(np.unique(ysy)) < 2 and classification:
        out.update({"tstr": 0.0, "trts": score(real_model, xsy, ysy), "importance_rank_corr": None})
        return out
    synth_model = model().fit(xsy, ysy)
    out["tstr"] = score(synth_model, xte, yte)
    out["trts"] = score(real_model, xsy, ysy)
    from sklearn.inspection import permutation_importance

    imp_r = permutation_importance(real_model, xte, yte, n_repeats=3, random_state=seed).importances_mean
    imp_s = permutation_importance(synth_model, xte, yte, n_repeats=3, random_state=seed).importances_mean
    rho = stats.spearmanr(imp_r, imp_s).statistic if len(imp_r) > 1 else np.nan
    out["importance_rank_corr"] = None if np.isnan(rho) else float(rho)
    out["features"] = enc.width
    return out


def sdmetrics_score(real: pd.DataFrame, synth: pd.DataFrame, schema: list[ColumnSpec]) -> float | None:
    """SDMetrics' own QualityReport score, for reference (None if SDMetrics cannot score this table)."""
    from genesis_core.tabular.schema import sdv_metadata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation notice is not the user's concern
        from sdmetrics.reports.single_table import QualityReport

    meta = sdv_metadata([c for c in schema if c.name in real.columns]).to_dict()["tables"]["table"]
    try:
        report = QualityReport()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report.generate(real, synth[real.columns], meta, verbose=False)
        return float(report.get_score())
    except Exception:
        return None


def quality_report(real_train: pd.DataFrame, synth: pd.DataFrame, schema: list[ColumnSpec],
                   real_test: pd.DataFrame | None = None, target: str | None = None, seed: int = 0) -> dict[str, Any]:
    cols = [c for c in real_train.columns if c in synth.columns]
    kinds = _kinds(schema, cols)
    columns = column_scores(real_train, synth, kinds)
    pairs = pair_scores(real_train, synth, kinds)
    auc = detection_auc(real_train, synth, kinds, seed)
    detection = 1 - 2 * abs(auc - 0.5)
    parts = {"column_shapes": float(columns["score"].mean()),
             "column_pairs": float(pairs["score"].mean()) if len(pairs) else None,
             "detection": detection}
    out: dict[str, Any] = {"columns": columns.to_dict("records"), "pairs": pairs.to_dict("records"),
                           "c2st_auc": auc, "scores": parts}
    if target:
        utility = ml_utility(real_train, real_test if real_test is not None else real_train, synth, target, kinds, seed)
        out["utility"] = utility
        if utility["trtr"] > 0:
            parts["utility"] = float(np.clip(utility["tstr"] / utility["trtr"], 0, 1))
    out["overall"] = float(np.mean([v for v in parts.values() if v is not None]))
    out["sdmetrics_quality"] = sdmetrics_score(real_train, synth, schema)
    return out
