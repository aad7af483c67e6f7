"""Synthetic data: upload a CSV (or pick a demo), correct the schema, choose a generator (or let auto measure
the candidates) and privacy settings, fit as a background job with live progress, then read the quality
and privacy report and download the synthetic CSV, the report as HTML and as JSON."""

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from app_pages.common import key_help, running_job_for, show_error, submit, synthesis_report, workspace
from genesis_core.errors import WorkbenchError
from genesis_core.registry import GENERATORS
from genesis_core.tabular.task import kind_of
from genesis_core.tabular.data.uploads import display_name, store_read_table, table_source
from genesis_core.tabular.data import schema as sch
from genesis_core.tabular.data.demos import DEMOS, load_demo
from genesis_core.tabular.data.ingest import TableError, read_table

@st.cache_data(max_entries=8, show_spinner="Drawing rows from the template…")
def template_rows(key: str, rows: int, seed: int) -> bytes:
    from genesis_core.tabular.domains import TEMPLATES, sample_template

    return sample_template(TEMPLATES[key], rows, seed)[0].to_csv(index=False).encode()


def template_source() -> tuple[str | None, pd.DataFrame | None]:
    """A domain template's rows as the table: drawn from a generator fitted on a real public table, stored like
    an upload so the job reads the same rows."""
    from genesis_core.tabular.domains import catalog

    ready = [r for r in catalog() if r["status"] == "ready"]
    if not ready:
        st.info("No domain template is built here: run scripts/build_domain_templates.py.")
        return None, None
    c1, c2, c3 = st.columns([3, 1, 1])
    row = c1.selectbox("Template", ready, key="tab_template",
                       format_func=lambda r: f"{r['domain']} · {r['template']}: {r['about']}")
    rows = c2.number_input("Rows", 10, 100_000, int(row["rows"]), key="tab_template_rows")
    seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="tab_template_seed")
    key = f"{row['domain']}/{row['template']}"
    try:
        data = template_rows(key, int(rows), int(seed))
        name = f"{row['domain']}-{row['template']}-{rows}-seed{seed}.csv"
        raw, info = read_table(data, name)
        stored = store_read_table(workspace(), data, raw, info, name)
    except (WorkbenchError, TableError, ValueError) as exc:
        show_error(exc)
        return None, None
    st.caption(f"Drawn from a generator fitted on {row['source']} ({row['rows']} real rows): quality "
               f"{row['quality']:.3f}, detection AUC {row['detection_auc']:.3f} (held-out real rows "
               f"{row['held_out_detection_auc']:.3f}), DCR share {row['dcr_share']:.3f} (ideal "
               f"{row['dcr_share_ideal']:.3f}). `genesis domain {row['domain']} -t {row['template']}` draws the same.")
    st.download_button("Template rows (CSV)", data, f"{row['template']}.csv", "text/csv", key="tab_template_dl")
    return table_source(workspace(), stored["id"]), raw


st.title("Synthetic data")
st.write("Synthetic rows that keep the statistics and the ML utility of a table, with a report on how faithful "
         "and how private they are. Real rows held out from the generator make the privacy figures honest.")

tab_new, tab_reports = st.tabs(["New synthesis", "Reports"])

