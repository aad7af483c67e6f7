"""Small UI helpers shared by the pages (formatting and the sidebar). No model logic."""

from __future__ import annotations

from typing import Any

import streamlit as st

from genesis_core.errors import one_sentence
from genesis_core.formatting import format_eta
from genesis_core.jobs import api
from genesis_core.store.workspace import Workspace

STATUS_ICONS = {"queued": "◷", "running": "▶", "succeeded": "✔", "failed": "✖", "cancelled": "■"}


def workspace() -> Workspace:
    return Workspace()


def _describe_device() -> str:
    from genesis_core.device import describe_device, pick_device

    return describe_device(pick_device())


@st.cache_resource(show_spinner=False)
def _device_future():
    """The device is looked up in a thread (it imports torch): the first page paints without waiting."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(1, thread_name_prefix="device").submit(_describe_device)


def device_label() -> str:
    future = _device_future()
    return future.result() if future.done() else "detecting…"


def show_error(exc: Exception) -> None:
    """One clear sentence for errors a user can cause; never a traceback."""
    st.error(one_sentence(exc))


def backend_choice() -> None:
    """Where new jobs run, offered when a Ray cluster is configured (GENESIS_RAY_ADDRESS, or a local instance)."""
    from genesis_core.jobs.backends import ray_configured

    address = ray_configured(workspace())
    if address:
        st.radio("Run new jobs", ["local", "ray"], horizontal=True, key="job_backend",
                 format_func={"local": "here", "ray": f"on Ray ({address})"}.get)
    else:
        st.session_state["job_backend"] = "local"


TRACKERS = {"tensorboard": "TensorBoard (RUN/tb)", "mlflow": "MLflow (WORKSPACE/mlflow.db)",
            "wandb": "W&B offline (RUN/wandb)", "none": "only the workbench's store"}


def tracker_choice() -> None:
    """Which experiment tracker new training jobs log to, besides the run's own store (trainer.tracker)."""
    st.selectbox("Log new runs to", list(TRACKERS), key="job_tracker", format_func=TRACKERS.get,
                 help="Every run's metrics are always in the workbench's store (what the pages read); this adds a "
                      "tracker. MLflow: a local SQLite store, `mlflow ui --backend-store-uri sqlite:///WORKSPACE/mlflow.db`. "
                      "W&B: offline, `wandb sync RUN/wandb/offline-run-*` uploads it.")


@st.fragment(run_every=3)
def sidebar_jobs() -> None:
    st.caption(f"Device: {device_label()}")
    st.markdown("**Active jobs**")
    jobs = api.list_jobs(workspace(), status=("running", "queued"), limit=8)
    if not jobs:
        st.caption("No job running.")
        return
    waiting = api.queue_positions(workspace())
    for job in jobs:
        label = f"{STATUS_ICONS[job.status]} {job.name or job.task} · {job.step}/{job.total}"
        if job.id in waiting:
            label = f"{STATUS_ICONS[job.status]} {job.name or job.task} · queued #{waiting[job.id][0]}"
        elif job.cancel_requested:
            label += " · cancelling…"
        elif job.phase:
            label += f" · {job.phase[:60]}"
        st.progress(job.progress, text=label)
        if job.id in waiting:
            st.caption(f"waits: {waiting[job.id][1]}")


def submit(config: dict[str, Any], tags: list[str] | None = None) -> None:
    """Submit a config as a background job and say so, with a link to watch it."""
    backend = st.session_state.get("job_backend", "local")
    tracker = st.session_state.get("job_tracker", "tensorboard")
    if tracker != "tensorboard" and "tracker" not in config.get("trainer", {}):
        config = {**config, "trainer": {**config.get("trainer", {}), "tracker": tracker}}
    try:
        job = api.submit(config, workspace=workspace(), tags=tags, backend=backend)
    except Exception as exc:  # config, data or device errors a user can cause: one sentence
        show_error(exc)
        return
    st.success(f"Started job {job.id} ({job.status}): {job.name}.")
    st.page_link("app_pages/jobs.py", label="Watch it on the Jobs page", icon=":material/memory:",
                 query_params={"job": job.id})


def running_job_for(run_id: str):
    """The queued or running job of a run (the sidebar's refresh ticks the queue, so dead workers are noticed)."""
    return api.active_job(run_id, workspace())


def estimate_text(task: str, steps: int) -> str:
    """How long `steps` steps of `task` take here, measured on earlier jobs; says so when nothing is measured."""
    measured = api.estimate_seconds(task, steps, workspace())
    if measured is None:
        return "no earlier job of this kind to time it from"
    seconds, jobs = measured
    return f"about {format_eta(seconds)} here, timed on {jobs} earlier job{'s' if jobs != 1 else ''}"


def synthesis_report(run) -> dict | None:
    """The finished synthesis report of a run, with its summary and warnings shown; while its job runs, a
    progress bar instead; None (and why) when there is no report."""
    import json

    job = running_job_for(run.id)
    if job is not None:
        st.progress(job.progress, text=f"{job.status}: {job.step}% · see the Jobs page for the log")
        return None
    path = run.artifact_path("report.json")
    if not path.exists():
        st.info("This synthesis has no report (it failed or was cancelled); its error is on the Jobs page.")
        return None
    report = json.loads(path.read_text())
    st.caption(report["meta"]["summary"])
    for w in report["meta"].get("warnings", []):
        st.warning(w)
    return report


def key_help(task: str, key: str) -> str | None:
    """A config key's allowed values and meaning (from the config class), as a widget's help."""
    from genesis_core.config_docs import doc_for
    from genesis_core.registry import TASKS

    doc = doc_for(TASKS.get(task).config_cls, key)
    return f"`{key}`: {doc.line()}" if doc else None
