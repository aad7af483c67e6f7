"""How private a synthetic release is, measured against the training rows and a held-out set of real rows
the generator never saw.

Distances: rows are encoded once (tabular/data/encoding.py, fitted on the training rows) and searched exactly with
scikit-learn's NearestNeighbors.

  dcr                 distance from each synthetic row to its closest training row and closest holdout row;
  dcr share           SDMetrics' DCROverfittingProtection: the share of synthetic rows closer to a training
                      row than to any holdout row; ideal train / (train + holdout)
  nndr                nearest / second-nearest training distance ratio per synthetic row (near 0 = copied)
  exact copies        share of synthetic rows identical to a training row, beside the same share for the
                      holdout rows (tables with few distinct rows repeat themselves without any copying)
  membership AUC      attack score = -(distance to the closest synthetic row); AUC of telling training rows
                      from holdout rows (0.5 = no membership signal)
  attribute inference for each sensitive column: accuracy (or R²) of predicting it for holdout rows from the
                      quasi-identifiers through the nearest synthetic row, beside the majority baseline
  re-identification   share of training rows whose quasi-identifier combination is unique in the training data
                      and appears exactly once in the synthetic release, with the same sensitive value if one
                      is named
  k-anonymity         smallest group size of the release over the quasi-identifiers; l-diversity the smallest
                      number of distinct sensitive values in a group; `enforce_k_anonymity` generalises numbers
                      into quantile bins and suppresses rows of groups smaller than k
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from genesis_core.tabular.data.encoding import TableEncoder, numeric
from genesis_core.tabular.data.schema import ColumnSpec, sdv_metadata

DCR_ROWS = 2000  # SDMetrics' DCR compares every pair of rows: larger sets are drawn down to this size


def nearest(queries: np.ndarray, reference: np.ndarray, k: int = 2) -> np.ndarray:
    """Exact Euclidean distances to the k nearest reference rows, (n, k) (scikit-learn's NearestNeighbors)."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(reference))
    index = NearestNeighbors(n_neighbors=k).fit(reference)
    return index.kneighbors(queries, return_distance=True)[0]


def dcr_share(train: pd.DataFrame, holdout: pd.DataFrame, synth: pd.DataFrame, schema: list[ColumnSpec],
              seed: int = 0, max_rows: int = DCR_ROWS) -> dict[str, Any]:
    """Share of synthetic rows closer to a training row than to any holdout row, by SDMetrics'
    DCROverfittingProtection. Ideal: train / (train + holdout) rows (each set drawn to `max_rows` rows when
    larger, and the ideal is then 0.5)."""
    import warnings

    from sdmetrics.single_table import DCROverfittingProtection

    cols = [c for c in train.columns if c in synth.columns]
    meta = sdv_metadata(schema, columns=cols).to_dict()
    sizes = (len(train), len(holdout), len(synth))
    subsample = min(sizes) if max(sizes) > max_rows else None
    subsample = min(subsample, max_rows) if subsample else None
    np.random.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = DCROverfittingProtection.compute_breakdown(train[cols], synth[cols], holdout[cols], meta, "table",
                                                            num_rows_subsample=subsample)
    ideal = 0.5 if subsample else len(train) / (len(train) + len(holdout))
    return {"dcr_share_closer_to_train": float(result["synthetic_data_percentages"]["closer_to_training"]),
            "dcr_share_ideal": float(ideal), "dcr_overfitting_protection": float(result["score"]),
            "dcr_rows": subsample or "all"}


def dcr(synth_x: np.ndarray, train_x: np.ndarray, holdout_x: np.ndarray) -> dict[str, Any]:
    """Distances of each synthetic row to its closest training and holdout rows, and the NNDR."""
    d_train = nearest(synth_x, train_x, 2)
    d_hold = nearest(synth_x, holdout_x, 1)[:, 0]
    nndr = d_train[:, 0] / np.maximum(d_train[:, 1], 1e-12) if d_train.shape[1] > 1 else np.ones(len(d_train))
    return {"dcr_train_median": float(np.median(d_train[:, 0])), "dcr_holdout_median": float(np.median(d_hold)),
            "nndr_median": float(np.median(nndr)), "nndr_p05": float(np.quantile(nndr, 0.05)),
            "dcr_train": d_train[:, 0], "dcr_holdout": d_hold}


def closer_than_unseen(train_x: np.ndarray, holdout_x: np.ndarray, synth_x: np.ndarray,
                       quantile: float = 0.05) -> dict[str, float]:
    """How many synthetic rows sit closer to a training row than real rows the generator never saw usually do:
    the share of synthetic rows whose distance to the closest training row is at most the `quantile` of the
    held-out rows' own distances, beside the held-out rows' share at that distance (`quantile`, or more where
    real rows repeat a training row exactly: the distance is then 0 for many of them). A generator that does not
    copy sits near the held-out share, within `noise` (three standard errors of the difference of the two
    shares: a few dozen held-out rows make it large); copies sit at 1."""
    d_hold = nearest(holdout_x, train_x, 1)[:, 0]
    d_synth = nearest(synth_x, train_x, 1)[:, 0]
    threshold = float(np.quantile(d_hold, quantile))
    held = float(np.mean(d_hold <= threshold))
    noise = 3.0 * float(np.sqrt(held * (1.0 - held) * (1.0 / len(d_hold) + 1.0 / max(len(d_synth), 1))))
    return {"synthetic": float(np.mean(d_synth <= threshold)), "held_out": held, "distance": threshold,
            "noise": noise}


def membership_auc(train_x: np.ndarray, holdout_x: np.ndarray, synth_x: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    n = min(len(train_x), len(holdout_x))
    rng = np.random.default_rng(0)
    members = train_x[rng.permutation(len(train_x))[:n]]
    outsiders = holdout_x[rng.permutation(len(holdout_x))[:n]]
    score = -np.r_[nearest(members, synth_x, 1)[:, 0], nearest(outsiders, synth_x, 1)[:, 0]]
    return float(roc_auc_score(np.r_[np.ones(n), np.zeros(n)], score))


def attribute_inference(holdout: pd.DataFrame, synth: pd.DataFrame, quasi: list[str], sensitive: str,
                        kinds: dict[str, str]) -> dict[str, Any]:
    qkinds = {c: kinds[c] for c in quasi}
    from sklearn.neighbors import NearestNeighbors

    enc = TableEncoder(synth, qkinds)
    idx = NearestNeighbors(n_neighbors=1).fit(enc(synth)).kneighbors(enc(holdout), return_distance=False)[:, 0]
    guess = synth[sensitive].to_numpy()[idx]
    truth = holdout[sensitive].to_numpy()
    if kinds[sensitive] == "categorical":
        acc = float(np.mean(pd.Series(guess).astype(str).to_numpy() == pd.Series(truth).astype(str).to_numpy()))
        base = float(holdout[sensitive].astype(str).value_counts(normalize=True).iloc[0])
        return {"column": sensitive, "metric": "accuracy", "attack": acc, "baseline": base}
    g, t = numeric(pd.Series(guess)).to_numpy(), numeric(pd.Series(truth)).to_numpy()
    ok = ~(np.isnan(g) | np.isnan(t))
    ss = np.sum((t[ok] - t[ok].mean()) ** 2)
    r2 = float(1 - np.sum((t[ok] - g[ok]) ** 2) / ss) if ss > 0 else 0.0
    return {"column": sensitive, "metric": "R²", "attack": r2, "baseline": 0.0}


def _groups(df: pd.DataFrame, quasi: list[str]) -> pd.Series:
    return df[quasi].astype(str).agg("|".join, axis=1)


def reidentification_rate(train: pd.DataFrame, synth: pd.DataFrame, quasi: list[str],
                          sensitive: str | None = None) -> float:
    keys_t, keys_s = _groups(train, quasi), _groups(synth, quasi)
    unique_t = keys_t[keys_t.map(keys_t.value_counts()) == 1]
    counts_s = keys_s.value_counts()
    hit = unique_t[unique_t.map(counts_s).fillna(0) == 1]
    if sensitive and len(hit):
        synth_value = dict(zip(keys_s, synth[sensitive].astype(str)))
        hit = hit[[synth_value.get(k) == v for k, v in zip(hit, train.loc[hit.index, sensitive].astype(str))]]
    return float(len(hit) / max(1, len(train)))


def k_anonymity(df: pd.DataFrame, quasi: list[str], sensitive: str | None = None) -> dict[str, Any]:
    if not len(df):
        return {"k": 0, "l": 0, "groups": 0}
    keys = _groups(df, quasi)
    sizes = keys.value_counts()
    out = {"k": int(sizes.min()), "groups": int(len(sizes)), "rows_in_groups_below_5": int(sizes[sizes < 5].sum())}
    if sensitive:
        out["l"] = int(df.groupby(keys)[sensitive].nunique(dropna=False).min())
    return out


def _generalise(df: pd.DataFrame, quasi: list[str], kinds: dict[str, str], bins: int) -> pd.DataFrame:
    """Numerical quasi-identifiers replaced by their quantile bin ("(30.0, 42.0]")."""
    out = df.copy()
    for col in quasi:
        if kinds.get(col) == "numerical":
            x = numeric(out[col])
            edges = np.unique(np.nanquantile(x.dropna(), np.linspace(0, 1, bins + 1))) if x.notna().any() else [0, 1]
            out[col] = pd.cut(x, edges, include_lowest=True, duplicates="drop").astype(str)
    return out


def enforce_l_diversity(df: pd.DataFrame, quasi: list[str], sensitive: str, l_min: int, kinds: dict[str, str],
                        bins: int = 5) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each group of rows sharing the quasi-identifiers holds at least `l_min` distinct values of `sensitive`
    (missing counts as a value): numerical quasi-identifiers are generalised into quantile bins, then the rows
    of groups still below l are suppressed. Returns the released rows and what was changed."""
    from genesis_core.errors import WorkbenchError

    distinct = df[sensitive].nunique(dropna=False)
    if l_min > distinct:
        raise WorkbenchError(f"{sensitive!r} has {distinct} distinct values in all, so no group can hold {l_min}: "
                             f"l-diversity of {l_min} is impossible")
    out = _generalise(df, quasi, kinds, bins)
    keys = _groups(out, quasi)
    per_group = out.groupby(keys)[sensitive].nunique(dropna=False)
    low = per_group[per_group < l_min]
    keep = ~keys.isin(low.index)
    released = out[keep.values].reset_index(drop=True)
    after = k_anonymity(released, quasi, sensitive) if len(released) else {"l": 0}
    return released, {"generalised": [c for c in quasi if kinds.get(c) == "numerical"], "bins": bins,
                      "groups_suppressed": int(len(low)), "suppressed_rows": int((~keep).sum()),
                      "l_before": int(df.groupby(_groups(df, quasi))[sensitive].nunique(dropna=False).min()),
                      "l_after": int(after.get("l", 0))}


def enforce_k_anonymity(df: pd.DataFrame, quasi: list[str], k: int, kinds: dict[str, str],
                        bins: int = 5) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Generalise numerical quasi-identifiers into quantile bins, then suppress the rows of groups still smaller
    than k."""
    out = _generalise(df, quasi, kinds, bins)
    keys = _groups(out, quasi)
    keep = keys.map(keys.value_counts()) >= k
    suppressed = int((~keep).sum())
    return out[keep.values].reset_index(drop=True), {"generalised": [c for c in quasi if kinds.get(c) == "numerical"],
                                                      "bins": bins, "suppressed_rows": suppressed}


def privacy_report(train: pd.DataFrame, holdout: pd.DataFrame | None, synth: pd.DataFrame,
                   schema: list[ColumnSpec], quasi_identifiers: Sequence[str] = (), sensitive: Sequence[str] = (),
                   dp_statement: dict | None = None, seed: int = 0,
                   tick: Callable[[str], None] = lambda what: None) -> dict[str, Any]:
    """Privacy figures of typed frames (schema.prepare); those that need rows the generator never saw are
    computed only with a holdout, and say so otherwise."""
    from genesis_core.tabular.evaluation.quality import column_kinds

    cols = [c for c in train.columns if c in synth.columns]
    kinds = column_kinds(schema, cols)
    missing = [c for c in [*quasi_identifiers, *sensitive] if c not in kinds]
    if missing:
        raise ValueError(f"unknown column(s) for the privacy report: {', '.join(missing)}")
    tick("privacy: distances to the closest records, membership")
    enc = TableEncoder(train, kinds)
    tx, sx = enc(train), enc(synth)
    train_keys = set(_groups(train, cols))
    out: dict[str, Any] = {"rows": {"train": len(train), "holdout": 0 if holdout is None else len(holdout),
                                    "synthetic": len(synth)}}
    if holdout is not None and len(holdout) >= 2:
        hx = enc(holdout)
        d = dcr(sx, tx, hx)
        out.update({k: v for k, v in d.items() if not isinstance(v, np.ndarray)})
        out["dcr_train_values"], out["dcr_holdout_values"] = d["dcr_train"].tolist(), d["dcr_holdout"].tolist()
        out.update(dcr_share(train, holdout, synth, schema, seed))
        out["membership_auc"] = membership_auc(tx, hx, sx)
        # the same rate for real unseen rows: what "no copying" looks like
        out["exact_copy_rate_holdout_baseline"] = float(np.mean([k in train_keys for k in _groups(holdout, cols)]))
    else:
        d_train = nearest(sx, tx, 2)
        nndr = d_train[:, 0] / np.maximum(d_train[:, 1], 1e-12) if d_train.shape[1] > 1 else np.ones(len(d_train))
        out.update({"dcr_train_median": float(np.median(d_train[:, 0])), "nndr_median": float(np.median(nndr)),
                    "nndr_p05": float(np.quantile(nndr, 0.05))})
        out["dcr_train_values"], out["dcr_holdout_values"] = d_train[:, 0].tolist(), []
        out["note"] = ("no holdout rows: the DCR share and the membership AUC need real rows the generator never "
                       "saw (keep some aside with --holdout-fraction)")
    out["exact_copy_rate"] = float(np.mean([k in train_keys for k in _groups(synth, cols)]))
    if quasi_identifiers:
        tick("privacy: attribute inference, re-identification, k-anonymity")
        q = list(quasi_identifiers)
        probe = holdout if holdout is not None and len(holdout) else train
        out["attribute_inference"] = [attribute_inference(probe, synth, q, s, kinds) for s in sensitive]
        out["reidentification_rate"] = reidentification_rate(train, synth, q, sensitive[0] if sensitive else None)
        out["k_anonymity"] = k_anonymity(synth, q, sensitive[0] if sensitive else None)
    out["dp"] = dp_statement or {"statement": "no differential privacy: the generator was not trained with DP"}
    out["verdicts"] = privacy_verdicts(out)
    return out


def privacy_verdicts(p: dict[str, Any]) -> list[dict[str, Any]]:
    """Each privacy figure with a verdict (good, watch, risk) and one plain sentence saying what it means."""
    rows = []

    def add(measure, value, ideal, verdict, sentence):
        rows.append({"measure": measure, "value": value, "ideal": ideal, "verdict": verdict, "sentence": sentence})

    if "dcr_share_closer_to_train" in p:
        share, ideal = p["dcr_share_closer_to_train"], p["dcr_share_ideal"]
        verdict = "good" if share <= ideal + 0.1 else ("watch" if share <= ideal + 0.2 else "risk")
        add("DCR share closer to training", share, ideal, verdict,
            f"{share:.0%} of synthetic rows are closer to a training row than to any held-out row; rows drawn from "
            f"the population land near {ideal:.0%}" + ("." if verdict == "good" else
                                                       ", so the rows lean towards the ones the generator was fit on "
                                                       "(a model fit on few rows does so without copying any)."))
    if "membership_auc" in p:
        auc = p["membership_auc"]
        verdict = "good" if auc <= 0.55 else ("watch" if auc <= 0.65 else "risk")
        meaning = ("no better than a coin flip" if abs(auc - 0.5) <= 0.05 else
                   "worse than a coin flip: training rows are, if anything, further from the synthetic rows than "
                   "unseen rows are" if auc < 0.5 else f"better than chance ({auc:.0%} of member/non-member pairs "
                   "ranked right)")
        add("Membership AUC", auc, 0.5, verdict,
            f"An attacker holding the synthetic rows tells whether a person was in the training data {meaning}.")
    if "exact_copy_rate" in p:
        rate, base = p["exact_copy_rate"], p.get("exact_copy_rate_holdout_baseline")
        if base is None:
            verdict = "good" if rate == 0 else "watch"
            sentence = (f"{rate:.1%} of synthetic rows repeat a training row exactly; with no holdout there is no "
                        "chance level to compare with.")
        else:
            verdict = "good" if rate <= base + 0.01 else ("watch" if rate <= base + 0.05 else "risk")
            sentence = (f"{rate:.1%} of synthetic rows repeat a training row exactly, against {base:.1%} of real "
                        "unseen rows that do so by chance.")
        add("Exact copies", rate, base if base is not None else 0.0, verdict, sentence)
    if "nndr_p05" in p:
        v = p["nndr_p05"]
        verdict = "good" if v >= 0.3 else ("watch" if v >= 0.1 else "risk")
        add("NNDR (5th percentile)", v, None, verdict,
            f"For the 5% most exposed synthetic rows, the closest training row is {v:.2f}× as far as the second "
            "closest; near 0 means a row sits on one real person rather than between several.")
    if "reidentification_rate" in p:
        v = p["reidentification_rate"]
        verdict = "good" if v <= 0.001 else ("watch" if v <= 0.01 else "risk")
        add("Re-identification rate", v, 0.0, verdict,
            f"{v:.2%} of training rows are unique on the quasi-identifiers and found exactly once in the release.")
    for a in p.get("attribute_inference", []):
        gain = a["attack"] - a["baseline"]
        verdict = "good" if gain <= 0.05 else ("watch" if gain <= 0.15 else "risk")
        add(f"Attribute inference: {a['column']}", a["attack"], a["baseline"], verdict,
            f"Guessing {a['column']} from the quasi-identifiers through the synthetic rows scores {a['attack']:.2f} "
            f"({a['metric']}) against {a['baseline']:.2f} with no data at all.")
    return rows
