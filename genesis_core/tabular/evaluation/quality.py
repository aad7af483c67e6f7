"""How faithful synthetic data is to the real data, as separate figures, each beside its baseline.

  fidelity    SDMetrics' Column Shapes (KSComplement for numbers and dates, TVComplement for categories)
              and Column Pair Trends (CorrelationSimilarity for pairs of numbers, ContingencySimilarity for
              the rest), computed by SDMetrics' own QualityReport, the figures TabSyn and TabDiff publish;
              the quality score is their mean. Ideal: 1.
  detection   C2ST: ROC AUC of a gradient-boosted classifier telling real rows from synthetic rows
              (cross-validated). Ideal: 0.5; baseline: the same classifier on real training rows against
              real held-out rows, when there are any.
  utility     for a target column: train on synthetic, test on real (TSTR) beside train on real, test on
              real (TRTR) and a model that always predicts the majority class (or the mean); macro F1 for a
              classification, R² for a regression; also train on real / test on synthetic (TRTS) and the
              rank correlation of permutation importances between models fit on real and on synthetic rows.

No figure averages the others in: a detection AUC near 1 for every generator would rank nothing.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy import stats

from genesis_core.tabular.data.encoding import TableEncoder, numeric
from genesis_core.tabular.data.schema import ColumnSpec, sdv_metadata

SCORING_ROWS = 20_000  # tables above this are scored on a random subset of this many rows


def column_kinds(schema: list[ColumnSpec], columns) -> dict[str, str]:
    """numerical (numbers and dates) or categorical (categories and booleans), for the metrics."""
    kinds = {c.name: c.kind for c in schema}
    return {c: ("numerical" if kinds.get(c) in ("numerical", "datetime") else "categorical") for c in columns}


def _subsample(df: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    return df.sample(rows, random_state=seed).reset_index(drop=True) if len(df) > rows else df.reset_index(drop=True)


def fidelity(real: pd.DataFrame, synth: pd.DataFrame, schema: list[ColumnSpec], seed: int = 0,
             max_rows: int = SCORING_ROWS) -> dict[str, Any]:
    """Column Shapes and Column Pair Trends of typed frames, with SDMetrics' per-column and per-pair scores."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation notices are not the user's concern
        from sdmetrics.reports.single_table import QualityReport

    cols = [c for c in real.columns if c in synth.columns]
    meta = sdv_metadata(schema, columns=cols).to_dict()["tables"]["table"]
    cols = [c for c in cols if c in meta["columns"]]
    r, s = _subsample(real[cols], max_rows, seed), _subsample(synth[cols], max_rows, seed)
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(r, s, meta, verbose=False)
    props = dict(zip(report.get_properties()["Property"], report.get_properties()["Score"]))
    shapes = report.get_details("Column Shapes")
    pairs = report.get_details("Column Pair Trends")

    def num(v):
        return None if v is None or pd.isna(v) else float(v)

    columns = [{"column": row["Column"], "metric": row["Metric"], "score": num(row["Score"])}
               for _, row in shapes.iterrows()]
    unscored = [(row["Column 1"], row["Column 2"]) for _, row in pairs.iterrows() if pd.isna(row["Score"])]
    own = _pair_scores_without_threshold(r, s, meta, unscored) if unscored else {}
    pair_rows = []
    for _, row in pairs.iterrows():
        key = (row["Column 1"], row["Column 2"])
        meets = row.get("Meets Threshold?", True)  # a nullable boolean: NA when the pair could not be scored
        counted = not pd.isna(meets) and bool(meets) and not pd.isna(row["Score"])
        mine = own.get(key, {})
        pair_rows.append({"a": key[0], "b": key[1], "metric": row["Metric"],
                          "score": num(row["Score"]) if not pd.isna(row["Score"]) else num(mine.get("Score")),
                          "real": num(row.get("Real Correlation", mine.get("Real Correlation"))),
                          "synthetic": num(row.get("Synthetic Correlation", mine.get("Synthetic Correlation"))),
                          "real_association": num(row.get("Real Association")), "counted": counted})
    shape_score, pair_score = num(props.get("Column Shapes")), num(props.get("Column Pair Trends"))
    parts = [v for v in (shape_score, pair_score) if v is not None]
    out = {"column_shapes": shape_score, "column_pair_trends": pair_score,
           "quality_score": float(np.mean(parts)) if parts else None, "columns": columns, "pairs": pair_rows,
           "scored_rows": [len(r), len(s)]}
    if pair_score is None:
        out["column_pair_trends_note"] = _why_no_pair_trends(cols, pair_rows, report)
    return out


