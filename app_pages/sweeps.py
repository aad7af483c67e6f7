"""Sweeps: tune any task's hyperparameters with Optuna. Start a sweep from a form, watch its trials live (each
an ordinary job and run), read Optuna's figures, and train the best config in one click."""

import pandas as pd
import streamlit as st
import yaml

from app_pages.common import running_job_for, show_error, submit, workspace
from genesis_core.config import ConfigError
from genesis_core.errors import WorkbenchError
from genesis_core.jobs import api
from genesis_core.registry import TASKS

st.title("Sweeps")
st.write("Optuna searches the hyperparameters you name; every trial is a job of its own, tagged with the sweep, "
         "and trials whose metric trails the median are stopped early.")

EXAMPLES = {  # a space worth trying per task, to start from
    "image_autoencoder": ("eval/psnr_db", "maximize", {"model.latent_dim": {"int": [4, 32]},
                                                       "trainer.lr": {"float": [0.0003, 0.01], "log": True}},
                          {"trainer": {"steps": 300}}),
    "language_model": ("eval/bpb", "minimize", {"trainer.lr": {"float": [0.0003, 0.01], "log": True},
                                                "model.n_layer": {"int": [1, 4]}},
                       {"trainer": {"steps": 300}, "model": {"d_model": 128, "n_head": 4, "n_kv_head": 2,
                                                             "context": 128}}),
}

sweeps = workspace().list_runs(task="sweep")
with st.expander("Start a sweep", expanded=not sweeps):
    tasks = [n for n in TASKS.names() if n not in ("sweep", "tabular_privacy_curve")]
    task = st.selectbox("Task", tasks, index=tasks.index("image_autoencoder"), key="sw_task")
    metric0, direction0, space0, base0 = EXAMPLES.get(task, ("", "maximize", {}, {}))
    c1, c2, c3, c4 = st.columns(4)
    metric = c1.text_input("Metric (a final eval metric of the task)", metric0, key=f"sw_metric_{task}")
    direction = c2.selectbox("Direction", ["maximize", "minimize"], index=["maximize", "minimize"].index(direction0),
                             key=f"sw_dir_{task}")
    trials = c3.number_input("Trials", 1, 1000, 12, key="sw_trials")
    concurrency = c4.number_input("At a time", 1, 16, 2, key="sw_conc")
    left, right = st.columns(2)
    space_text = left.text_area("Search space (YAML: key: {int|float: [low, high], log: true} or {choice: [...]})",
                                yaml.safe_dump(space0, sort_keys=False), height=160, key=f"sw_space_{task}")
    base_text = right.text_area("Base config of every trial (YAML)", yaml.safe_dump(base0, sort_keys=False),
                                height=160, key=f"sw_base_{task}")
    name = st.text_input("Sweep name", key="sw_name", placeholder=f"{task} sweep")
    if st.button("Start the sweep", type="primary", key="sw_submit"):
        try:
            space, base = yaml.safe_load(space_text) or {}, yaml.safe_load(base_text) or {}
            if not isinstance(space, dict) or not isinstance(base, dict):
                raise ConfigError("the search space and the base config must be YAML mappings")
            from genesis_core.registry import task_config
            from genesis_core.sweeps.spec import validate

            config = {"task": "sweep", "name": name or f"{task} sweep", "sweep_task": task, "base": base,
                      "metric": metric, "direction": direction, "trials": int(trials),
                      "concurrency": int(concurrency), "space": space}
            validate(task_config(config))
        except (yaml.YAMLError, WorkbenchError, ValueError) as exc:
            show_error(exc)
        else:
            submit(config)
            sweeps = workspace().list_runs(task="sweep")

if not sweeps:
    st.info("No sweep yet: start one above, or from the terminal with `python -m genesis_core sweep run FILE`.")
    st.stop()
run = st.selectbox("Sweep", sweeps, format_func=lambda r: f"{r.name} · {r.id}", key="sw_run")


@st.fragment(run_every=3 if running_job_for(run.id) else None)
def live() -> None:
    from genesis_core.config import from_dict
    from genesis_core.sweeps.driver import open_study, trials_table
    from genesis_core.sweeps.spec import SweepConfig, trial_config

    spec = from_dict(SweepConfig, run.config())
    job = running_job_for(run.id)
    if job is not None:
        st.progress(job.progress, text=f"{job.status}: {job.step}/{spec.trials} trials done")
    try:
        study = open_study(run.id, spec, workspace().root, create=False)
    except KeyError:
        st.caption("No trial has started yet.")
        return
    table = pd.DataFrame(trials_table(study, lambda job_id: api.get(job_id, workspace()).status))
    st.caption(f"{spec.trials} trials of {spec.sweep_task}, {spec.concurrency} at a time, {spec.direction} "
               f"{spec.metric}; pruner: {spec.pruner}.")
    st.dataframe(table, hide_index=True)
    done = table[(table["state"] == "complete") & table["value"].notna()] if len(table) else table
    if len(done):
        best = done.sort_values("value", ascending=spec.direction == "minimize").iloc[0]
        params = {k: best[k] for k in spec.space if k in best}
        st.success(f"Best so far: trial {int(best['trial'])}, {spec.metric} = {best['value']:.4g} with {params}.")
        if st.button("Train the best config", key=f"sw_best_{run.id}"):
            submit({**trial_config(spec, {k: (v.item() if hasattr(v, 'item') else v) for k, v in params.items()}),
                    "name": f"best of {run.name}"}, tags=[f"best-of:{run.id}"])
    if len(done) >= 2:
        import optuna.visualization as vis

        figures = [("History", vis.plot_optimization_history), ("Parallel coordinates", vis.plot_parallel_coordinate)]
        if len(done) >= 3:
            from optuna.importance import FanovaImportanceEvaluator

            def importances(study):
                return vis.plot_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))

            figures.append(("Parameter importances (fANOVA)", importances))
        for tab, (title, plot) in zip(st.tabs([t for t, _ in figures]), figures):
            with tab:
                try:
                    st.plotly_chart(plot(study), key=f"sw_fig_{title}")
                except (ValueError, RuntimeError) as exc:  # e.g. importances with one distinct value
                    st.caption(f"{title} not available yet: {exc}")


live()
