"""Sequences and related tables: rows that belong to an entity and come in order (PAR, TimeGAN), and several
tables joined by keys (HMA), each fit as a background job with a quality and privacy report."""

import io
import zipfile

import pandas as pd
import streamlit as st

from app_pages.common import running_job_for, show_error, submit, synthesis_report, workspace
from genesis_core.errors import WorkbenchError
from genesis_core.registry import SEQUENCE_GENERATORS
from genesis_core.store.files import atomic_write_bytes
from genesis_core.tabular.task import kind_of
from genesis_core.tabular.data.uploads import display_name, store_read_table, table_source
from genesis_core.tabular.data.demos import SEQUENCE_DEMOS, TABLE_DEMOS, load_demo, load_demo_tables
from genesis_core.tabular.data.ingest import TableError, read_table, read_written_table

st.title("Sequences and related tables")
st.write("Synthetic sequences (a patient's visits, a station's daily readings) with context kept constant and "
         "lengths that vary, scored step by step; and several tables joined by keys, synthesised together so that "
         "every key resolves.")

tab_seq, tab_tables, tab_reports = st.tabs(["Sequences", "Related tables", "Reports"])


def upload_table(label: str, key: str):
    """(source path, frame) of an uploaded table, kept in the workspace once it reads as a table."""
    upload = st.file_uploader(label, type=["csv", "tsv", "txt", "parquet"], key=key)
    if upload is None:
        return None, None
    try:
        raw, info = read_table(upload.getvalue(), upload.name)
    except TableError as exc:
        show_error(exc)
        return None, None
    stored = store_read_table(workspace(), upload.getvalue(), raw, info, upload.name)
    for w in info.warnings:
        st.warning(w)
    return table_source(workspace(), stored["id"]), raw


with tab_seq:
    kind = st.radio("Data", ["demo", "upload"], horizontal=True, key="seq_source",
                    format_func={"demo": "a demo dataset (ships offline)", "upload": "my CSV or Parquet"}.get)
    source, raw, key_default, index_default = None, None, None, None
    if kind == "demo":
        demo = st.selectbox("Demo", list(SEQUENCE_DEMOS), format_func=lambda d: SEQUENCE_DEMOS[d][0], key="seq_demo")
        source, raw = f"demo:{demo}", load_demo(demo)
        key_default, index_default = SEQUENCE_DEMOS[demo][1:]
    else:
        source, raw = upload_table("CSV or Parquet, one row per step of a sequence", "seq_upload")
    if raw is not None:
        st.dataframe(raw.head(8), hide_index=True)
        columns = list(map(str, raw.columns))
        c1, c2, c3 = st.columns(3)
        key = c1.selectbox("Sequence key (the entity a row belongs to)", columns, key=f"seq_key_{source}",
                           index=columns.index(key_default) if key_default in columns else 0)
        index = c2.selectbox("Sequence index (each row's order)", ["(the file's order)", *columns],
                             key=f"seq_index_{source}",
                             index=columns.index(index_default) + 1 if index_default in columns else 0)
        index = "" if index.startswith("(") else index
        generator = c3.selectbox("Generator", SEQUENCE_GENERATORS.names(), key="seq_gen",
                                 help="par: SDV's PARSynthesizer; timegan: TimeGAN (its three training phases)")
        try:
            from genesis_core.tabular.sequential.generators import prepare_sequences

            frame, spec = prepare_sequences(raw, key, index)
        except TableError as exc:
            show_error(exc)
        else:
            lengths = frame.groupby(spec.key).size()
            st.caption(f"{len(lengths)} sequences, {lengths.min()}–{lengths.max()} steps (median "
                       f"{int(lengths.median())}); constant per sequence (context): {', '.join(spec.context) or 'none'};"
                       f" changing along it: {', '.join(spec.channels)}")
            c1, c2, c3 = st.columns(3)
            epochs = c1.number_input("Epochs", 1, 5000, 128, key="seq_epochs")
            count = c2.number_input("Synthetic sequences (0: as many as the input)", 0, 1_000_000, 0, key="seq_n")
            holdout = c3.slider("Sequences held out for the floor and privacy", 0.0, 0.5, 0.2, 0.05, key="seq_hold")
            if st.button("Synthesise sequences", type="primary", key="seq_submit"):
                submit({"task": "tabular_synthesis", "name": f"sequences {display_name(source)} ({generator})",
                        "source": source, "sequence_key": key, "sequence_index": index, "generator": generator,
                        "epochs": int(epochs), "rows": int(count), "holdout_fraction": float(holdout)})

