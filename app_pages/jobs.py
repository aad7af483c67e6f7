"""Jobs: a live table of every job with progress, ETA, log tail and loss sparkline; cancel, resume, retry."""

import pandas as pd
import streamlit as st
import yaml

from app_pages.common import STATUS_ICONS, show_error, workspace
from genesis_core.config import apply_overrides, parse_mapping, to_dict
from genesis_core.formatting import format_eta, format_time
from genesis_core.jobs import api, scheduler
from genesis_core.jobs.store import JobStateError
from genesis_core.registry import TASKS
from genesis_core.store.metrics import MetricsReader

st.title("Jobs")
ws = workspace()

with st.expander("Start a job", expanded=False):
    task_name = st.selectbox("Task", TASKS.names(), key="new_task")
    defaults = yaml.safe_dump(to_dict(TASKS.get(task_name).config_cls()), sort_keys=False)
    text = st.text_area("Config (YAML)", defaults, height=320, key=f"new_config_{task_name}")
    overrides = st.text_input("Overrides (key=value, space separated)", placeholder="trainer.steps=100",
                              key="new_overrides")
    if st.button("Submit", type="primary", key="submit_job"):
        try:
            job = api.submit(apply_overrides(parse_mapping(text), overrides.split()))
        except Exception as exc:  # config, device or path errors: one sentence, nothing lost
            show_error(exc)
        else:
            st.success(f"Submitted {job.id} ({job.status}).")


def _loss_curve(run_id: str) -> list[float]:
    try:
        return MetricsReader(ws.get_run(run_id).metrics_path).sparkline("loss")
    except (KeyError, ValueError):  # the run was deleted, or its id is unusable
        return []


@st.cache_data(show_spinner=False, max_entries=1000)
def _finished_loss_curve(run_id: str, finished: float) -> list[float]:
    return _loss_curve(run_id)  # a finished job's curve no longer changes: keyed by its end time


def loss_history(job) -> list[float]:
    return _finished_loss_curve(job.run_id, job.finished) if job.done and job.finished else _loss_curve(job.run_id)


@st.fragment(run_every=2)
def slots_panel() -> None:
    """Who holds each slot of the queue and since when; how many jobs wait for it."""
    for slot in api.slots(ws):
        st.caption(api.describe_slot(slot))


def slot_settings() -> None:
    with st.popover("Change how many jobs run at once", key="slots_pop"):
        for slot in api.slots(ws):
            name = scheduler.LANE_NAMES.get(slot["lane"], slot["lane"])
            new = st.number_input(f"{slot['device']} {name} slots", 1, 64, int(slot["slots"]),
                                  key=f"slots_{slot['device']}_{slot['lane']}",
                                  help=f"now {slot['slots']} ({slot['source']}); the queue starts what fits at once")
            if new != slot["slots"]:
                try:
                    api.set_slots(slot["device"], slot["lane"], int(new), ws)
                except ValueError as exc:
                    show_error(exc)
                else:
                    st.toast(f"{slot['device']} {name}: {int(new)} at once.")


@st.fragment(run_every=2)
def live_table() -> None:
    jobs = api.list_jobs(ws, limit=200)
    if not jobs:
        st.info("No jobs yet. Start one above or from the Home page.")
        return
    waiting = api.queue_positions(ws)
    counts = pd.Series([j.status for j in jobs]).value_counts()
    st.caption(" · ".join(f"{STATUS_ICONS[s]} {s}: {counts.get(s, 0)}" for s in STATUS_ICONS))
    table = pd.DataFrame(
        {
            "job": [j.id for j in jobs],
            "name": [j.name or j.task for j in jobs],
            "status": [f"{STATUS_ICONS[j.status]} {j.status}" + (f" #{waiting[j.id][0]}" if j.id in waiting else "")
                       + (" · cancelling…" if j.status == "running" and j.cancel_requested else "") for j in jobs],
            "waits for": [waiting[j.id][1] if j.id in waiting else "" for j in jobs],
            "progress": [j.progress for j in jobs],
            "step": [f"{j.step}/{j.total}" for j in jobs],
            "now": [j.phase if j.status == "running" else "" for j in jobs],
            "ETA": [format_eta(j.eta_s) if j.status == "running" else "–" for j in jobs],
            "backend": [j.backend for j in jobs],
            "loss": [j.metrics.get("loss") for j in jobs],
            "loss curve": [loss_history(j) for j in jobs],
            "created": [format_time(j.created) for j in jobs],
        }
    )
    event = st.dataframe(
        table, hide_index=True, on_select="rerun", selection_mode="single-row", key="jobs_table",
        column_config={
            "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
            "loss": st.column_config.NumberColumn("loss", format="%.4f"),
            "loss curve": st.column_config.LineChartColumn("loss curve"),
            # wide enough for what they hold: "✔ succeeded #12", "10000/10000", "checkpointing (last time 3 s)"
            "status": st.column_config.TextColumn("status", width=150),
            "step": st.column_config.TextColumn("step", width=110),
            "now": st.column_config.TextColumn("now", width=220),
            "ETA": st.column_config.TextColumn("ETA", width=80),
        },
    )
    rows = event.selection.rows if event is not None else []
    wanted = st.query_params.get("job")
    if rows:
        selected = jobs[rows[0]]
    else:
        selected = next((j for j in jobs if j.id == wanted), jobs[0])
    details(selected, waiting.get(selected.id))


def details(job, waiting: tuple[int, str] | None = None) -> None:
    st.subheader(f"{STATUS_ICONS[job.status]} {job.name or job.task}")
    st.caption(f"{job.id} · task {job.task} · device {job.device} · {job.lane} lane · backend {job.backend}"
               + (f" ({job.backend_address})" if job.backend_address else "") + f" · attempt {job.attempts + 1}")
    if waiting is not None:
        st.info(f"Queued, number {waiting[0]} in line: {waiting[1]}.")
    if job.status == "running":
        st.progress(job.progress, text=f"step {job.step} of {job.total} · ETA {format_eta(job.eta_s)}"
                    + (f" · {job.phase}" if job.phase else "") + (" · cancelling…" if job.cancel_requested else ""))
    if job.error:
        st.error(job.error)
    metrics = {k: v for k, v in job.metrics.items() if k != "lr"}
    if metrics:
        cols = st.columns(min(len(metrics), 6))
        for col, (k, v) in zip(cols, list(metrics.items())[:6]):
            col.metric(k, f"{v:.4g}")
    buttons = st.columns(4)
    try:
        if buttons[0].button("Cancel", disabled=job.status not in ("queued", "running"), key=f"cancel_{job.id}"):
            api.cancel(job.id, ws)
            st.toast("Cancel requested: the job checkpoints and stops.")
        if buttons[1].button("Resume", disabled=job.status not in ("failed", "cancelled"), key=f"resume_{job.id}"):
            api.resume(job.id, ws)
            st.toast("Resumed from the last checkpoint.")
        if buttons[2].button("Retry", disabled=not job.done, key=f"retry_{job.id}"):
            new = api.retry(job.id, ws)
            st.toast(f"Retrying as {new.id}.")
    except (JobStateError, KeyError, ValueError) as exc:
        show_error(exc)
    with buttons[3]:
        st.page_link("app_pages/runs.py", label="Open the run", icon=":material/folder_open:", query_params={"run": job.run_id})
    st.markdown("**Log tail**")
    st.code(api.log_tail(job, ws, lines=25) or "(no output yet)", language="text", wrap_lines=True)


st.markdown("**Slots** (which job holds each, since when)")
slots_panel()
slot_settings()
live_table()
