"""Synthetic data: upload a CSV (or pick a demo), correct the schema, choose a generator and privacy
settings, fit as a background job with live progress, then read the quality and privacy report and
download the synthetic CSV, the report as HTML and as JSON."""

import json

import pandas as pd
import streamlit as st

from app_pages.common import running_job_for, show_error, submit, workspace
from genesis_core.tabular import schema as sch
from genesis_core.tabular.ingest import TableError, read_table
from genesis_core.tabular.task import DEMOS, load_demo

st.title("Synthetic data")
st.write("Synthetic rows that keep the statistics and the ML utility of a table, with a report on how faithful "
         "and how private they are. Real rows held out from the generator make the privacy figures honest.")

tab_new, tab_reports = st.tabs(["New synthesis", "Reports"])

with tab_new:
    source_kind = st.radio("Data", ["demo", "upload"], horizontal=True, key="tab_source",
                           format_func={"demo": "a demo dataset (ships offline)", "upload": "my CSV or Parquet"}.get)
    source, raw = None, None
    if source_kind == "demo":
        demo = st.selectbox("Demo", list(DEMOS), format_func=lambda d: DEMOS[d], key="tab_demo")
        source, raw = f"demo:{demo}", load_demo(demo)
    else:
        upload = st.file_uploader("CSV or Parquet (200 MiB at most)", type=["csv", "tsv", "txt", "parquet"],
                                  key="tab_upload")
        if upload is not None:
            try:
                raw, info = read_table(upload.getvalue(), upload.name)
            except TableError as exc:
                show_error(exc)
            else:
                path = workspace().upload_path(upload.name)
                path.write_bytes(upload.getvalue())  # only once the table is known to be good
                source = str(path)
                st.caption(f"{info.rows} rows × {info.columns} columns · {info.format}"
                           + (f" · delimiter {info.delimiter!r} · {info.encoding}" if info.format == "csv" else ""))
                for w in info.warnings:
                    st.warning(w)
    if raw is None:
        st.stop()
    st.dataframe(raw.head(8), hide_index=True)

    st.subheader("Schema")
    inferred = sch.infer_schema(raw)
    table = pd.DataFrame([{"column": c.name, "type": c.kind, "missing": c.missing_rate,
                           "personal data": c.pii, "datetime format": c.datetime_format, "note": c.note}
                          for c in inferred])
    edited = st.data_editor(table, hide_index=True, key=f"tab_schema_{source}", disabled=["column", "missing",
                            "personal data", "note"], column_config={
                                "type": st.column_config.SelectboxColumn("type", options=list(sch.KINDS), required=True),
                                "missing": st.column_config.ProgressColumn("missing", min_value=0, max_value=1,
                                                                           format="percent")})
    for c in inferred:
        if c.pii:
            st.warning(f"{c.name!r} looks like personal data ({c.pii}); it is "
                       + ("not synthesised (type id/text)." if c.kind in ("id", "text") else
                          "synthesised: set its type to id to leave it out."))
    overrides = []
    for r, c in zip(edited.to_dict("records"), inferred):
        fmt = (r["datetime format"] or "").strip()
        if r["type"] != c.kind or (r["type"] == "datetime" and fmt != c.datetime_format):
            overrides.append(f"{r['column']}={r['type']}" + (f"@{fmt}" if r["type"] == "datetime" and fmt else ""))
    used = [r["column"] for r in edited.to_dict("records") if r["type"] not in ("id", "text")]

    st.subheader("Generator and privacy")
    c1, c2, c3 = st.columns(3)
    generator = c1.selectbox("Generator", ["auto", "gaussian_copula", "ctgan", "tvae", "dp_tvae"], key="tab_gen")
    dp = c2.toggle("Differential privacy", key="tab_dp", value=generator == "dp_tvae")
    epsilon = c3.number_input("ε (epsilon)", 0.05, 100.0, 1.0, step=0.5, key="tab_eps", disabled=not dp)
    c1, c2, c3 = st.columns(3)
    epochs = c1.number_input("Epochs (CTGAN / TVAE / DP-TVAE)", 1, 5000, 300 if not dp else 50, key="tab_epochs")
    rows = c2.number_input("Synthetic rows (0: as many as the training rows)", 0, 10_000_000, 0, key="tab_rows")
    dp_categories = c3.selectbox("DP: category sets", ["public", "dp"], key="tab_dpcat", disabled=not dp,
                                 format_func={"public": "declared public by me", "dp": "paid from ε (Laplace)"}.get)
    target = st.selectbox("ML-utility target", ["(none)", *used], key="tab_target")
    c1, c2 = st.columns(2)
    quasi = c1.multiselect("Quasi-identifiers", used, key="tab_quasi")
    sensitive = c2.multiselect("Sensitive columns", used, key="tab_sensitive")
    with st.expander("Constraints"):
        ranges = st.text_input("Ranges (column:low:high, comma-separated)", key="tab_ranges", placeholder="age:18:99")
        inequalities = st.text_input("Inequalities (a<b, comma-separated)", key="tab_ineq", placeholder="start<end")
        fixed = st.text_input("Fixed combinations (a+b, comma-separated)", key="tab_fixed", placeholder="city+zip")
    split = lambda text: [t.strip() for t in (text or "").split(",") if t.strip()]  # noqa: E731
    if st.button("Synthesise", type="primary", key="tab_submit"):
        submit({"task": "tabular_synthesis", "name": f"synthetic {source.split('/')[-1]}",
                "source": source, "generator": "dp_tvae" if dp and generator == "auto" else generator,
                "epsilon": float(epsilon) if dp else 0.0, "epochs": int(epochs), "rows": int(rows),
                "dp_categories": dp_categories, "target": "" if target == "(none)" else target,
                "quasi_identifiers": quasi, "sensitive": sensitive, "column_types": overrides,
                "ranges": split(ranges), "inequalities": split(inequalities),
                "fixed_combinations": [f.replace("+", ",") for f in split(fixed)]})

