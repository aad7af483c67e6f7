"""`python -m genesis_core sweep run FILE [--wait] | list | show ID | cancel ID`: hyperparameter sweeps.

    python -m genesis_core sweep run sweep.yaml --wait      # prints the best trial and its config
    python -m genesis_core sweep run sweep.yaml --backend ray [--address HOST:PORT]   # trials on Ray
    python -m genesis_core sweep list
    python -m genesis_core sweep show SWEEP_ID
    python -m genesis_core sweep cancel SWEEP_ID             # the driver and its running trials

A sweep is a job of its own (its id is its run's id); every trial is an ordinary job and run, tagged
`sweep:SWEEP_ID`. See genesis_core/sweeps/spec.py for the file's keys.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from genesis_core.errors import CLIError
from genesis_core.cli.actions import add_actions
from genesis_core.formatting import number
from genesis_core.registry import COMMANDS


@COMMANDS.register("sweep")
def add_sweep_commands(sub) -> None:
    p = sub.add_parser("sweep", help="hyperparameter sweeps with Optuna: run, list, show, cancel",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
        "file": ((), {"dest": "target", "nargs": "?", "metavar": "FILE", "help": "the sweep file (YAML, TOML or JSON)"}),
        "sweep_id": ((), {"dest": "target", "nargs": "?", "metavar": "SWEEP_ID", "help": "the sweep's id (from `sweep list`)"}),
        "wait": (("--wait",), {"action": "store_true", "help": "follow the sweep and print the best trial"}),
        "set": (("--set",), {"action": "append", "default": [], "metavar": "KEY=VALUE",
                             "help": "override a key of the file (repeatable)"}),
        "backend": (("--backend",), {"default": "", "help": "where the trials run, local or ray (default: the file's)"}),
        "address": (("--address",), {"default": "", "help": "with --backend ray: the cluster's address"}),
    }
    add_actions(p, {
        "run": ("start a sweep from a file", ["file", "wait", "set", "backend", "address"]),
        "list": ("every sweep of this workspace", []),
        "show": ("a sweep's trials and its best one", ["sweep_id"]),
        "cancel": ("stop a sweep's driver and its running trials", ["sweep_id"]),
    }, options, late_positionals=("file", "sweep_id"))
    p.set_defaults(func=cmd_sweep)


def spec_from_file(path: str, overrides: list[str]) -> dict:
    from genesis_core.config import apply_overrides, read_mapping

    data = apply_overrides(read_mapping(path), overrides)
    if "task" in data:  # the file names the task its trials train; the job's own task is "sweep"
        data["sweep_task"] = data.pop("task")
    return {**data, "task": "sweep"}


def cmd_sweep(args: argparse.Namespace) -> int:
    from genesis_core.cli.output import follow
    from genesis_core.jobs import api
    from genesis_core.registry import task_config
    from genesis_core.store.workspace import Workspace
    from genesis_core.sweeps.spec import validate

    ws = Workspace()
    if args.action == "run":
        if not args.target:
            raise CLIError("sweep run needs a sweep file (YAML, TOML or JSON)")
        data = spec_from_file(args.target, args.set)
        if args.backend:
            data.update({"backend": args.backend, "address": args.address})
        config = task_config(data)
        validate(config)
        driver = api.submit(config, workspace=ws)
        print(f"sweep {driver.run_id} started (driver job {driver.id}): {config.trials} trials of {config.sweep_task}, "
              f"{config.concurrency} at a time, {config.direction} {config.metric}")
        if not args.wait:
            return 0
        code = follow(driver.id, ws)
        show(ws, driver.run_id)
        return code
    if args.action == "list":
        runs = ws.list_runs(task="sweep")
        if not runs:
            print("no sweeps")
        for run in runs:
            job = next(iter(api.get_for_run(run.id, ws)), None)
            summary = _summary(run)
            best = summary.get("best") if summary else None
            print(f"{run.id}  {job.status if job else '-':<10} {run.config().get('sweep_task')}  "
                  + (f"best {run.config().get('metric')} {best['value']:.4g} (trial {best['trial']})" if best else
                     f"{job.step if job else 0}/{run.config().get('trials')} trials"))
        return 0
    if not args.target:
        raise CLIError(f"sweep {args.action} needs a sweep id")
    run = ws.get_run(args.target)
    if run.task != "sweep":
        raise CLIError(f"{run.id} is a {run.task} run, not a sweep")
    if args.action == "show":
        show(ws, run.id)
        return 0
    job = next(iter(api.get_for_run(run.id, ws)), None)
    if job is None or job.done:
        raise CLIError(f"sweep {run.id} is not running")
    api.cancel(job.id, ws)
    print(f"sweep {run.id}: cancel requested (its running trials stop too)")
    return 0


def _summary(run) -> dict | None:
    path = run.artifact_path("sweep.json")
    return json.loads(path.read_text()) if path.exists() else None


def show(ws, sweep_id: str) -> None:
    """The trials so far (from the study itself, so a running sweep shows them too) and the best one."""
    from genesis_core.config import from_dict
    from genesis_core.sweeps.driver import open_study, param_importances, trials_table
    from genesis_core.sweeps.spec import SweepConfig, trial_config

    run = ws.get_run(sweep_id)
    spec = from_dict(SweepConfig, run.config())
    try:
        study = open_study(sweep_id, spec, ws.root, create=False)
    except KeyError:
        print("no trial has started yet")
        return
    from genesis_core.jobs import api

    rows = trials_table(study, lambda job_id: api.get(job_id, ws).status)
    keys = ["trial", "state", "value", *spec.space, "job"]
    print("  ".join(f"{k:>14}" for k in keys))
    for row in rows:
        print("  ".join(f"{number(row.get(k), '.4g', '-'):>14}" for k in keys))
    done = [r for r in rows if r["state"] == "complete" and r["value"] is not None]
    if done:
        best = (max if spec.direction == "maximize" else min)(done, key=lambda r: r["value"])
        params = {k: best[k] for k in spec.space}
        print(f"best: trial {best['trial']}, {spec.metric} = {best['value']:.4g}, params {params}")
        print("config: " + json.dumps(trial_config(spec, params)))
    importances = param_importances(study)
    if importances:
        print("parameter importance (fANOVA, share of the metric's variance): "
              + ", ".join(f"{k} {v:.2f}" for k, v in importances.items()))


