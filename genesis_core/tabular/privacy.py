"""How private a synthetic release is, measured against the training rows and a held-out set of real rows
the generator never saw.

Distances: rows are encoded once (tabular/encoding.py, fitted on the training rows) and compared exactly
against every reference row, in chunks.

  dcr                 distance from each synthetic row to its closest training row (all of them) and closest
                      holdout row; dcr_share = share of synthetic rows closer to training than to holdout,
                      with both sets drawn to the same size (≈ 0.5 for a release that does not copy)
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

from typing import Any

import numpy as np
import pandas as pd

from genesis_core.tabular.encoding import TableEncoder, numeric


def nearest(queries: np.ndarray, reference: np.ndarray, k: int = 2, chunk: int = 2048) -> np.ndarray:
    """Exact distances to the k nearest reference rows, (n, k), computed in chunks over all the reference."""
    import torch

    ref = torch.from_numpy(reference)
    ref_sq = (ref * ref).sum(1)
    out = []
    for start in range(0, len(queries), chunk):
        q = torch.from_numpy(queries[start:start + chunk])
        d2 = (q * q).sum(1, keepdim=True) - 2 * q @ ref.T + ref_sq
        vals = torch.topk(d2.clamp_min(0), min(k, len(reference)), dim=1, largest=False).values
        out.append(vals.sqrt())
    return torch.cat(out).numpy()


def dcr(synth_x: np.ndarray, train_x: np.ndarray, holdout_x: np.ndarray, seed: int = 0) -> dict[str, Any]:
    d_train = nearest(synth_x, train_x, 2)
    d_hold = nearest(synth_x, holdout_x, 1)[:, 0]
    # the share compares like with like: training rows subsampled to the holdout's size (if larger)
    n = min(len(train_x), len(holdout_x))
    same_size = train_x[np.random.default_rng(seed).permutation(len(train_x))[:n]]
    hold_same = holdout_x[np.random.default_rng(seed).permutation(len(holdout_x))[:n]]
    d_t, d_h = nearest(synth_x, same_size, 1)[:, 0], nearest(synth_x, hold_same, 1)[:, 0]
    closer, ties = d_t < d_h, d_t == d_h
    nndr = d_train[:, 0] / np.maximum(d_train[:, 1], 1e-12) if d_train.shape[1] > 1 else np.ones(len(d_train))
    return {"dcr_train_median": float(np.median(d_train[:, 0])), "dcr_holdout_median": float(np.median(d_hold)),
            "dcr_share_closer_to_train": float(closer.mean() + 0.5 * ties.mean()),
            "nndr_median": float(np.median(nndr)), "nndr_p05": float(np.quantile(nndr, 0.05)),
            "dcr_train": d_train[:, 0], "dcr_holdout": d_hold}


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
    enc = TableEncoder(synth, qkinds)
    import torch

    d = torch.cdist(torch.from_numpy(enc(holdout)), torch.from_numpy(enc(synth)))
    idx = d.argmin(1).numpy()
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


def enforce_k_anonymity(df: pd.DataFrame, quasi: list[str], k: int, kinds: dict[str, str],
                        bins: int = 5) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Generalise numerical quasi-identifiers into quantile bins (fewer bins until it helps), then suppress
    the rows of groups still smaller than k."""
    out = df.copy()
    for col in quasi:
        if kinds.get(col) == "numerical":
            x = numeric(out[col])
            edges = np.unique(np.nanquantile(x.dropna(), np.linspace(0, 1, bins + 1))) if x.notna().any() else [0, 1]
            out[col] = pd.cut(x, edges, include_lowest=True, duplicates="drop").astype(str)
    keys = _groups(out, quasi)
    keep = keys.map(keys.value_counts()) >= k
    suppressed = int((~keep).sum())
    return out[keep.values].reset_index(drop=True), {"generalised": [c for c in quasi if kinds.get(c) == "numerical"],
                                                      "bins": bins, "suppressed_rows": suppressed}


def privacy_report(train: pd.DataFrame, holdout: pd.DataFrame | None, synth: pd.DataFrame, kinds: dict[str, str],
                   quasi_identifiers: list[str] = (), sensitive: list[str] = (),
                   dp_statement: dict | None = None) -> dict[str, Any]:
    cols = [c for c in kinds if c in synth.columns]
    kinds = {c: kinds[c] for c in cols}
    enc = TableEncoder(train, kinds)
    tx, sx = enc(train), enc(synth)
    train_keys = set(_groups(train, cols))
    out: dict[str, Any] = {}
    if holdout is not None and len(holdout):
        hx = enc(holdout)
        d = dcr(sx, tx, hx)
        out.update({k: v for k, v in d.items() if not isinstance(v, np.ndarray)})
        out["dcr_train_values"], out["dcr_holdout_values"] = d["dcr_train"].tolist(), d["dcr_holdout"].tolist()
        out["membership_auc"] = membership_auc(tx, hx, sx)
    else:
        d_train = nearest(sx, tx, 2)
        out["dcr_train_median"] = float(np.median(d_train[:, 0]))
        out["dcr_train_values"], out["dcr_holdout_values"] = d_train[:, 0].tolist(), []
        out["note"] = "no holdout rows given: the DCR share and the membership AUC need real rows the generator never saw"
    out["exact_copy_rate"] = float(np.mean([k in train_keys for k in _groups(synth, cols)]))
    if holdout is not None and len(holdout):  # the same rate for real unseen rows: what "no copying" looks like
        out["exact_copy_rate_holdout_baseline"] = float(np.mean([k in train_keys for k in _groups(holdout, cols)]))
    missing = [c for c in [*quasi_identifiers, *sensitive] if c not in kinds]
    if missing:
        raise ValueError(f"unknown column(s) for the privacy report: {', '.join(missing)}")
    if quasi_identifiers:
        q = list(quasi_identifiers)
        probe = holdout if holdout is not None and len(holdout) else train
        out["attribute_inference"] = [attribute_inference(probe, synth, q, s, kinds) for s in sensitive]
        out["reidentification_rate"] = reidentification_rate(train, synth, q, sensitive[0] if sensitive else None)
        out["k_anonymity"] = k_anonymity(synth, q, sensitive[0] if sensitive else None)
    out["dp"] = dp_statement or {"statement": "no differential privacy: the generator was not trained with DP"}
    return out
