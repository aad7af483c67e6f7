"""Releases and drift: every synthesis's release record (input sha256, generator, config, seed, versions, privacy,
figures) with its lineage; the difference between two releases; a release's compliance evidence; and drift
between two tables (uploads, demos or releases), per column and for the whole table."""

import json

import pandas as pd
import streamlit as st

from app_pages.common import show_error, workspace
from genesis_core.errors import WorkbenchError
from genesis_core.formatting import format_time
from genesis_core.tabular.releases.records import diff_releases, list_releases
from genesis_core.tabular.data.demos import DEMOS

st.title("Releases and drift")
st.write("Each synthesis is a release: what went in (its sha256), what made it, what came out and what was measured. "
         "Compare two releases, read a release's compliance evidence, or test whether a table has drifted.")

tab_list, tab_diff, tab_drift = st.tabs(["Releases", "Compare two", "Drift"])
releases, damaged = list_releases(workspace())
for d in damaged:
    st.warning(d)


def label(r: dict) -> str:
    return f"{r['dataset']} v{r['version']} · {r['generator']} · {r['id']}"


with tab_list:
    if not releases:
        st.info("No releases yet: every synthesis (this app's Synthetic data page, `genesis generate`, the HTTP API) "
                "writes one.")
    else:
        st.dataframe(pd.DataFrame([{
            "release": r["id"], "created": format_time(r["created"]), "dataset": r["dataset"], "version": r["version"],
            "input sha256": r["input"]["sha256"][:12], "generator": r["generator"], "rows": r["output"].get("rows"),
            "quality": r["figures"].get("eval/quality_score"), "ε": r["figures"].get("eval/epsilon"),
            "parent": r["lineage"].get("parent") or "", "origin": r["lineage"].get("origin", "")}
            for r in releases]), hide_index=True, key="rel_table")
        chosen = st.selectbox("Release", releases, format_func=label, key="rel_pick")
        from genesis_core.tabular.releases.evidence import evidence, to_html

        ev = evidence(chosen)
        st.markdown("**Compliance evidence** (GDPR Recital 26, HIPAA Safe Harbor)")
        st.caption(ev["disclaimer"])
        st.dataframe(pd.DataFrame(ev["gdpr_recital_26"]), hide_index=True, key="rel_gdpr",
                     column_config={"reading": st.column_config.TextColumn(width="large")})
        harbor = pd.DataFrame([{"identifier": r["identifier"], "found": r["found"], "columns": "; ".join(r["columns"])}
                               for r in ev["hipaa_safe_harbor"]])
        st.dataframe(harbor, hide_index=True, key="rel_harbor")
        st.markdown("**Not covered**\n" + "\n".join(f"- {x}" for x in ev["not_covered"]))
        c1, c2 = st.columns(2)
        c1.download_button("Evidence (HTML)", to_html(ev), f"{chosen['id']}-evidence.html", "text/html",
                           key="rel_dl_evidence")
        c2.download_button("Release record (JSON)", json.dumps(chosen, indent=2, default=str), f"{chosen['id']}.json",
                           "application/json", key="rel_dl_record")
        with st.expander("The whole record"):
            st.json(chosen)

with tab_diff:
    if len(releases) < 2:
        st.info("Two releases are needed to compare; each synthesis makes one.")
    else:
        c1, c2 = st.columns(2)
        a = c1.selectbox("From", releases, index=1, format_func=label, key="rel_a")
        b = c2.selectbox("To", releases, index=0, format_func=label, key="rel_b")
        diff = diff_releases(a, b)
        st.write(("Same input" if diff["same_input"] else "Different inputs")
                 + ("; the second is the next version of the first." if diff["b_descends_from_a"] else "."))
        s = diff["schema"]
        if s["added"] or s["removed"] or s["retyped"]:
            st.write(f"Columns added: {', '.join(s['added']) or 'none'}; removed: {', '.join(s['removed']) or 'none'}; "
                     f"retyped: {', '.join(r['column'] for r in s['retyped']) or 'none'}.")
        st.dataframe(pd.DataFrame(diff["figures"]), hide_index=True, key="rel_diff_figures")
        st.dataframe(pd.DataFrame([{k: str(v) for k, v in c.items()} for c in diff["changes"]]
                                  or [{"field": "(no setting differs)", "a": "", "b": ""}]),
                     hide_index=True, key="rel_diff_changes")


