"""Quality and privacy of synthetic sequences against real ones.

Quality (each in [0, 1], 1 best, except the two TimeGAN-paper scores):
  column shapes / pair trends  SDMetrics on every row (steps pooled), as for a flat table
  step marginals               1 - KS statistic of each numeric channel at each step position, averaged over the
                               positions that at least 5 sequences reach on both sides
  autocorrelation similarity   1 - mean |ACF_real(lag) - ACF_synth(lag)| / 2 over lags 1..k and numeric channels
                               (ACF averaged over sequences)
  cross-correlation similarity 1 - mean |corr_real - corr_synth| / 2 over pairs of numeric channels, correlations
                               taken within each sequence and averaged
  discriminative score         |accuracy - 0.5| of a GRU classifier telling real from synthetic sequences on
                               sequences it did not train on (0 best; 0.5: always told apart)
  predictive score             MAE of a GRU trained on synthetic sequences to predict the next step of real ones,
                               beside the same GRU trained on real sequences (train on synthetic, test on real)
Privacy: the distance from each synthetic sequence to its nearest training sequence and to its nearest held-out
sequence (sequences resampled to a fixed number of points, standardised); the share closer to training should
be near the share of training sequences among both.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import pandas as pd

from genesis_core.tabular.sequential.generators import SequenceSpec

POINTS = 16  # a sequence resampled to this many points for nearest-sequence distances


def _scaler(real: pd.DataFrame, channels: list[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for c in channels:
        v = pd.to_numeric(real[c], errors="coerce")
        lo, hi = float(v.min()), float(v.max())
        out[c] = (lo, hi - lo if hi > lo else 1.0)
    return out


def sequence_arrays(frame: pd.DataFrame, spec: SequenceSpec, scale: dict[str, tuple[float, float]]) -> list[np.ndarray]:
    """One [length, channels] array per sequence, numeric channels scaled by the real data's range, gaps filled
    along the sequence."""
    chans = list(scale)
    out = []
    for _, g in frame.groupby(spec.key, sort=False):
        a = np.stack([(pd.to_numeric(g[c], errors="coerce").astype(float).to_numpy() - scale[c][0]) / scale[c][1]
                      for c in chans], 1) if chans else np.zeros((len(g), 0))
        a = pd.DataFrame(a).ffill().bfill().fillna(0.5).to_numpy()
        out.append(a.astype(np.float32))
    return out


def step_marginals(real: list[np.ndarray], synth: list[np.ndarray], min_count: int = 5) -> float | None:
    from scipy.stats import ks_2samp

    if not real or not real[0].shape[1]:
        return None
    scores = []
    for t in range(max(len(a) for a in real)):
        r = [a[t] for a in real if len(a) > t]
        s = [a[t] for a in synth if len(a) > t]
        if len(r) < min_count or len(s) < min_count:
            continue
        ra, sa = np.stack(r), np.stack(s)
        scores += [1 - ks_2samp(ra[:, j], sa[:, j]).statistic for j in range(ra.shape[1])]
    return float(np.mean(scores)) if scores else None


def mean_acf(seqs: list[np.ndarray], lags: int) -> np.ndarray:
    """[lags, channels] autocorrelation averaged over the sequences long enough for each lag."""
    d = seqs[0].shape[1]
    total, count = np.zeros((lags, d)), np.zeros((lags, d))
    for a in seqs:
        x = a - a.mean(0)
        var = (x ** 2).sum(0)
        for lag in range(1, min(lags, len(a) - 1) + 1):
            ok = var > 1e-12
            total[lag - 1, ok] += (x[lag:] * x[:-lag]).sum(0)[ok] / var[ok]
            count[lag - 1, ok] += 1
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def acf_similarity(real: list[np.ndarray], synth: list[np.ndarray], lags: int) -> float | None:
    if lags < 1 or not real[0].shape[1]:
        return None
    diff = np.abs(mean_acf(real, lags) - mean_acf(synth, lags))
    return None if np.isnan(diff).all() else float(1 - np.nanmean(diff) / 2)


def mean_cross_correlation(seqs: list[np.ndarray]) -> np.ndarray | None:
    d = seqs[0].shape[1]
    if d < 2:
        return None
    mats = []
    for a in seqs:
        if len(a) < 3:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.corrcoef(a.T)
        mats.append(c)
    return np.nanmean(np.stack(mats), 0) if mats else None


def cross_correlation_similarity(real: list[np.ndarray], synth: list[np.ndarray]) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # all-constant sequences give NaN correlations: left out
        r, s = mean_cross_correlation(real), mean_cross_correlation(synth)
    if r is None or s is None:
        return None
    iu = np.triu_indices(r.shape[0], 1)
    diff = np.abs(r[iu] - s[iu])
    return None if np.isnan(diff).all() else float(1 - np.nanmean(diff) / 2)


def _pad(seqs: list[np.ndarray]):
    import torch

    t = max(len(a) for a in seqs)
    x = np.zeros((len(seqs), t, seqs[0].shape[1]), np.float32)
    lengths = np.array([len(a) for a in seqs])
    for i, a in enumerate(seqs):
        x[i, :len(a)] = a
    return torch.tensor(x), torch.tensor(lengths)


class _GRU:
    def __init__(self, d_in: int, d_out: int, hidden: int, seed: int):
        import torch
        from torch import nn

        torch.manual_seed(seed)
        self.rnn = nn.GRU(d_in, hidden, batch_first=True)
        self.head = nn.Linear(hidden, d_out)
        self.params = [*self.rnn.parameters(), *self.head.parameters()]

    def __call__(self, x):
        return self.head(self.rnn(x)[0])


def discriminative_score(real: list[np.ndarray], synth: list[np.ndarray], seed: int = 0, steps: int = 500) -> float:
    """|held-out accuracy - 0.5| of a GRU that tells real from synthetic (TimeGAN's discriminative score)."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    n = min(len(real), len(synth))
    r = [real[i] for i in rng.permutation(len(real))[:n]]
    s = [synth[i] for i in rng.permutation(len(synth))[:n]]
    seqs, labels = r + s, np.r_[np.ones(n), np.zeros(n)]
    order = rng.permutation(2 * n)
    cut = int(0.8 * len(order))
    train, test = order[:cut], order[cut:]
    x, lengths = _pad(seqs)
    y = torch.tensor(labels, dtype=torch.float32)
    net = _GRU(x.shape[2], 1, max(16, x.shape[2]), seed)
    opt = torch.optim.Adam(net.params, 1e-3)
    g = torch.Generator().manual_seed(seed)

    def logits(idx):
        out = net(x[idx])
        return out[torch.arange(len(idx)), lengths[idx] - 1, 0]  # the state after each sequence's last step

    tr = torch.as_tensor(train)
    for _ in range(steps):
        b = tr[torch.randint(len(tr), (min(128, len(tr)),), generator=g)]
        loss = F.binary_cross_entropy_with_logits(logits(b), y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        te = torch.as_tensor(test)
        acc = float(((logits(te) > 0).float() == y[te]).float().mean())
    return abs(acc - 0.5)


def _next_step_mae(train: list[np.ndarray], test: list[np.ndarray], seed: int, steps: int) -> float:
    import torch

    x, lengths = _pad(train)
    xt, lt = _pad(test)
    net = _GRU(x.shape[2], x.shape[2], max(4, x.shape[2] // 2 + 2), seed)
    opt = torch.optim.Adam(net.params, 1e-3)
    g = torch.Generator().manual_seed(seed)

    def masked_mae(pred, target, lens):  # the output at step t predicts step t + 1
        valid = (torch.arange(target.shape[1] - 1)[None, :] < (lens[:, None] - 1)).float()
        err = (pred[:, :-1] - target[:, 1:]).abs().mean(-1)
        return (err * valid).sum() / valid.sum().clamp(min=1)

    for _ in range(steps):
        b = torch.randint(len(x), (min(128, len(x)),), generator=g)
        loss = masked_mae(net(x[b]), x[b], lengths[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(masked_mae(net(xt), xt, lt))


def predictive_scores(real: list[np.ndarray], synth: list[np.ndarray], seed: int = 0, steps: int = 300
                      ) -> dict[str, float]:
    """Next-step MAE on held-out real sequences of a GRU trained on synthetic vs trained on real ones."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(real))
    cut = max(1, int(0.8 * len(order)))
    r_train, r_test = [real[i] for i in order[:cut]], [real[i] for i in order[cut:]] or [real[order[0]]]
    return {"tstr_mae": _next_step_mae(synth, r_test, seed, steps),
            "trtr_mae": _next_step_mae(r_train, r_test, seed, steps)}


def _fixed(seqs: list[np.ndarray], points: int = POINTS) -> np.ndarray:
    rows = []
    for a in seqs:
        t = np.linspace(0, 1, len(a)) if len(a) > 1 else np.zeros(1)
        grid = np.linspace(0, 1, points)
        rows.append(np.concatenate([np.interp(grid, t, a[:, j]) for j in range(a.shape[1])] + [[len(a)]]))
    return np.asarray(rows, dtype=float)


def nearest_sequence_privacy(train: list[np.ndarray], holdout: list[np.ndarray] | None,
                             synth: list[np.ndarray]) -> dict[str, Any]:
    """Distances from each synthetic sequence to its nearest training (and held-out) sequence."""
    from sklearn.neighbors import NearestNeighbors

    if not train[0].shape[1]:
        return {"note": "no numeric channels: nearest-sequence distances need numbers."}
    tr, sy = _fixed(train), _fixed(synth)
    mu, sd = tr.mean(0), tr.std(0)
    sd = np.where(sd > 1e-9, sd, 1.0)  # a constant feature (all lengths equal) adds nothing
    tr, sy = (tr - mu) / sd, (sy - mu) / sd
    d_train = NearestNeighbors(n_neighbors=1).fit(tr).kneighbors(sy)[0][:, 0]
    out: dict[str, Any] = {"nearest_train_median": float(np.median(d_train)),
                           "exact_copies": int((d_train < 1e-6).sum())}
    if holdout:
        ho = (_fixed(holdout) - mu) / sd
        d_hold = NearestNeighbors(n_neighbors=1).fit(ho).kneighbors(sy)[0][:, 0]
        out.update(nearest_holdout_median=float(np.median(d_hold)),
                   share_closer_to_train=float(np.mean(d_train < d_hold) + 0.5 * np.mean(d_train == d_hold)),
                   share_ideal=len(train) / (len(train) + len(holdout)))
    else:
        out["note"] = "no held-out sequences: the share closer to training needs a holdout (--holdout-fraction)."
    return out


def sequence_report(real: pd.DataFrame, synth: pd.DataFrame, spec: SequenceSpec, holdout: pd.DataFrame | None = None,
                    seed: int = 0, lags: int = 10, score_steps: int = 500,
                    tick: Callable[[str], None] = lambda what: None) -> dict[str, Any]:
    """Quality and privacy of synthetic sequences (frames as `prepare_sequences` returns them). `tick(what)` is
    called before each part (progress, and a stop point: it may raise to stop); `report_parts` counts them."""
    channels = [c for c in spec.numeric_channels if c in synth.columns]
    scale = _scaler(real, channels)
    r, s = sequence_arrays(real, spec, scale), sequence_arrays(synth, spec, scale)
    h = sequence_arrays(holdout, spec, scale) if holdout is not None else None
    min_len = int(np.median([len(a) for a in r]))
    k = max(0, min(lags, min_len - 2))
    quality: dict[str, Any] = {"sequences_real": len(r), "sequences_synthetic": len(s),
                               "length_real_median": float(np.median([len(a) for a in r])),
                               "length_synthetic_median": float(np.median([len(a) for a in s])), "lags": k,
                               "channels": channels}
    quality.update(_figures(real, synth, r, s, spec, k, seed, score_steps, tick))
    if holdout is not None and h is not None and len(h) >= 5:  # the floor: real sequences the generator never saw, scored the same way
        quality["reference"] = _figures(real, holdout, r, h, spec, k, seed, score_steps,
                                        lambda what: tick(f"held-out floor, {what}"))
    tick("nearest-sequence privacy")
    privacy = nearest_sequence_privacy(r, h, s)
    return {"quality": quality, "privacy": privacy}


def report_parts(real: pd.DataFrame, spec: SequenceSpec, holdout: pd.DataFrame | None) -> int:
    """How many times `sequence_report` ticks (for its progress count)."""
    per = 4 if [c for c in spec.numeric_channels if c in real.columns] else 2
    with_floor = holdout is not None and holdout[spec.key].nunique() >= 5
    return per * (2 if with_floor else 1) + 1


def _figures(real: pd.DataFrame, synth: pd.DataFrame, r: list[np.ndarray], s: list[np.ndarray], spec: SequenceSpec,
             lags: int, seed: int, score_steps: int, tick: Callable[[str], None] = lambda what: None
             ) -> dict[str, Any]:
    from genesis_core.tabular.data import schema as sch
    from genesis_core.tabular.evaluation.quality import fidelity

    cols = [c for c in real.columns if c != spec.key]
    schema = sch.infer_schema(real[cols])
    tick("column shapes and pair trends (SDMetrics)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = fidelity(sch.prepare(real[cols], schema), sch.prepare(synth[cols], schema), schema, seed=seed)
    tick("step marginals, autocorrelation, cross-correlation")
    out = {"column_shapes": f["column_shapes"], "column_pair_trends": f["column_pair_trends"],
           "step_marginals": step_marginals(r, s), "autocorrelation_similarity": acf_similarity(r, s, lags),
           "cross_correlation_similarity": cross_correlation_similarity(r, s)}
    if r[0].shape[1]:
        tick(f"discriminative score (a GRU telling real from synthetic, {score_steps} steps)")
        out["discriminative_score"] = discriminative_score(r, s, seed, score_steps)
        tick(f"predictive score (next-step GRUs trained on synthetic and on real, {score_steps} steps)")
        out.update(predictive_scores(r, s, seed, score_steps))
    return out


FIGURES = [  # (key, label, higher is better)
    ("column_shapes", "Column shapes (SDMetrics, all steps)", True),
    ("column_pair_trends", "Column pair trends (SDMetrics, all steps)", True),
    ("step_marginals", "Step marginals (1 - KS per step position)", True),
    ("autocorrelation_similarity", "Autocorrelation similarity (lags 1..k)", True),
    ("cross_correlation_similarity", "Cross-correlation similarity between channels", True),
    ("discriminative_score", "Discriminative score |acc - 0.5| (0 best)", False),
    ("tstr_mae", "Predictive score: next-step MAE, trained on synthetic", False),
    ("trtr_mae", "  the same, trained on real (the reference)", False),
]


def figure(real: pd.DataFrame, synth: pd.DataFrame, spec: SequenceSpec, per_side: int = 6, seed: int = 0):
    """Real and synthetic sequences side by side, one row of panels per numeric channel (at most 3)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    channels = spec.numeric_channels[:3] or spec.channels[:1]
    fig = make_subplots(rows=len(channels), cols=2, shared_yaxes="rows", column_titles=["real", "synthetic"],
                        row_titles=channels, vertical_spacing=0.08)
    rng = np.random.default_rng(seed)
    for col, frame in ((1, real), (2, synth)):
        keys = frame[spec.key].drop_duplicates().to_numpy()
        for k in rng.choice(keys, min(per_side, len(keys)), replace=False):
            g = frame[frame[spec.key] == k]
            x = g[spec.index] if spec.index else np.arange(len(g))
            for row, c in enumerate(channels, 1):
                fig.add_trace(go.Scatter(x=x, y=g[c], mode="lines", line={"width": 1.2}, name=str(k),
                                         showlegend=False), row=row, col=col)
    fig.update_layout(height=260 * len(channels), margin={"t": 40, "b": 20, "l": 40, "r": 20})
    return fig


def to_html(report: dict[str, Any], real: pd.DataFrame, synth: pd.DataFrame, spec: SequenceSpec) -> str:
    import html

    from genesis_core.tabular.evaluation.html import page, table

    q, p = report["quality"], report["privacy"]
    ref = q.get("reference", {})
    quality = [{"figure": label, "synthetic": q[key], "held-out real (the floor)": ref.get(key)}
               for key, label, _ in FIGURES if q.get(key) is not None]
    privacy = [{"measure": k, "value": v} for k, v in p.items() if isinstance(v, (int, float))]
    note = f"<p>{html.escape(p['note'])}</p>" if p.get("note") else ""
    plot = figure(real, synth, spec).to_html(full_html=False, include_plotlyjs="inline")
    summary = html.escape(report.get("meta", {}).get("summary", ""))
    return page("Synthetic sequences", f"<p>{summary}</p><h2>Quality</h2>{table(quality, spec='.3f')}"
                f"<h2>Privacy</h2>{table(privacy, spec='.3f')}{note}<h2>Real and synthetic sequences</h2>{plot}")