with tab_new:
    source_kind = st.radio("Data", ["demo", "template", "upload"], horizontal=True, key="tab_source",
                           format_func={"demo": "a demo dataset (ships offline)",
                                        "template": "rows from a domain template (healthcare, finance)",
                                        "upload": "my CSV or Parquet"}.get)
    source, raw = None, None
    if source_kind == "demo":
        demo = st.selectbox("Demo", list(DEMOS), format_func=lambda d: DEMOS[d], key="tab_demo")
        source, raw = f"demo:{demo}", load_demo(demo)
    elif source_kind == "template":
        source, raw = template_source()
    else:
        upload = st.file_uploader("CSV or Parquet (200 MiB at most)", type=["csv", "tsv", "txt", "parquet"],
                                  key="tab_upload")
        if upload is not None:
            try:
                raw, info = read_table(upload.getvalue(), upload.name)
            except TableError as exc:
                show_error(exc)
            else:
                stored = store_read_table(workspace(), upload.getvalue(), raw, info, upload.name)  # once it is good
                source = table_source(workspace(), stored["id"])
                st.caption(f"{info.rows} rows × {info.columns} columns · {info.format}"
                           + (f" · delimiter {info.delimiter!r} · {info.encoding}" if info.format == "csv" else ""))
                for w in info.warnings:
                    st.warning(w)
    if raw is None:
        st.stop()
    st.dataframe(raw.head(8), hide_index=True)

    st.subheader("Schema")
    st.caption("Each column's type and why it was chosen. Change a type where the evidence misled: ids are "
               "written anew, free text is written by a language model trained on its column (or left out), personal "
               "data (pii) is replaced by fake values or left out.")
    inferred = sch.infer_schema(raw)
    table = pd.DataFrame([{"column": c.name, "type": c.kind, "missing": c.missing_rate, "why": c.note}
                          for c in inferred])
    edited = st.data_editor(table, hide_index=True, key=f"tab_schema_{source}", disabled=["column", "missing", "why"],
                            column_config={
                                "type": st.column_config.SelectboxColumn("type", options=list(sch.KINDS), required=True),
                                "missing": st.column_config.ProgressColumn("missing", min_value=0, max_value=1,
                                                                           format="percent")})
    overrides = [f"{r['column']}={r['type']}" for r, c in zip(edited.to_dict("records"), inferred) if r["type"] != c.kind]
    used = [r["column"] for r in edited.to_dict("records") if r["type"] not in sch.NOT_SYNTHESISED]

    st.subheader("Generator and privacy")
    c1, c2, c3 = st.columns(3)
    dp = c2.toggle("Differential privacy", key="tab_dp")
    names = [n for n in GENERATORS.names() if GENERATORS.get(n).private] if dp else GENERATORS.names()
    generator = c1.selectbox("Generator", ["auto", *names], key="tab_gen",
                             help="auto fits every candidate on 80% of the rows, scores it on the other 20% and "
                                  "keeps the best")
    epsilon = c3.number_input("ε (epsilon)", 0.05, 100.0, 1.0, step=0.5, key="tab_eps", disabled=not dp)
    c1, c2, c3 = st.columns(3)
    epochs = c1.number_input("Epochs (CTGAN / TVAE / DP-TVAE)", 1, 5000, 300 if not dp else 50, key="tab_epochs",
                             help=key_help("tabular_synthesis", "epochs"))
    rows = c2.number_input("Synthetic rows (0: as many as the input)", 0, 10_000_000, 0, key="tab_rows",
                           help=key_help("tabular_synthesis", "rows"))
    holdout = c3.slider("Rows held out for the privacy figures", 0.0, 0.5, 0.2, 0.05, key="tab_holdout",
                        help="real rows the generator never sees: the DCR share and the membership AUC need them")
    candidates = []
    c1, c2, c3 = st.columns([3, 1, 1])
    if generator == "auto":
        from genesis_core.tabular.single_table.auto import candidates_for

        candidates = c1.multiselect("Candidates", names, default=candidates_for(float(epsilon) if dp else 0.0),
                                    key="tab_candidates",
                                    help="the same default list as `genesis generate -m auto` and the HTTP API: "
                                         "private generators only with differential privacy on. With ε, auto fits "
                                         "none of them on your rows (that choice would spend privacy): it takes "
                                         "the first in the order aim, mst, dp_tvae")
    tune = c2.number_input("Tuning trials (Optuna)", 0, 200, 0, key="tab_tune", disabled=dp,
                           help="trials of the chosen generator's hyperparameters, scored on held-out rows "
                                "(not for private generators: each trial would spend the budget)")
    budget = c3.number_input("Time budget (s)", 0, 7200, 0, key="tab_budget",
                             help="auto and tuning: the candidates (half) and the final fit together; 0 sizes it to "
                                  "the table (60 s plus 0.02 s per cell, at most 600 s)")
    c1, c2 = st.columns(2)
    dp_categories = c1.selectbox("DP: category sets and ranges of numbers", ["dp", "public"], key="tab_dpcat",
                                 disabled=not dp, format_func={"public": "the observed ones, declared public by me",
                                                               "dp": "paid from ε"}.get)
    personal = c2.selectbox("Personal data (names, emails, phones)", ["replace", "drop"], key="tab_pii",
                            format_func={"replace": "replace by fake values", "drop": "leave out"}.get)
    target = st.selectbox("ML-utility target", ["(none)", *used], key="tab_target")
    c1, c2 = st.columns(2)
    quasi = c1.multiselect("Quasi-identifiers", used, key="tab_quasi")
    sensitive = c2.multiselect("Sensitive columns", used, key="tab_sensitive")
    with st.expander("Constraints"):
        ranges = st.text_input("Ranges (column:low:high, comma-separated)", key="tab_ranges", placeholder="age:18:99")
        inequalities = st.text_input("Inequalities (a<b, comma-separated)", key="tab_ineq", placeholder="start<end")
        fixed = st.text_input("Fixed combinations (a+b, comma-separated)", key="tab_fixed", placeholder="city+zip")
        conditions = st.text_input("Conditions (column=value or column=value@share, comma-separated)",
                                   key="tab_conditions", placeholder="species=Gentoo@0.3",
                                   help="rows drawn given the values (not filtered afterwards): without a share every "
                                        "row, with one that share of the rows; the report says how many hold each")
    has_text = any(r["type"] == "text" for r in edited.to_dict("records"))
    text_mode, text_budget, text_copy, text_vocab, text_size = "model", 0, 40, 2, "small"
    if has_text:
        with st.expander("Free text", expanded=True):
            st.caption("Each text column gets a small byte-level Llama, trained on that column with the row's other "
                       "columns and the text's length (modelled with the table) as a prefix. It is not "
                       "differentially private: with ε, text columns are left out.")
            c1, c2, c3, c4 = st.columns(4)
            text_mode = c1.selectbox("Text columns", ["model", "drop"], key="tab_text_mode",
                                     format_func={"model": "write with a language model", "drop": "leave out"}.get)
            text_budget = c2.number_input("Training seconds per column (0: sized to the text)", 0, 7200, 0,
                                          key="tab_text_budget", disabled=text_mode == "drop")
            text_copy = c3.number_input("Redraw texts repeating this many characters", 8, 10_000, 40,
                                        key="tab_text_copy", disabled=text_mode == "drop")
            text_vocab = c4.number_input("Words used by at least this many rows (0: any)", 0, 1000, 2,
                                         key="tab_text_vocab", disabled=text_mode == "drop")
            text_size = st.radio("Text model", ["tiny", "small", "medium"], index=1, horizontal=True,
                                 key="tab_text_size", disabled=text_mode == "drop",
                                 format_func={"tiny": "tiny (2 × 64: a quick look)", "small": "small (4 × 192)",
                                              "medium": "medium (6 × 256: for a GPU or a long budget)"}.get)
    split = lambda text: [t.strip() for t in (text or "").split(",") if t.strip()]  # noqa: E731
    if st.button("Synthesise", type="primary", key="tab_submit"):
        submit({"task": "tabular_synthesis", "name": f"synthetic {display_name(source)}",
                "source": source, "generator": generator, "candidates": candidates, "auto_budget_s": float(budget),
                "tune": int(tune),
                "epsilon": float(epsilon) if dp else 0.0, "epochs": int(epochs), "rows": int(rows),
                "holdout_fraction": float(holdout), "dp_categories": dp_categories, "personal_data": personal,
                "target": "" if target == "(none)" else target, "quasi_identifiers": quasi, "sensitive": sensitive,
                "column_types": overrides, "ranges": split(ranges), "inequalities": split(inequalities),
                "fixed_combinations": [f.replace("+", ",") for f in split(fixed)], "conditions": split(conditions),
                "text_columns": text_mode, "text_budget_s": float(text_budget), "text_copy_chars": int(text_copy),
                "text_vocabulary_rows": int(text_vocab), "text_size": text_size})
    if dp and st.button("Quality against ε for the private generators (0.5, 1, 3, 10)", key="tab_curve",
                        help="a background job: MST and DP-TVAE fit at each budget; the curve appears under Reports"):
        submit({"task": "tabular_privacy_curve", "name": f"quality vs epsilon {display_name(source)}",
                "source": source, "dp_categories": dp_categories, "column_types": overrides})



