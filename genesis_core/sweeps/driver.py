"""The `sweep` job: an Optuna study (TPE by default) kept in the workspace's SQLite storage, whose trials are
ordinary training jobs and runs, tagged with the sweep. The driver keeps `concurrency` trials in flight,
reports each trial's intermediate metric to Optuna as the Trainer logs it, cancels trials the median pruner
stops, and records every result. It is a job itself (in the control lane, beside the trials), so it
survives the page that started it; resumed after a restart, it re-attaches to its trials and never runs
one twice.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from genesis_core.registry import TASKS
from genesis_core.sweeps.spec import SweepConfig, trial_config, validate
from genesis_core.training.task import JobResult, JobTask


def storage_url(root: Path) -> str:
    path = Path(root) / "sweeps" / "optuna.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def open_study(sweep_id: str, spec: SweepConfig, root: Path, create: bool = True):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = (optuna.samplers.TPESampler(seed=spec.seed) if spec.sampler == "tpe"
               else optuna.samplers.RandomSampler(seed=spec.seed))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0) if spec.pruner == "median" \
        else optuna.pruners.NopPruner()
    if not create:
        return optuna.load_study(study_name=sweep_id, storage=storage_url(root), sampler=sampler, pruner=pruner)
    return optuna.create_study(study_name=sweep_id, storage=storage_url(root), load_if_exists=True,
                               direction=spec.direction, sampler=sampler, pruner=pruner)


def suggest(trial, space: dict[str, dict]) -> dict[str, Any]:
    params = {}
    for key, d in space.items():
        if "choice" in d:
            params[key] = trial.suggest_categorical(key, d["choice"])
        elif "int" in d:
            params[key] = trial.suggest_int(key, int(d["int"][0]), int(d["int"][1]), log=bool(d.get("log")))
        else:
            params[key] = trial.suggest_float(key, float(d["float"][0]), float(d["float"][1]), log=bool(d.get("log")))
    return params


def trials_table(study, job_status: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """Every trial: number, state, value, params, its job and run. Optuna calls a trial "running" from the moment
    it is asked for; with `job_status` (job id -> status) a trial whose job still waits in the queue is "queued"."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        state, job = t.state.name.lower(), t.user_attrs.get("job")
        if state == "running" and job and job_status is not None:
            try:
                state = "queued" if job_status(job) == "queued" else state
            except KeyError:  # the trial's job was deleted
                pass
        rows.append({"trial": t.number, "state": state, "value": t.value, **t.params, "job": job,
                     "run": t.user_attrs.get("run")})
    return rows


def param_importances(study) -> dict[str, float]:
    """Each searched parameter's share of the metric's variance over the finished trials (fANOVA, Optuna's own
    evaluator, seeded); {} while fewer than three trials are complete or a parameter never varied."""
    import optuna

    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE" and t.value is not None]
    if len(complete) < 3:
        return {}
    try:
        return dict(optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)))
    except (ValueError, RuntimeError):  # e.g. one distinct value: nothing to apportion
        return {}


@TASKS.register("sweep")
class SweepTask(JobTask):
    config_cls = SweepConfig
    title = "Sweep"
    description = "Tune a task's hyperparameters with Optuna; every trial is a job and a run of its own."
    lane = "control"  # a driver waits on its trials: it must never hold a slot they need

    def fit_job(self, run, stop_event, reporter):
        import optuna

        from genesis_core.jobs import api
        from genesis_core.store.files import atomic_write_text
        from genesis_core.store.metrics import MetricsReader
        from genesis_core.store.workspace import Workspace

        spec = self.config
        validate(spec)
        ws = Workspace()
        study = open_study(run.id, spec, ws.root)
        in_flight: dict[int, dict[str, Any]] = {}
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):  # after a restart
            in_flight[t.number] = {"trial": optuna.trial.Trial(study, t._trial_id), "job": t.user_attrs.get("job"),
                                   "reported": -1, "pruned": False}
        start = time.time()

        def finished() -> int:
            return sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))

        while True:
            if stop_event.is_set():
                for entry in in_flight.values():
                    _cancel(api, entry["job"], ws)
                return JobResult(finished(), spec.trials, "cancelled", {})
            while len(in_flight) < spec.concurrency and finished() + len(in_flight) < spec.trials:
                trial = study.ask()
                params = suggest(trial, spec.space)
                job = api.submit(trial_config(spec, {**params, "name": f"{run.name} · trial {trial.number}"}),
                                 workspace=ws, tags=[f"sweep:{run.id}", f"trial:{trial.number}"],
                                 backend=spec.backend, address=spec.address)
                trial.set_user_attr("job", job.id)
                trial.set_user_attr("run", job.run_id)
                in_flight[trial.number] = {"trial": trial, "job": job.id, "reported": -1, "pruned": False}
            for number, entry in list(in_flight.items()):
                job = api.get(entry["job"], ws)
                trial = entry["trial"]
                if job.status in ("succeeded", "failed", "cancelled"):
                    value = job.metrics.get(spec.metric)
                    if entry["pruned"]:
                        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    elif job.status == "succeeded" and value is not None:
                        study.tell(trial, value)
                    else:
                        trial.set_user_attr("error", job.error or f"no {spec.metric} in the job's metrics")
                        study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    del in_flight[number]
                    continue
                if entry["pruned"] or job.status != "running":
                    continue
                series = MetricsReader(ws.get_run(job.run_id).metrics_path).series(spec.metric)
                for step, value in zip(series["step"], series["value"]):
                    if step > entry["reported"]:
                        trial.report(float(value), int(step))
                        entry["reported"] = int(step)
                if entry["reported"] >= 0 and trial.should_prune():
                    entry["pruned"] = True
                    _cancel(api, entry["job"], ws)
            done = finished()
            queued = sum(api.get(e["job"], ws).status == "queued" for e in in_flight.values())
            best = _best(study)
            reporter({"step": done, "total": spec.trials,
                      "eta_s": (time.time() - start) / done * (spec.trials - done) if done else None,
                      "metrics": {f"best/{spec.metric}": best} if best is not None else {},
                      "message": f"{done}/{spec.trials} trials done, {len(in_flight) - queued} running"
                                 + (f", {queued} queued" if queued else "")
                                 + (f", best {spec.metric} {best:.4g}" if best is not None else "")})
            if done >= spec.trials and not in_flight:
                break
            time.sleep(1.0)
        import json

        table = trials_table(study)
        best_trial = _best_trial(study)
        summary = {"sweep": run.id, "metric": spec.metric, "direction": spec.direction, "trials": table,
                   "best": None if best_trial is None else {"trial": best_trial.number, "value": best_trial.value,
                                                            "params": best_trial.params,
                                                            "config": trial_config(spec, best_trial.params)}}
        atomic_write_text(run.artifact_path("sweep.json"), json.dumps(summary, indent=2, default=str))
        metrics = {f"best/{spec.metric}": best_trial.value} if best_trial is not None else {}
        return JobResult(spec.trials, spec.trials, "finished", metrics)


def _best_trial(study):
    import optuna

    done = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
    if not done:
        return None
    return study.best_trial


def _best(study) -> float | None:
    best = _best_trial(study)
    return None if best is None else float(best.value)


def _cancel(api, job_id: str, ws) -> None:
    from genesis_core.jobs.store import JobStateError

    try:
        api.cancel(job_id, ws)
    except JobStateError:
        pass  # it ended meanwhile