@st.cache_data(show_spinner="Testing every column and the whole table…", max_entries=16)
def drift(reference_key: str, current_key: str, reference_bytes: bytes | None, current_bytes: bytes | None,
          alpha: float) -> dict:
    from genesis_core.tabular.releases.drift import drift_report

    return drift_report(load(reference_key, reference_bytes), load(current_key, current_bytes), alpha)


def load(key: str, raw: bytes | None):
    from genesis_core.tabular.data.ingest import read_table
    from genesis_core.tabular.releases.lineage import read_table_ref

    if raw is not None:
        return read_table(raw, key.split("|", 1)[1])[0]
    return read_table_ref(key, workspace())


def pick(column, title: str, key: str, chosen: bool = True) -> tuple[str | None, bytes | None]:
    """A table to compare; with `chosen` False nothing is picked until the user picks (never a default that
    compares a table with itself)."""
    kinds = ["demo", "upload"] + (["release"] if releases else [])
    kind = column.radio(title, kinds, horizontal=True, key=f"{key}_kind")
    if kind == "demo":
        name = column.selectbox("Demo", list(DEMOS), format_func=DEMOS.get, key=f"{key}_demo",
                                index=0 if chosen else None, placeholder="choose a demo table")
        return ("demo:" + name, None) if name else (None, None)
    if kind == "release":
        r = column.selectbox("Release", releases, format_func=label, key=f"{key}_release",
                             index=0 if chosen else None, placeholder="choose a release")
        return (f"release:{r['id']}", None) if r else (None, None)
    up = column.file_uploader("CSV or Parquet", type=["csv", "tsv", "txt", "parquet"], key=f"{key}_upload")
    if up is None:
        return None, None
    raw = up.getvalue()
    import hashlib

    return f"upload:{hashlib.sha256(raw).hexdigest()}|{up.name}", raw


with tab_drift:
    c1, c2 = st.columns(2)
    ref_key, ref_raw = pick(c1, "Reference", "drift_ref")
    cur_key, cur_raw = pick(c2, "Current", "drift_cur", chosen=False)
    alpha = st.number_input("False discovery rate (α)", 0.001, 0.5, 0.05, step=0.01, key="drift_alpha")
    if ref_key is None or cur_key is None:
        st.info("Choose the current table to compare with the reference (e.g. a release of the reference's data, or "
                "a newer upload of it).")
        st.stop()
    if ref_key == cur_key:
        st.info("The reference and the current table are the same table: a table never drifts from itself. Choose "
                "another current table.")
        st.stop()
    try:
        report = drift(ref_key, cur_key, ref_raw, cur_raw, float(alpha))
    except (WorkbenchError, ValueError, OSError) as exc:
        show_error(exc)
        st.stop()
    from genesis_core.tabular.releases.drift import drift_figure, to_html

    (st.warning if report["drifted"] else st.success)(report["summary"])
    whole = report["table"]
    m = st.columns(3)
    compared = report.get("columns_compared", len(report["columns"]))
    m[0].metric("Columns drifted", f"{len(report['drifted'])} of {compared}",
                help="columns whose values or missing share drifted, and columns only one table has")
    m[1].metric("Classifier AUC (0.5: alike)", "–" if whole.get("auc") is None else f"{whole['auc']:.3f}")
    m[2].metric("Classifier p-value", "–" if whole.get("p_value") is None else f"{whole['p_value']:.2g}")
    st.plotly_chart(drift_figure(report), key="drift_fig")
    cols = ["column", "kind", "test", "p_value", "p_adjusted", "effect", "missing_reference", "missing_current",
            "drifted", "why"]
    st.dataframe(pd.DataFrame(report["columns"]).reindex(columns=cols), hide_index=True, key="drift_table")
    st.download_button("Drift report (HTML)", to_html(report), "drift.html", "text/html", key="drift_dl")
