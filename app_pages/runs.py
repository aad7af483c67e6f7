"""Runs: list, filter, tag, favorite and delete runs; a run's config, curves, events and artifacts."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import yaml

from app_pages.common import STATUS_ICONS, show_error, workspace
from genesis_core.formatting import format_time
from genesis_core.jobs.api import list_jobs
from genesis_core.store.compare import (
    MAX_RUNS,
    MIN_SMOOTHED_POINTS,
    X_AXES,
    common_keys,
    config_table,
    curves,
    curves_figure,
    group_curves,
    group_figure,
    group_of,
    grouped_final,
    headline_metric,
    joined,
    metric_table,
    panels_figure,
    parallel_figure,
    scatter_figure,
    title_of,
)
from genesis_core.store.metrics import MetricsReader
from genesis_core.store.workspace import filter_runs

VIEWS = ["Curves", "Hyperparameters and results", "Tables"]

st.title("Runs")
ws = workspace()

def compare(selected) -> None:
    """Panels of several metrics (raw faint, smoothed on top) or groups with bands, hyperparameters against final
    metrics, the config keys that differ; the view (query, metrics, grouping, x) kept in the page's URL."""
    from genesis_core.store.run_query import QueryError, filter_runs as query_runs

    url = st.query_params
    st.subheader(f"Comparing {len(selected)} runs")
    query = st.text_input("Query", url.get("q", ""), key="cmp_query",
                          placeholder="eval/psnr_db > 20 and model.latent_dim <= 16",
                          help="clauses joined by 'and': a final metric or a config key (dotted), an operator "
                               "(< <= > >= = !=) and a value; also task, name, tag, id")
    try:
        chosen = query_runs(selected, query)
    except QueryError as exc:
        show_error(exc)
        chosen = selected
    if not chosen:
        st.info(f"None of the {len(selected)} selected runs matches the query.")
        return
    if len(chosen) < len(selected):
        st.caption(f"{len(chosen)} of the {len(selected)} selected runs match the query.")
    keys = common_keys(chosen)
    if not keys:
        st.info("None of these runs has logged metrics yet.")
        return
    wanted = [k for k in url.get("m", "").split(",") if k in keys] or [headline_metric(chosen, keys)]
    differences = config_table(chosen)  # read once: the grouping keys, the finals and the Tables tab use it
    differing = [c for c in differences.columns if c not in ("run", "id")]
    c1, c2 = st.columns([3, 2])
    metrics = c1.multiselect("Metrics (a panel each)", keys, wanted, key="cmp_keys",
                             help="the first is the runs' headline figure (their best_metric) where they log it")
    by_default = url.get("by", "none")
    by = c2.selectbox("Group by (mean and min-max band)", ["none", *differing], key="cmp_by",
                      index=(["none", *differing].index(by_default) if by_default in ["none", *differing] else 0))
    c1, c2, c3 = st.columns([3, 2, 1])
    x = c1.radio("x-axis", X_AXES, horizontal=True, key="cmp_x",
                 index=X_AXES.index(url["x"]) if url.get("x") in X_AXES else 0)
    smoothing = c2.slider("Smoothing (EMA)", 0.0, 0.99, 0.6, 0.01, key="cmp_smooth",
                          help=f"series of fewer than {MIN_SMOOTHED_POINTS} points are drawn raw; the raw series is "
                               "always drawn faint beneath, and each run's last logged value is marked")
    log_y = c3.toggle("log y", key="cmp_logy")
    url.update({"x": x, "by": by, "m": ",".join(metrics)} | ({"q": query} if query else {}))
    if not query and "q" in url:
        del url["q"]
    group = "" if by == "none" else by
    # tabs run lazily: only the open one is computed and drawn, so opening a comparison draws the curves alone
    # (the parallel coordinates, the scatter and two tables cost the browser seconds at 100 runs); the open tab
    # is in the URL with the rest of the view
    curves_tab, params_tab, tables_tab = st.tabs(VIEWS, key="cmp_view", on_change="rerun", bind="query-params")
    if curves_tab.open:
        with curves_tab:
            if len(metrics) == 1:
                frame = curves(chosen, metrics[0], x, smoothing)
                title = title_of(metrics[0], chosen, frame)
                if frame.empty:
                    st.caption(f"No run logged {metrics[0]} on this x-axis.")
                elif group:
                    grouped = group_curves(frame, group_of(chosen, group))
                    st.plotly_chart(group_figure(grouped, metrics[0], x, group, log_y, title), key="cmp_fig")
                else:
                    st.plotly_chart(curves_figure(frame, metrics[0], x, log_y, title), key="cmp_fig")
            elif metrics:
                st.plotly_chart(panels_figure(chosen, metrics, x, smoothing, group, tuple(metrics) if log_y else ()),
                                key="cmp_panels")
    if not (params_tab.open or tables_tab.open):
        return
    latest = metric_table(chosen)
    finals = joined(differences, latest)
    numeric_metrics = [k for k in finals.columns if k not in ("run", "id", "task", *differing)
                       and pd.api.types.is_numeric_dtype(finals[k])]
    if params_tab.open:
        with params_tab:
            if not differing or not numeric_metrics:
                st.caption("Parallel coordinates need a config key that differs between the runs and a final metric.")
            else:
                dims = st.multiselect("Axes", differing + numeric_metrics,
                                      differing[:4] + [m for m in metrics if m in numeric_metrics][:2], key="cmp_dims")
                colour = st.selectbox("Colour by", numeric_metrics, key="cmp_colour",
                                      index=numeric_metrics.index(metrics[0])
                                      if metrics and metrics[0] in numeric_metrics else 0)
                if dims:
                    st.plotly_chart(parallel_figure(finals, dims, colour), key="cmp_parallel")
                    st.caption("Drag along an axis to brush: only the runs inside every brushed range stay lit.")
                s1, s2 = st.columns(2)
                param = s1.selectbox("Hyperparameter", differing, key="cmp_sc_x")
                metric = s2.selectbox("Final metric", numeric_metrics, key="cmp_sc_y")
                st.plotly_chart(scatter_figure(finals, param, metric), key="cmp_scatter")
                if group and metric:
                    st.dataframe(grouped_final(finals, group, metric), hide_index=True)
    if tables_tab.open:
        with tables_tab:
            only = st.toggle("Differences only", True, key="cmp_diff")
            configs = differences if only else config_table(chosen, differences_only=False)
            st.markdown("**Config**")
            st.dataframe(configs, hide_index=True)
            st.markdown("**Latest metrics** (click a column to sort)")
            st.dataframe(latest, hide_index=True)
            d1, d2 = st.columns(2)
            d1.download_button("Metrics (CSV)", latest.to_csv(index=False), "runs_metrics.csv", "text/csv",
                               key="cmp_dl_m")
            d2.download_button("Config (CSV)", configs.to_csv(index=False), "runs_config.csv", "text/csv",
                               key="cmp_dl_c")


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
st.caption(f"Select one run for its details, or several (up to {MAX_RUNS}) to compare them, or compare every listed "
           "run at once.")
every = st.toggle(f"Compare every listed run (the first {MAX_RUNS})", st.query_params.get("all") == "1",
                  key="runs_all", disabled=len(runs) < 2)
if every:
    st.query_params["all"] = "1"
elif "all" in st.query_params:
    del st.query_params["all"]
rows = event.selection.rows if event is not None else []
wanted = st.query_params.get("run")
if every and len(runs) > 1:
    compare(runs[:MAX_RUNS])
    st.stop()
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
