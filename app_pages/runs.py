"""Runs: list, filter, tag, favorite and delete runs; a run's config, curves, events and artifacts."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import yaml

from app_pages.common import STATUS_ICONS, show_error, workspace
from genesis_core.formatting import format_time
from genesis_core.jobs.api import list_jobs
from genesis_core.store.compare import MAX_RUNS, X_AXES, common_keys, config_table, curves, curves_figure, metric_table
from genesis_core.store.metrics import MetricsReader
from genesis_core.store.workspace import filter_runs

st.title("Runs")
ws = workspace()

def compare(chosen) -> None:
    """Overlaid curves, the config keys that differ, the latest metrics; CSV downloads of both tables."""
    st.subheader(f"Comparing {len(chosen)} runs")
    keys = common_keys(chosen)
    if not keys:
        st.info("None of these runs has logged metrics yet.")
        return
    c1, c2, c3, c4 = st.columns([3, 2, 2, 1])
    key = c1.selectbox("Metric", keys, key="cmp_key")
    x = c2.radio("x-axis", X_AXES, horizontal=True, key="cmp_x")
    smoothing = c3.slider("Smoothing (EMA)", 0.0, 0.99, 0.6, 0.01, key="cmp_smooth")
    log_y = c4.toggle("log y", key="cmp_logy")
    frame = curves(chosen, key, x, smoothing)
    if frame.empty:
        st.caption(f"No run logged {key} on this x-axis.")
    else:
        st.plotly_chart(curves_figure(frame, key, x, log_y), key="cmp_fig")
    only = st.toggle("Differences only", True, key="cmp_diff")
    configs = config_table(chosen, differences_only=only)
    st.markdown("**Config**")
    st.dataframe(configs, hide_index=True)
    metrics = metric_table(chosen)
    st.markdown("**Latest metrics** (click a column to sort)")
    st.dataframe(metrics, hide_index=True)
    d1, d2 = st.columns(2)
    d1.download_button("Metrics (CSV)", metrics.to_csv(index=False), "runs_metrics.csv", "text/csv", key="cmp_dl_m")
    d2.download_button("Config (CSV)", configs.to_csv(index=False), "runs_config.csv", "text/csv", key="cmp_dl_c")


if "runs_deleted" in st.session_state:
    st.success(st.session_state.pop("runs_deleted"))
filters = st.columns([2, 2, 2, 1])
text = filters[0].text_input("Search", placeholder="id or name", key="runs_search")
all_runs = ws.list_runs()
tasks = sorted({r.task for r in all_runs})
tags = sorted({t for r in all_runs for t in r.tags})
task = filters[1].selectbox("Task", ["all"] + tasks, key="runs_task")
tag = filters[2].selectbox("Tag", ["all"] + tags, key="runs_tag")
only_favorites = filters[3].toggle("★ only", key="runs_fav")
runs = filter_runs(all_runs, task=None if task == "all" else task, tag=None if tag == "all" else tag,
                   favorite=True if only_favorites else None, text=text or None)

status_by_run = {}
for job in list_jobs(ws, limit=500, refresh=False):
    status_by_run.setdefault(job.run_id, job.status)

if not runs:
    st.info("No runs match." if all_runs else "No runs yet: start a job from the Home or Jobs page.")
    st.stop()

table = pd.DataFrame({
    "★": ["★" if r.favorite else "" for r in runs],
    "run": [r.id for r in runs],
    "name": [r.meta.get("name") or "–" for r in runs],
    "task": [r.task for r in runs],
    "status": [f"⚠ damaged: {r.damaged}" if r.damaged else
               f"{STATUS_ICONS.get(status_by_run.get(r.id), '')} {status_by_run.get(r.id, '–')}" for r in runs],
    "tags": [", ".join(r.tags) for r in runs],
    "created": [format_time(r.meta.get("created")) for r in runs],
})
event = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="multi-row", key="runs_table")
st.caption(f"Select one run for its details, or several (up to {MAX_RUNS}) to compare them.")
rows = event.selection.rows if event is not None else []
wanted = st.query_params.get("run")
if len(rows) > 1:
    compare([runs[i] for i in rows[:MAX_RUNS]])
    st.stop()
if rows:
    run = runs[rows[0]]
elif wanted:
    try:
        run = ws.get_run(wanted)
    except (KeyError, ValueError) as exc:
        show_error(exc)
        st.stop()
else:
    run = runs[0]

st.divider()
st.subheader(("★ " if run.favorite else "") + run.name)
st.caption(f"{run.id} · task {run.task} · created {format_time(run.meta.get('created'))} · {run.dir}")
if run.damaged:
    st.warning(f"This run is damaged ({run.damaged}); it can only be deleted.")

edit = st.columns([3, 1, 1])
new_tags = edit[0].text_input("Tags (comma separated)", ", ".join(run.tags), key=f"tags_{run.id}",
                              disabled=bool(run.damaged))
if new_tags != ", ".join(run.tags):
    ws.set_tags(run.id, new_tags.split(","))
    st.rerun()
if edit[1].button("Unfavorite" if run.favorite else "★ Favorite", key=f"fav_{run.id}", disabled=bool(run.damaged)):
    ws.set_favorite(run.id, not run.favorite)
    st.rerun()
with edit[2].popover("Delete", key=f"del_pop_{run.id}"):  # keyed by run: it closes once the run is gone
    st.write("This removes the run's checkpoints, metrics and artifacts.")
    running = status_by_run.get(run.id) in ("running", "queued")
    if st.button("Delete for good", type="primary", key=f"del_{run.id}", disabled=running,
                 help="Cancel its job first." if running else None):
        ws.delete_run(run.id)
        st.session_state["runs_deleted"] = f"Deleted run {run.name} ({run.id}): its checkpoints, metrics and artifacts."
        if st.query_params.get("run") == run.id:
            del st.query_params["run"]
        st.rerun()

reader = MetricsReader(run.metrics_path)
scalars = reader.scalars()
curves_tab, config_tab, events_tab, files_tab = st.tabs(["Curves", "Config", "Events", "Artifacts & checkpoints"])
with curves_tab:
    if scalars.empty:
        st.info("No metrics logged yet.")
    else:
        keys = sorted(scalars["key"].unique())
        default = [k for k in keys if k == "loss" or k.endswith("mse")] or keys[:1]
        chosen = st.multiselect("Series", keys, default=default, key=f"series_{run.id}")
        fig = go.Figure()
        for key in chosen:
            s = scalars[scalars["key"] == key]
            fig.add_trace(go.Scatter(x=s["step"], y=s["value"], mode="lines+markers" if len(s) < 30 else "lines",
                                     name=key))
        log_y = st.toggle("log scale", value=True, key=f"logy_{run.id}")
        fig.update_layout(xaxis_title="step", yaxis_title="value", yaxis_type="log" if log_y else "linear",
                          height=380, margin=dict(l=10, r=10, t=30, b=10))
        st.plotly_chart(fig, width="stretch")
        latest = reader.latest()
        evals = {k: v for k, v in latest.items() if k.startswith("eval/")}
        if evals:
            st.markdown("**Latest evaluation** (test split; `pca_*` is the PCA baseline of the same size)")
            st.dataframe(pd.DataFrame({"metric": list(evals), "value": list(evals.values())}), hide_index=True)
with config_tab:
    try:
        st.code(yaml.safe_dump(run.config(), sort_keys=False), language="yaml")
    except ValueError as exc:
        show_error(exc)
with events_tab:
    events = reader.events()
    if events.empty:
        st.info("No events yet.")
    else:
        events["time"] = events["wall"].map(format_time)
        st.dataframe(events[["step", "time", "kind", "message"]], hide_index=True)
with files_tab:
    artifacts = run.artifacts()
    images = [p for p in artifacts if p.suffix.lower() in (".png", ".jpg", ".gif")]
    for p in images:
        st.image(str(p), caption=p.name)
    for p in artifacts:
        if p not in images:
            st.download_button(f"Download {p.name}", p.read_bytes(), file_name=p.name, key=f"dl_{run.id}_{p.name}")
    checkpoints = sorted(run.checkpoints_dir.glob("step_*"))
    st.markdown("**Checkpoints** (safetensors + JSON)")
    st.write([p.name for p in checkpoints] or "none yet")
