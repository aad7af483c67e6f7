"""The quality and privacy report as JSON and as one self-contained HTML file (plotly inlined once), and
the figures the page shows: distributions real vs synthetic, correlation heatmaps, distances to the
closest record."""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np
import pandas as pd

from genesis_core.tabular.encoding import numeric


def distribution_figure(real: pd.DataFrame, synth: pd.DataFrame, column: str, kind: str):
    import plotly.graph_objects as go

    fig = go.Figure()
    if kind == "numerical":
        for name, df, color in (("real", real, "#1f77b4"), ("synthetic", synth, "#ff7f0e")):
            fig.add_trace(go.Histogram(x=numeric(df[column]), name=name, opacity=0.55, histnorm="probability density",
                                       marker_color=color, nbinsx=40))
        fig.update_layout(barmode="overlay")
    else:
        p = real[column].astype(str).value_counts(normalize=True)
        q = synth[column].astype(str).value_counts(normalize=True)
        cats = p.index.union(q.index)[:40]
        fig.add_trace(go.Bar(x=list(cats), y=p.reindex(cats, fill_value=0), name="real", marker_color="#1f77b4"))
        fig.add_trace(go.Bar(x=list(cats), y=q.reindex(cats, fill_value=0), name="synthetic", marker_color="#ff7f0e"))
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
        fig.add_trace(go.Histogram(x=privacy[key], name=name, opacity=0.55, nbinsx=40))
    fig.update_layout(barmode="overlay", title="Distance of each synthetic row to the closest real row",
                      xaxis_title="distance (scaled units)", height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def to_json(report: dict[str, Any]) -> str:
    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        if isinstance(v, (np.floating, np.integer)):
            return v.item()
        if isinstance(v, float) and (np.isnan(v) or np.isinf(v)):
            return None
        return v

    return json.dumps(clean(report), indent=2, default=str)


def _table(rows: list[dict], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def to_html(report: dict[str, Any], real: pd.DataFrame, synth: pd.DataFrame, kinds: dict[str, str]) -> str:
    q, p = report["quality"], report["privacy"]
    figs = [distribution_figure(real, synth, c, k) for c, k in list(kinds.items())[:24]]
    figs += [correlation_figure(real, synth, kinds), dcr_figure(p)]
    plots = "".join(f.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False)
                    for i, f in enumerate(figs))
    scores = {**q["scores"], "overall": q["overall"], "SDMetrics quality (reference)": q["sdmetrics_quality"],
              "C2ST AUC": q["c2st_auc"]}
    utility = ""
    if "utility" in q:
        u = q["utility"]
        utility = (f"<h2>ML utility: {html.escape(u['target'])} ({u['task']}, {u['metric']})</h2>"
                   + _table([u], ["trtr", "tstr", "trts", "importance_rank_corr"]))
    dp = p["dp"]
    measures = ("dcr_share_closer_to_train", "dcr_train_median", "dcr_holdout_median", "nndr_median", "nndr_p05",
                "exact_copy_rate", "exact_copy_rate_holdout_baseline", "membership_auc", "reidentification_rate")
    privacy_rows = [{"measure": k, "value": p.get(k)} for k in measures if k in p]
    extra = ""
    if p.get("attribute_inference"):
        extra += "<h3>Attribute inference</h3>" + _table(p["attribute_inference"], ["column", "metric", "attack", "baseline"])
    if p.get("k_anonymity"):
        extra += "<h3>k-anonymity of the release</h3>" + _table([p["k_anonymity"]], list(p["k_anonymity"]))
    meta = report.get("meta", {})
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Synthetic data report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}
th{{background:#f3f3f3}}</style></head><body>
<h1>Synthetic data report</h1>
<p>{html.escape(meta.get('summary', ''))}</p>
<h2>Quality</h2>{_table([{"score": k, "value": v} for k, v in scores.items()], ["score", "value"])}
<h3>Columns</h3>{_table(q["columns"], ["column", "kind", "metric", "score", "chi2_p"])}
<h3>Column pairs</h3>{_table(q["pairs"][:60], ["a", "b", "metric", "score", "real", "synthetic"])}
{utility}
<h2>Privacy</h2>{_table(privacy_rows, ["measure", "value"])}{extra}
<h3>Differential privacy</h3><pre>{html.escape(json.dumps(dp, indent=2, default=str))}</pre>
<h2>Figures</h2>{plots}
</body></html>"""