with tab_reports:
    runs = workspace().list_runs(task="tabular_synthesis")
    if not runs:
        st.info("No synthesis yet: start one in the first tab.")
        st.stop()
    run = st.selectbox("Synthesis", runs, format_func=lambda r: f"{r.name or r.id} · {r.id}", key="tab_run")

    @st.fragment(run_every=2 if running_job_for(run.id) else None)
    def show_report() -> None:
        job = running_job_for(run.id)
        if job is not None:
            st.progress(job.progress, text=f"{job.status}: {job.step}% · see the Jobs page for the log")
            return
        path = run.artifact_path("report.json")
        if not path.exists():
            st.info("This synthesis has no report (it failed or was cancelled); its error is on the Jobs page.")
            return
        report = json.loads(path.read_text())
        q, p, meta = report["quality"], report["privacy"], report["meta"]
        st.caption(meta["summary"])
        cols = st.columns(5)
        cols[0].metric("Overall quality", f"{q['overall']:.3f}", help="mean of column shapes, pairs, detection "
                       "(and utility)")
        cols[1].metric("SDMetrics quality (reference)", "–" if q["sdmetrics_quality"] is None else f"{q['sdmetrics_quality']:.3f}")
        cols[2].metric("C2ST AUC (0.5 = indistinguishable)", f"{q['c2st_auc']:.3f}")
        cols[3].metric("Membership AUC (0.5 = no signal)", f"{p['membership_auc']:.3f}" if "membership_auc" in p else "–")
        cols[4].metric("DCR share closer to train (0.5 ideal)",
                       f"{p['dcr_share_closer_to_train']:.3f}" if "dcr_share_closer_to_train" in p else "–")
        synth = pd.read_csv(run.artifact_path("synthetic.csv"))
        from genesis_core.tabular.quality import _kinds
        from genesis_core.tabular.report import correlation_figure, dcr_figure, distribution_figure
        from genesis_core.tabular.schema import ColumnSpec, prepare
        from genesis_core.tabular.task import load_input

        schema = [ColumnSpec(**c) for c in report["schema"]]
        try:
            real = prepare(load_input(run.config()["source"]), schema)
        except (TableError, OSError, ValueError) as exc:
            show_error(exc)
            return
        kinds = _kinds(schema, synth.columns)
        t1, t2, t3, t4 = st.tabs(["Columns", "Correlations", "Utility", "Privacy"])
        with t1:
            st.dataframe(pd.DataFrame(q["columns"]), hide_index=True)
            column = st.selectbox("Distribution of", list(kinds), key="tab_dist_col")
            st.plotly_chart(distribution_figure(real, synth, column, kinds[column]), key="tab_dist")
        with t2:
            st.plotly_chart(correlation_figure(real, synth, kinds), key="tab_corr")
            st.dataframe(pd.DataFrame(q["pairs"]), hide_index=True)
        with t3:
            if "utility" in q:
                u = q["utility"]
                c = st.columns(4)
                c[0].metric(f"Train real, test real ({u['metric']})", f"{u['trtr']:.3f}")
                c[1].metric("Train synthetic, test real", f"{u['tstr']:.3f}")
                c[2].metric("Train real, test synthetic", f"{u['trts']:.3f}")
                c[3].metric("Feature-importance rank corr.", "–" if u["importance_rank_corr"] is None
                            else f"{u['importance_rank_corr']:.3f}")
            else:
                st.caption("No target was chosen for this synthesis.")
        with t4:
            rows_ = [{"measure": k, "value": p[k]} for k in ("dcr_train_median", "dcr_holdout_median", "nndr_median",
                     "nndr_p05", "exact_copy_rate", "exact_copy_rate_holdout_baseline", "reidentification_rate") if k in p]
            st.dataframe(pd.DataFrame(rows_), hide_index=True)
            if p.get("attribute_inference"):
                st.dataframe(pd.DataFrame(p["attribute_inference"]), hide_index=True)
            if p.get("k_anonymity"):
                st.write(f"k-anonymity of the release: k = {p['k_anonymity']['k']}"
                         + (f", l-diversity l = {p['k_anonymity']['l']}" if "l" in p["k_anonymity"] else ""))
            st.plotly_chart(dcr_figure(p), key="tab_dcr")
            st.markdown("**Differential privacy**")
            st.json(p["dp"])
        with st.form("tab_more"):
            c1, c2 = st.columns([2, 1])
            more = c1.number_input("Sample more rows from this fitted generator", 1, 10_000_000, 1000, key="tab_more_rows")
            if c2.form_submit_button("Sample"):
                from genesis_core.tabular.generators import GeneratorError, TabularGenerator

                try:
                    with st.spinner(f"Sampling {int(more):,} rows in batches…"):
                        extra = TabularGenerator.load(run.artifacts_dir / "generator").sample(int(more), seed=int(more))
                except GeneratorError as exc:
                    show_error(exc)
                else:
                    st.session_state["tab_more_csv"] = extra.to_csv(index=False).encode()
        if st.session_state.get("tab_more_csv"):
            st.download_button("Download the new rows (CSV)", st.session_state["tab_more_csv"], "more_synthetic.csv",
                               "text/csv", key="tab_dl_more")
        d1, d2, d3 = st.columns(3)
        d1.download_button("Synthetic CSV", run.artifact_path("synthetic.csv").read_bytes(), "synthetic.csv",
                           "text/csv", key="tab_dl_csv")
        d2.download_button("Report (HTML)", run.artifact_path("report.html").read_bytes(), "report.html", "text/html",
                           key="tab_dl_html")
        d3.download_button("Report (JSON)", path.read_bytes(), "report.json", "application/json", key="tab_dl_json")

    show_report()