with tab_tables:
    kind = st.radio("Data", ["demo", "upload"], horizontal=True, key="rel_source",
                    format_func={"demo": "a demo set (ships offline)", "upload": "my CSV files"}.get)
    sources, tables = [], None
    if kind == "demo":
        demo = st.selectbox("Demo", list(TABLE_DEMOS), format_func=TABLE_DEMOS.get, key="rel_demo")
        sources, tables = [f"demo:{demo}"], load_demo_tables(demo)
    else:
        uploads = st.file_uploader("Two or more CSV files, one per table (the file name is the table name)",
                                   type=["csv", "tsv", "txt", "parquet"], accept_multiple_files=True, key="rel_upload")
        if uploads:
            tables = {}
            try:
                for u in uploads:
                    name = u.name.rsplit(".", 1)[0]
                    if name in tables:
                        raise TableError(f"two files are named {name!r}; each table needs its own name.")
                    tables[name] = read_table(u.getvalue(), u.name)[0]
            except TableError as exc:
                show_error(exc)
                tables = None
            else:
                for u in uploads:  # kept under their own names: a file's name is its table's name
                    path = workspace().upload_path(u.name)
                    atomic_write_bytes(path, u.getvalue())
                    sources.append(str(path))
    if tables:
        for name, frame in tables.items():
            st.caption(f"**{name}**: {len(frame)} rows × {frame.shape[1]} columns")
        from genesis_core.tabular.multi_table.related_tables import relationships_of, table_metadata

        try:
            detected = [f"{r['parent_table_name']}.{r['parent_primary_key']}:{r['child_table_name']}."
                        f"{r['child_foreign_key']}" for r in relationships_of(table_metadata(tables))]
        except TableError as exc:
            st.warning(str(exc))
            detected = []
        text = st.text_area("Keys, one per line as parent_table.key:child_table.foreign_key (detected by SDV; edit "
                            "them if it got them wrong)", "\n".join(detected), key=f"rel_keys_{'/'.join(sources)}")
        relationships = [line.strip() for line in text.splitlines() if line.strip()]
        try:
            table_metadata(tables, relationships)
        except TableError as exc:
            show_error(exc)
        else:
            scale = st.number_input("Scale (synthetic rows per real row)", 0.1, 100.0, 1.0, 0.1, key="rel_scale")
            if st.button("Synthesise the tables", type="primary", key="rel_submit"):
                submit({"task": "tabular_synthesis", "name": f"tables {', '.join(tables)}", "sources": sources,
                        "relationships": relationships if relationships != detected else [], "generator": "hma",
                        "scale": float(scale)})


def fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"


with tab_reports:
    runs = [r for r in workspace().list_runs(task="tabular_synthesis")
            if kind_of(r.config()) != "table"]
    if not runs:
        st.info("No sequences or related tables synthesised yet: start one in the first two tabs.")
        st.stop()
    run = st.selectbox("Synthesis", runs, format_func=lambda r: f"{r.name or r.id} · {r.id}", key="rel_run")

    @st.fragment(run_every=2 if running_job_for(run.id) else None)
    def show_report() -> None:
        report = synthesis_report(run)
        if report is None:
            return
        meta, path = report["meta"], run.artifact_path("report.json")
        if meta.get("kind") == "sequences":
            show_sequences(report)
        else:
            show_tables(report)
        st.download_button("Report (JSON)", path.read_bytes(), "report.json", "application/json", key="rel_dl_json")
        if run.artifact_path("report.html").exists():
            st.download_button("Report (HTML)", run.artifact_path("report.html").read_bytes(), "report.html",
                               "text/html", key="rel_dl_html")

    def show_sequences(report: dict) -> None:
        from genesis_core.tabular.pipeline import read_source
        from genesis_core.tabular.evaluation.sequences import FIGURES, figure
        from genesis_core.tabular.sequential.generators import SequenceSpec, prepare_sequences

        spec = SequenceSpec.from_dict(report["meta"]["spec"])
        synth_path = run.artifact_path("synthetic.csv")
        st.download_button("Synthetic CSV", synth_path.read_bytes(), "synthetic.csv", "text/csv", key="rel_dl_seq")
        if "quality" not in report:
            st.info("This synthesis was run without scoring.")
            return
        q, p = report["quality"], report["privacy"]
        ref = q.get("reference", {})
        st.dataframe(pd.DataFrame([{"figure": label, "synthetic": q.get(k), "held-out real (the floor)": ref.get(k),
                                    "better": "higher" if up else "lower"} for k, label, up in FIGURES
                                   if q.get(k) is not None]), hide_index=True)
        cols = st.columns(3)
        cols[0].metric("Nearest training sequence (median distance)", fmt(p.get("nearest_train_median")))
        cols[1].metric("Nearest held-out sequence (median)", fmt(p.get("nearest_holdout_median")))
        cols[2].metric("Share closer to training", fmt(p.get("share_closer_to_train")),
                       help=f"ideal: {fmt(p.get('share_ideal'))}, the share of training sequences among both")
        if p.get("note"):
            st.info(p["note"])
        try:
            real = prepare_sequences(read_source(run.config()["source"])[0], spec.key, spec.index,
                                     spec.context)[0]
            synth = prepare_sequences(read_written_table(synth_path, report["meta"]), spec.key,
                                      spec.index, spec.context)[0]
        except (WorkbenchError, OSError, ValueError) as exc:
            show_error(exc)
            return
        st.plotly_chart(figure(real, synth, spec), key="rel_seq_fig")

    def show_tables(report: dict) -> None:
        folder = run.artifacts_dir / "synthetic"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            for f in sorted(folder.glob("*.csv")):
                z.write(f, f.name)
        st.download_button("Synthetic tables (zip of CSVs)", buffer.getvalue(), "synthetic_tables.zip",
                           "application/zip", key="rel_dl_zip")
        if "relationships" not in report:
            st.info("This synthesis was run without scoring.")
            return
        st.markdown("**Keys**: every foreign key should resolve (1.0); children per parent should be distributed "
                    "as in the real data (1 - KS statistic)")
        st.dataframe(pd.DataFrame(report["relationships"]), hide_index=True)
        st.markdown("**Each table** (SDMetrics, key columns left out)")
        st.dataframe(pd.DataFrame(report["tables"]), hide_index=True)

    show_report()