def _pair_scores_without_threshold(real: pd.DataFrame, synth: pd.DataFrame, meta: dict,
                                   pairs: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """Each pair's own similarity, also for pairs SDMetrics' report leaves out of its score (their real
    association is below its threshold): SDMetrics' ColumnPairTrends property with no threshold."""
    from sdmetrics.reports.single_table._properties import ColumnPairTrends

    prop = ColumnPairTrends()  # thresholds 0: every pair is scored
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            details = prop._generate_details(real, synth, meta, column_pairs=pairs)
        except Exception:  # a pair that cannot be scored stays without a score; the note says so
            return {}
    return {(row["Column 1"], row["Column 2"]): dict(row) for _, row in details.iterrows()}


def _why_no_pair_trends(cols: list[str], pair_rows: list[dict], report) -> str:
    """Why the report has no Column Pair Trends score, in one sentence (the quality score is then the column
    shapes alone)."""
    if len(cols) < 2:
        return (f"only {len(cols)} modelled column{'s' if len(cols) != 1 else ''} (free text, identifiers and personal "
                "data are scored apart): there is no pair to compare, so the quality score is the column shapes alone.")
    corr = getattr(report, "real_correlation_threshold", 0.5)
    assoc = getattr(report, "real_association_threshold", 0.3)
    scored = sum(p["score"] is not None for p in pair_rows)
    return (f"no pair of columns is associated in the real rows above SDMetrics' thresholds (|correlation| {corr:g} "
            f"for numbers, association {assoc:g} otherwise), so its Column Pair Trends has no score and the quality "
            f"score is the column shapes alone; {scored} of {len(pair_rows)} pairs have their own score below.")


def _balanced(real: pd.DataFrame, other: pd.DataFrame, kinds: dict[str, str], seed: int,
              max_rows: int) -> tuple[TableEncoder, np.ndarray, np.ndarray] | None:
    """The two-sample test's training set: as many rows of each side (at most `max_rows`), encoded by an encoder
    fitted on the real ones; None when fewer than 6 a side."""
    n = min(len(real), len(other), max_rows)
    if n < 6:
        return None
    r, s = real.sample(n, random_state=seed), other.sample(n, random_state=seed)
    enc = TableEncoder(r, kinds)
    return enc, np.vstack([enc(r), enc(s)]), np.r_[np.zeros(n), np.ones(n)]


def _detector(seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=seed, max_iter=100)


def detection_auc(real: pd.DataFrame, other: pd.DataFrame, kinds: dict[str, str], seed: int = 0,
                  max_rows: int = 5000, folds: int = 3) -> float:
    """Cross-validated ROC AUC of telling `real` rows from `other` rows (0.5: indistinguishable): a
    gradient-boosted classifier's out-of-fold probabilities over `folds` folds, on at most `max_rows` of each."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict

    data = _balanced(real, other, kinds, seed, max_rows)
    if data is None:
        return float("nan")
    _, x, y = data
    proba = cross_val_predict(_detector(seed), x, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba))


def held_out_detection_auc(fit_real: pd.DataFrame, fit_other: pd.DataFrame, held_real: pd.DataFrame,
                           held_other: pd.DataFrame, kinds: dict[str, str], seed: int = 0,
                           max_rows: int = 5000) -> float:
    """ROC AUC of a classifier trained to tell `fit_real` rows from `fit_other` rows, scored on rows it never saw:
    `held_real` (real rows the generator never saw either) against `held_other` (more of the generator's rows).
    The classifier learns from every row the generator was fit on (a few hundred on a small table), where a
    cross-validated test over the held-out rows alone learns from a few dozen and finds nothing: both AUCs
    would sit near 0.5 for every generator. Balanced training (at most `max_rows` of each side)."""
    from sklearn.metrics import roc_auc_score

    data = _balanced(fit_real, fit_other, kinds, seed, max_rows)
    if data is None or len(held_real) < 2 or len(held_other) < 2:
        return float("nan")
    enc, x, y = data
    proba = _detector(seed).fit(x, y).predict_proba(np.vstack([enc(held_real), enc(held_other)]))[:, 1]
    return float(roc_auc_score(np.r_[np.zeros(len(held_real)), np.ones(len(held_other))], proba))


def ml_utility(real_train: pd.DataFrame, real_test: pd.DataFrame, synth: pd.DataFrame, target: str,
               kinds: dict[str, str], seed: int = 0) -> dict[str, Any]:
    """TSTR beside TRTR and a constant model, TRTS, and the feature-importance rank correlation."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import f1_score, r2_score

    if target not in kinds:
        raise ValueError(f"target {target!r} is not a synthesised column")
    classification = kinds[target] == "categorical"
    model = (lambda: HistGradientBoostingClassifier(random_state=seed, max_iter=150)) if classification else \
        (lambda: HistGradientBoostingRegressor(random_state=seed, max_iter=150))
    enc = TableEncoder(real_train, {c: k for c, k in kinds.items() if c != target})  # one encoding for all frames

    def encode(df):
        xs = enc(df)
        y = df[target].astype(str).to_numpy() if classification else numeric(df[target]).to_numpy()
        keep = np.ones(len(y), bool) if classification else ~np.isnan(y.astype(float))
        return xs[keep], y[keep]

    def score(y, p):
        return float(f1_score(y, p, average="macro")) if classification else float(r2_score(y, p))

    xtr, ytr = encode(real_train)
    xte, yte = encode(real_test)
    xsy, ysy = encode(synth)
    out: dict[str, Any] = {"target": target, "task": "classification" if classification else "regression",
           "metric": "macro F1" if classification else "R²"}
    if len(np.unique(ytr)) < 2 or len(yte) < 2:
        out["note"] = "the real rows have one value of the target: nothing to predict"
        return out
    if classification:
        majority = pd.Series(ytr).mode().iloc[0]
        out["constant_baseline"] = score(yte, np.full(len(yte), majority, dtype=object))
    else:
        out["constant_baseline"] = score(yte, np.full(len(yte), float(np.mean(ytr))))
    real_model = model().fit(xtr, ytr)
    out["trtr"] = score(yte, real_model.predict(xte))
    out["trts"] = score(ysy, real_model.predict(xsy)) if len(ysy) else None
    if len(np.unique(ysy)) < 2:
        out.update({"tstr": out["constant_baseline"], "importance_rank_corr": None,
                    "note": "the synthetic rows have one value of the target: TSTR is the constant model"})
        return out
    synth_model = model().fit(xsy, ysy)
    out["tstr"] = score(yte, synth_model.predict(xte))
    from sklearn.inspection import permutation_importance

    imp_r = permutation_importance(real_model, xte, yte, n_repeats=3, random_state=seed).importances_mean
    imp_s = permutation_importance(synth_model, xte, yte, n_repeats=3, random_state=seed).importances_mean
    rho = stats.spearmanr(imp_r, imp_s).statistic if len(imp_r) > 1 else np.nan
    out["importance_rank_corr"] = None if np.isnan(rho) else float(rho)
    out["features"] = enc.width
    return out


def quality_report(real_train: pd.DataFrame, synth: pd.DataFrame, schema: list[ColumnSpec],
                   real_holdout: pd.DataFrame | None = None, target: str | None = None, seed: int = 0,
                   tick: Callable[[str], None] = lambda what: None) -> dict[str, Any]:
    """Fidelity, detection and (with a target) utility of typed frames (schema.prepare). `tick(what)` is called
    before each part (progress, and a stop point: it may raise to stop)."""
    cols = [c for c in real_train.columns if c in synth.columns]
    kinds = column_kinds(schema, cols)
    tick("column shapes and pair trends (SDMetrics)")
    out = fidelity(real_train, synth, schema, seed)
    tick("detection: a classifier telling real from synthetic")
    out["c2st_auc"] = detection_auc(real_train[cols], synth[cols], kinds, seed)
    holdout = real_holdout if real_holdout is not None and len(real_holdout) >= 6 else None
    out["c2st_baseline_auc"] = detection_auc(real_train[cols], holdout[cols], kinds, seed) if holdout is not None \
        else None
    if target:
        tick(f"utility: models of {target} trained on synthetic and on real rows")
        if holdout is not None:
            train, test, note = real_train, holdout, "tested on held-out real rows"
        else:  # no rows the generator never saw: test on a part of the real rows (it saw them)
            order = np.random.default_rng(seed).permutation(len(real_train))
            cut = max(1, int(len(order) * 0.7))
            train, test = real_train.iloc[order[:cut]], real_train.iloc[order[cut:]]
            note = "no holdout: tested on 30% of the real rows, which the generator also saw"
        out["utility"] = {**ml_utility(train, test, synth, target, kinds, seed), "test_rows": note}
    return out
