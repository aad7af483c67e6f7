"""The quality and privacy report as JSON and as one self-contained HTML file (plotly inlined once), and
the figures the page shows: distributions real vs synthetic, correlation heatmaps, distances to the
closest record."""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np
import pandas as pd

from genesis_core.tabular.data.encoding import numeric
from genesis_core.tabular.data.schema import ColumnSpec
from genesis_core.tabular.evaluation.html import page, table

TOP_CATEGORIES = 20  # categorical charts show the most common categories of the real data and "other"

LABELS = {
    "quality_score": "Quality score (mean of column shapes and pair trends; SDMetrics)",
    "column_shapes": "Column shapes (KS / TV complement; SDMetrics)",
    "column_pair_trends": "Column pair trends (correlation / contingency similarity; SDMetrics)",
    "c2st_auc": "Detection: C2ST ROC AUC, real vs synthetic (0.5 ideal)",
    "c2st_baseline_auc": "Detection baseline: C2ST ROC AUC, real training vs real held-out rows",
}


def _top(real: pd.Series, synth: pd.Series) -> tuple[pd.Series, pd.Series]:
    p = real.astype(str).value_counts(normalize=True)
    q = synth.astype(str).value_counts(normalize=True)
    keep = list(p.index[:TOP_CATEGORIES])
    if len(p) > TOP_CATEGORIES or set(q.index) - set(keep):
        p = pd.concat([p.reindex(keep, fill_value=0), pd.Series({"other": p.drop(keep, errors="ignore").sum()})])
        q = pd.concat([q.reindex(keep, fill_value=0), pd.Series({"other": q.drop(keep, errors="ignore").sum()})])
        return p, q
    return p.reindex(keep, fill_value=0), q.reindex(keep, fill_value=0)