@st.cache_data(show_spinner="Reading the real and synthetic tables…", max_entries=4)
def typed_frames(run_dir: str, report_version: int):
    """genesis_core's report_frames, once per report (its mtime is the key), not on every rerun of the page."""
    from genesis_core.store.workspace import Run
    from genesis_core.tabular.pipeline import report_frames

    return report_frames(Run.read(Path(run_dir)))


@st.cache_data(show_spinner=False, max_entries=4)
def correlations(run_dir: str, report_version: int):
    from genesis_core.tabular.evaluation.quality import column_kinds
    from genesis_core.tabular.evaluation.report import correlation_figure

    real, synth, schema = typed_frames(run_dir, report_version)
    return correlation_figure(real, synth, column_kinds(schema, synth.columns))


def fmt(value, spec: str = ".3f") -> str:
    return "–" if value is None else format(value, spec)


with tab_reports:
    curves = [r for r in workspace().list_runs(task="tabular_privacy_curve")
              if r.artifact_path("privacy_curve.json").exists()]
    if curves:
        from genesis_core.tabular.evaluation.report import privacy_curve_figure

        with st.expander(f"Quality against ε ({len(curves)} curve{'s' if len(curves) != 1 else ''})"):
            curve_run = st.selectbox("Curve", curves, format_func=lambda r: f"{r.name} · {r.id}", key="tab_curve_run")
            points = json.loads(curve_run.artifact_path("privacy_curve.json").read_text())["points"]
            st.plotly_chart(privacy_curve_figure(points), key="tab_curve_fig")
            st.dataframe(pd.DataFrame(points), hide_index=True)

    runs = [r for r in workspace().list_runs(task="tabular_synthesis")  # sequences and related tables: their page
            if kind_of(r.config()) == "table"]
    if not runs:
        st.info("No synthesis yet: start one in the first tab.")
        st.stop()
    run = st.selectbox("Synthesis", runs, format_func=lambda r: f"{r.name or r.id} · {r.id}", key="tab_run")

    @st.fragment(run_every=2 if running_job_for(run.id) else None)
    def show_report() -> None:
        report = synthesis_report(run)
        if report is None:
            return
        meta, path = report["meta"], run.artifact_path("report.json")
        plan = pd.DataFrame(meta.get("columns", []))
        if len(plan):
            st.dataframe(plan, hide_index=True, column_config={"what": st.column_config.TextColumn(width="large")})
        if meta.get("conditions"):
            st.markdown("**Conditions: rows drawn given each, and how many hold it**")
            st.dataframe(pd.DataFrame(meta["conditions"]), hide_index=True)
        if meta.get("leaderboard"):
            st.markdown("**Auto: the candidates, each scored on rows it never saw** (score: the mean of the quality "
                        "score and the detection score 1 − 2·max(0, AUC − 0.5))")
            st.dataframe(pd.DataFrame(meta["leaderboard"]), hide_index=True)
        if meta.get("tuning"):
            st.markdown("**Tuning: Optuna trials, each scored on rows it never saw** (trial 1: the defaults)")
            st.dataframe(pd.DataFrame(meta["tuning"]), hide_index=True)
        if "quality" not in report:
            st.info("This synthesis was run without scoring.")
        else:
            show_scores(report)
        with st.form("tab_more"):
            c1, c2 = st.columns([2, 1])
            more = c1.number_input("Sample more rows from this fitted generator", 1, 10_000_000, 1000, key="tab_more_rows")
            if c2.form_submit_button("Sample"):
                from genesis_core.tabular.pipeline import sample_more

                try:
                    with st.spinner(f"Sampling {int(more):,} rows in batches…"):
                        st.session_state["tab_more_path"] = str(sample_more(run, int(more)))
                except WorkbenchError as exc:
                    show_error(exc)
        more_path = st.session_state.get("tab_more_path")
        if more_path and more_path.startswith(str(run.artifacts_dir)):
            with open(more_path, "rb") as fh:
                st.download_button("Download the new rows (CSV)", fh.read(), "more_synthetic.csv", "text/csv",
                                   key="tab_dl_more")
        d1, d2, d3 = st.columns(3)
        d1.download_button("Synthetic CSV", run.artifact_path("synthetic.csv").read_bytes(), "synthetic.csv",
                           "text/csv", key="tab_dl_csv")
        if run.artifact_path("report.html").exists():
            d2.download_button("Report (HTML)", run.artifact_path("report.html").read_bytes(), "report.html",
                               "text/html", key="tab_dl_html")
        d3.download_button("Report (JSON)", path.read_bytes(), "report.json", "application/json", key="tab_dl_json")
        show_release()

    def show_release() -> None:
        from genesis_core.tabular.releases.records import release_for_run

        release = release_for_run(workspace(), run.id)
        if release is None:
            st.caption("No release record for this synthesis (it ran before releases were recorded).")
            return
        parent = release["lineage"].get("parent")
        st.markdown(f"**Release** `{release['id']}`: {release['dataset']} v{release['version']}, input sha256 "
                    f"`{release['input']['sha256'][:12]}`, output sha256 `{release['output']['sha256'][:12]}`"
                    + (f", after `{parent}`" if parent else ", the first of this input")
                    + f". {release['privacy'].get('statement', '')}")
        st.page_link("app_pages/tabular_releases.py", label="Releases, diffs, evidence and drift",
                     icon=":material/history:")

    def show_scores(report: dict) -> None:
        from genesis_core.tabular.evaluation.quality import column_kinds
        from genesis_core.tabular.evaluation.report import dcr_figure, distribution_figure

        q, p = report["quality"], report["privacy"]
        cols = st.columns(5)
        cols[0].metric("Quality score (SDMetrics)", fmt(q["quality_score"]),
                       help="mean of column shapes and column pair trends; 1 is ideal")
        cols[1].metric("Column shapes", fmt(q["column_shapes"]), help="KS / TV complement per column (SDMetrics)")
        cols[2].metric("Column pair trends", fmt(q["column_pair_trends"]),
                       help="correlation / contingency similarity per pair (SDMetrics)")
        cols[3].metric("Detection AUC (0.5 ideal)", fmt(q["c2st_auc"]),
                       help="a classifier telling real from synthetic rows"
                            + (f"; real training vs real held-out rows: {q['c2st_baseline_auc']:.3f}"
                               if q.get("c2st_baseline_auc") is not None else ""))
        cols[4].metric("Membership AUC (0.5 = no signal)", fmt(p.get("membership_auc")))
        if q.get("column_pair_trends_note"):
            st.info(f"Column pair trends: {q['column_pair_trends_note']}")
        version = run.artifact_path("report.json").stat().st_mtime_ns
        try:
            real, synth, schema = typed_frames(str(run.dir), version)
        except (WorkbenchError, OSError, ValueError) as exc:
            show_error(exc)
            return
        kinds = column_kinds(schema, synth.columns)
        t1, t2, t3, t4, t5 = st.tabs(["Columns", "Correlations", "Utility", "Privacy", "Text"])
        with t1:
            st.dataframe(pd.DataFrame(q["columns"]), hide_index=True)
            column = st.selectbox("Distribution of", list(kinds), key="tab_dist_col")
            st.plotly_chart(distribution_figure(real, synth, column, kinds[column]), key="tab_dist")
        with t2:
            st.plotly_chart(correlations(str(run.dir), version), key="tab_corr")
            st.dataframe(pd.DataFrame(q["pairs"]), hide_index=True)
        with t3:
            if "utility" in q and "tstr" in q["utility"]:
                u = q["utility"]
                c = st.columns(4)
                c[0].metric(f"Train real, test real ({u['metric']})", fmt(u["trtr"]))
                c[1].metric("Train synthetic, test real", fmt(u["tstr"]))
                c[2].metric("Constant model (baseline)", fmt(u["constant_baseline"]))
                c[3].metric("Feature-importance rank corr.", fmt(u["importance_rank_corr"]))
                st.caption(u["test_rows"])
            elif "utility" in q:
                st.caption(q["utility"].get("note", ""))
            else:
                st.caption("No target was chosen for this synthesis.")
        with t4:
            if p.get("note"):
                st.info(p["note"])
            st.dataframe(pd.DataFrame(p.get("verdicts", [])), hide_index=True,
                         column_config={"sentence": st.column_config.TextColumn(width="large")})
            if p.get("k_anonymity"):
                st.write(f"k-anonymity of the release: k = {p['k_anonymity']['k']}"
                         + (f", l-diversity l = {p['k_anonymity']['l']}" if "l" in p["k_anonymity"] else ""))
            st.plotly_chart(dcr_figure(p), key="tab_dcr")
            enforce(synth, kinds)
            st.markdown("**Differential privacy**")
            st.json(p["dp"])
        with t5:
            show_text(report)

    def enforce(synth: pd.DataFrame, kinds: dict[str, str]) -> None:
        """k-anonymity or l-diversity enforced on the synthetic rows (generalise, then suppress); a download."""
        from genesis_core.tabular.evaluation.privacy import enforce_k_anonymity, enforce_l_diversity

        st.markdown("**Enforce k-anonymity or l-diversity on the release** (numerical quasi-identifiers "
                    "generalised into quantile bins, then the rows of groups still short suppressed)")
        c1, c2, c3, c4 = st.columns([1, 2, 2, 1])
        what = c1.radio("Enforce", ["l-diversity", "k-anonymity"], key="tab_enf_what")
        quasi = c2.multiselect("Quasi-identifiers", list(kinds), key="tab_enf_quasi")
        sensitive = c3.selectbox("Sensitive column", [c for c in kinds if c not in quasi], key="tab_enf_sensitive",
                                 disabled=what == "k-anonymity")
        level = c4.number_input("l" if what == "l-diversity" else "k", 2, 1000, 2, key="tab_enf_level")
        if not st.button("Enforce", key="tab_enf_go"):
            return
        if not quasi:
            st.warning("Choose at least one quasi-identifier: the groups are rows sharing their values.")
            return
        try:
            if what == "l-diversity":
                released, info = enforce_l_diversity(synth, quasi, sensitive, int(level), kinds)
                said = (f"l = {info['l_after']} for {sensitive!r} (was {info['l_before']}): "
                        f"{info['suppressed_rows']} rows of {info['groups_suppressed']} groups suppressed")
            else:
                released, info = enforce_k_anonymity(synth, quasi, int(level), kinds)
                said = f"k = {int(level)} or more: {info['suppressed_rows']} rows suppressed"
        except (WorkbenchError, ValueError) as exc:
            show_error(exc)
            return
        generalised = ", ".join(info["generalised"]) or "no column"
        st.success(f"{said}; generalised: {generalised} ({info['bins']} quantile bins); {len(released)} of "
                   f"{len(synth)} rows released.")
        st.download_button("Released rows (CSV)", released.to_csv(index=False).encode(), "release.csv", "text/csv",
                           key="tab_enf_download")

    def show_text(report: dict) -> None:
        from genesis_core.tabular.evaluation.text import figures_table, length_figure

        entries = report.get("text") or []
        if not entries:
            st.caption("This table has no free-text column written by a language model.")
            return
        entry = entries[0]
        if len(entries) > 1:
            name = st.selectbox("Text column", [e["column"] for e in entries], key="tab_text_col")
            entry = next(e for e in entries if e["column"] == name)
        info = report["meta"].get("text_models", {}).get(entry["column"], {})
        if info:
            st.caption(f"A {info['parameters']:,}-parameter byte Llama, {info['steps']} steps in {info['seconds']} s "
                       f"(final loss {info['final_loss_nats_per_byte']:.3f} nats per byte); {info.get('redrawn_for_copying', 0)}"
                       f" texts drawn again for repeating {info['copy_chars']} characters of a training text. "
                       "Not differentially private.")
        st.dataframe(pd.DataFrame(figures_table(entry)), hide_index=True)
        st.caption(f"Reference: {entry['reference_name']}, scored against the training text the same way.")
        st.plotly_chart(length_figure(entry), key="tab_text_len")
        if entry["fits_row"]:
            st.markdown("**Does the text fit its row?** A classifier trained on real text → column, scored on "
                        "held-out real pairs and on the synthetic pairs")
            st.dataframe(pd.DataFrame(entry["fits_row"]), hide_index=True)
        st.markdown("**Examples**")
        ex = entry["examples"]
        n = max(len(ex["real"]), len(ex["synthetic"]))
        st.dataframe(pd.DataFrame({"real": (ex["real"] + [""] * n)[:n], "synthetic": (ex["synthetic"] + [""] * n)[:n]}),
                     hide_index=True, column_config={"real": st.column_config.TextColumn(width="large"),
                                                     "synthetic": st.column_config.TextColumn(width="large")})

    show_report()