def distribution_figure(real: pd.DataFrame, synth: pd.DataFrame, column: str, kind: str):
    import plotly.graph_objects as go

    fig = go.Figure()
    if kind == "numerical":
        for name, df, color in (("real", real, "#1f77b4"), ("synthetic", synth, "#ff7f0e")):
            fig.add_trace(go.Histogram(x=numeric(df[column]), name=name, opacity=0.55, histnorm="probability density",
                                       marker_color=color, nbinsx=40))
        fig.update_layout(barmode="overlay", yaxis_title="density")
    else:
        p, q = _top(real[column], synth[column])
        fig.add_trace(go.Bar(x=list(p.index), y=p.values, name="real", marker_color="#1f77b4"))
        fig.add_trace(go.Bar(x=list(q.index), y=q.values, name="synthetic", marker_color="#ff7f0e"))
        fig.update_layout(yaxis_title="share of rows")
    fig.update_layout(title=column, height=300, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def correlation_figure(real: pd.DataFrame, synth: pd.DataFrame, kinds: dict[str, str]):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    cols = [c for c, k in kinds.items() if k == "numerical"][:20]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("real", "synthetic"))
    for i, df in enumerate((real, synth), start=1):
        corr = pd.DataFrame({c: numeric(df[c]) for c in cols}).corr() if cols else pd.DataFrame()
        fig.add_trace(go.Heatmap(z=corr.values, x=cols, y=cols, zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
                                 showscale=i == 2), 1, i)
    fig.update_layout(title="Pearson correlations of the numerical columns", height=420,
                      margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return fig


def dcr_figure(privacy: dict[str, Any]):
    import plotly.graph_objects as go

    fig = go.Figure()
    for key, name in (("dcr_train_values", "to the closest training row"), ("dcr_holdout_values", "to the closest holdout row")):
        if privacy.get(key):
            fig.add_trace(go.Histogram(x=privacy[key], name=name, opacity=0.55, nbinsx=40))
    fig.update_layout(barmode="overlay", title="Distance of each synthetic row to the closest real row",
                      xaxis_title="distance (scaled units)", yaxis_title="synthetic rows", height=320,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def privacy_curve_figure(points: list[dict[str, Any]]):
    """Quality score against epsilon for each private generator (log x)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name in dict.fromkeys(p["generator"] for p in points):
        mine = sorted((p for p in points if p["generator"] == name), key=lambda p: p["epsilon"])
        fig.add_trace(go.Scatter(x=[p["epsilon"] for p in mine], y=[p["quality_score"] for p in mine],
                                 mode="lines+markers", name=name))
    fig.update_layout(title="Quality of the release against the privacy budget", xaxis_title="ε (log scale)",
                      yaxis_title="quality score (SDMetrics)", xaxis_type="log", height=360,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def to_json(report: dict[str, Any]) -> str:
    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, (np.floating, np.integer)):
            v = v.item()
        if isinstance(v, float) and (np.isnan(v) or np.isinf(v)):
            return None
        return v

    return json.dumps(clean(report), indent=2, default=str)


def headline(quality: dict[str, Any]) -> list[dict[str, Any]]:
    """The quality figures with their full labels."""
    return [{"figure": label, "value": quality.get(key)} for key, label in LABELS.items() if key in quality]


def to_html(report: dict[str, Any], real: pd.DataFrame, synth: pd.DataFrame, schema: list[ColumnSpec]) -> str:
    from genesis_core.tabular.evaluation.quality import column_kinds

    q, p, meta = report["quality"], report["privacy"], report.get("meta", {})
    kinds = column_kinds(schema, [c for c in real.columns if c in synth.columns])
    figs = [distribution_figure(real, synth, c, k) for c, k in list(kinds.items())[:24]]
    figs += [correlation_figure(real, synth, kinds), dcr_figure(p)]
    plots = "".join(f.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False)
                    for i, f in enumerate(figs))
    utility = ""
    if "utility" in q:
        u = q["utility"]
        utility = (f"<h2>ML utility: {html.escape(u['target'])} ({u['task']}, {u['metric']})</h2>"
                   f"<p>{html.escape(u.get('test_rows', ''))}. {html.escape(u.get('note', ''))}</p>"
                   + table([u], ["trtr", "tstr", "constant_baseline", "trts", "importance_rank_corr"],
                            ["train real, test real", "train synthetic, test real", "constant model (baseline)",
                             "train real, test synthetic", "feature-importance rank correlation"]))
    extra = ""
    if p.get("k_anonymity"):
        extra += "<h3>k-anonymity of the release</h3>" + table([p["k_anonymity"]], list(p["k_anonymity"]))
    board = ""
    if meta.get("leaderboard"):
        board = ("<h2>Auto: the candidates, scored on rows they never saw</h2><p>Score: the mean of the quality "
                 "score and the detection score 1 - 2 max(0, AUC - 0.5) of a classifier (trained on the rows the "
                 "candidate was fit on against its rows) telling the candidate's rows from those real rows, times the "
                 "copy guard: 1 unless more of its rows sit unusually close to a training row (closer than 95% of "
                 "the unseen real rows do: too_close) than of the unseen rows themselves (too_close_held_out), 0 for "
                 "copies.</p>"
                 + "<p>The best score wins, unless a candidate earlier in the candidates' order is within one "
                 "standard error of it (score_se, from the AUC's): a tie on a few dozen rows goes to the preferred "
                 "candidate.</p>"
                 + table(meta["leaderboard"], ["generator", "chosen", "status", "score", "score_se", "quality_score",
                                                "detection_auc",
                                                "copy_guard", "too_close", "too_close_held_out", "column_shapes", "column_pair_trends", "fit_s", "epochs", "seconds", "error"]))
    if meta.get("tuning"):
        keys = list(dict.fromkeys(k for row in meta["tuning"] for k in row))
        board += "<h2>Tuning: Optuna trials scored on rows they never saw</h2>" + table(meta["tuning"], keys)
    notes = "".join(f"<li>{html.escape(w)}</li>" for w in meta.get("warnings", []))
    text = ""
    if report.get("text"):
        from genesis_core.tabular.evaluation.text import figures_table, length_figure

        for entry in report["text"]:
            examples = [{"real": r, "synthetic": s} for r, s in zip(entry["examples"]["real"],
                                                                     entry["examples"]["synthetic"])]
            text += (f"<h3>{html.escape(entry['column'])}</h3><p>Reference: {html.escape(entry['reference_name'])}."
                     "</p>" + table(figures_table(entry), ["figure", "synthetic", "reference (real)", "ideal"])
                     + (table(entry["fits_row"], ["column", "real_accuracy", "synthetic_accuracy", "majority_share"])
                        if entry["fits_row"] else "")
                     + table(examples, ["real", "synthetic"])
                     + length_figure(entry).to_html(full_html=False, include_plotlyjs=False))
        text = ("<h2>Text columns</h2><p>Written by a byte language model per column, conditioned on the row. The "
                "text model is not differentially private.</p>" + text)
    return page("Synthetic data report", f"""<p>{html.escape(meta.get('summary', ''))}</p>{f'<ul>{notes}</ul>' if notes else ''}
<h2>Columns: what was done with each</h2>{table(meta.get('columns', []), ['column', 'kind', 'what', 'why'])}
{board}
<h2>Quality</h2>{table(headline(q), ["figure", "value"])}
<h3>Column shapes</h3>{table(q["columns"], ["column", "metric", "score"])}
<h3>Column pair trends</h3>{f"<p>{html.escape(q['column_pair_trends_note'])}</p>" if q.get("column_pair_trends_note") else ""}
{table(q["pairs"][:80], ["a", "b", "metric", "score", "real", "synthetic", "counted"])}
{utility}
<h2>Privacy</h2>{f"<p>{html.escape(p['note'])}</p>" if p.get("note") else ""}
{table(p.get("verdicts", []), ["measure", "value", "ideal", "verdict", "sentence"])}{extra}
<h3>Differential privacy</h3><pre>{html.escape(json.dumps(p["dp"], indent=2, default=str))}</pre>
<h2>Figures</h2>{plots}
{text}""")
