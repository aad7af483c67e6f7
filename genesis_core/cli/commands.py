"""`python -m genesis_core`: train, watch jobs and manage runs from the terminal.

    python -m genesis_core config image_autoencoder > ae.yaml     # a task's defaults, to edit
    python -m genesis_core train --config ae.yaml --set trainer.steps=500
    python -m genesis_core jobs list
    python -m genesis_core runs list --favorites
    python -m genesis_core images bottleneck RUN --target 20     # the image lab's analyses (images --help)
    torchrun --nproc-per-node=2 -m genesis_core train --config ae.yaml   # DDP, in the foreground
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, cast

from genesis_core import __version__
from genesis_core.errors import CLIError, WorkbenchError
from genesis_core.cli.output import follow, table
from genesis_core.formatting import format_eta, format_time, number
from genesis_core.registry import COMMANDS


# ---------------------------------------------------------------------------------------------
# train


def load_task_config(path: str | None, overrides: list[str], task: str | None) -> dict[str, Any]:
    from genesis_core.config import apply_overrides, read_mapping

    data = read_mapping(path) if path else {}
    if task:
        data["task"] = task
    return apply_overrides(data, overrides)


def train_foreground(config: dict[str, Any]) -> int:
    """Train in this process (the path torchrun uses); rank 0 creates the run and writes it."""
    import torch.distributed as dist

    from genesis_core.config import to_dict
    from genesis_core.device import pick_device
    from genesis_core.registry import task_config
    from genesis_core.store.workspace import Workspace
    from genesis_core.training.distributed import init_distributed
    from genesis_core.training.launch import launch

    cfg = task_config(config)
    ctx = init_distributed(pick_device(cfg.trainer.device))
    ws = Workspace()
    run_id = [ws.create_run(cfg.task, to_dict(cfg), name=cfg.name).id if ctx.is_main else None]
    if ctx.enabled:
        dist.broadcast_object_list(run_id, src=0)
    if run_id[0] is None:
        raise CLIError("the main process sent no run id")
    run = ws.get_run(run_id[0])
    result = launch(cfg, run, progress_bar=ctx.is_main)
    if ctx.is_main:
        print(f"training {result.reason} at step {result.step}/{result.total_steps} (world size {ctx.world_size})")
        for k, v in result.eval_metrics.items():
            print(f"  {k} = {v:.4g}")
        print(f"  run: {run.id}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from genesis_core.jobs import api
    from genesis_core.training.distributed import launched_by_torchrun

    config = load_task_config(args.config, args.set, args.task)
    if args.foreground or launched_by_torchrun():
        return train_foreground(config)
    job = api.submit(config, nproc=args.nproc, backend=args.backend, address=args.address)
    print(f"submitted {job.id} (run {job.run_id}, {job.status})")
    if args.detach:
        return 0
    from genesis_core.store.workspace import Workspace

    return follow(job.id, Workspace())


class _LazyEpilog(argparse.RawDescriptionHelpFormatter):
    """An epilog given as a function is written only when help is shown (it imports what it describes)."""

    def add_text(self, text):
        super().add_text(text() if callable(text) else text)


def _trainer_keys_epilog() -> str:
    """The keys every task has (trainer.*), each with its allowed values and meaning, for `train --help`."""
    from genesis_core.config_docs import field_docs
    from genesis_core.training.task import TrainerConfig

    rows = [f"  trainer.{d.key:<20} {d.line()}" for d in field_docs(TrainerConfig)]
    return ("keys every task has (--set KEY=VALUE), with their allowed values:\n" + "\n".join(rows)
            + "\n\na task's own keys, with theirs: `genesis config TASK` (each key's values and meaning as a "
              "comment above it)")


def cmd_config(args: argparse.Namespace) -> int:
    from genesis_core.config import mapping_text, to_dict
    from genesis_core.registry import TASKS

    if not args.task:
        for name in TASKS.names():
            cls = TASKS.get(name)
            print(f"{name:24s} {cls.description}")
        return 0
    cls = TASKS.get(args.task).config_cls
    if args.format == "yaml":  # each key's allowed values and meaning as a comment above it
        from genesis_core.config_docs import commented_yaml

        print(commented_yaml(to_dict(cls()), cls), end="")
    else:
        print(mapping_text(to_dict(cls()), args.format), end="")
    return 0


# ---------------------------------------------------------------------------------------------
# jobs


def cmd_jobs(args: argparse.Namespace) -> int:
    from genesis_core.jobs import api
    from genesis_core.store.workspace import Workspace

    ws = Workspace()
    if args.action == "slots":
        for change in args.set or []:
            where, _, value = change.partition("=")
            device, _, lane = where.partition("/")
            if not value or not device:
                raise CLIError(f"--set {change!r}: write DEVICE/LANE=N, e.g. cpu/train=2 (or cpu/train=default)")
            api.set_slots(device, lane or "train", None if value == "default" else int(value), ws)
        for slot in api.slots(ws):
            print(api.describe_slot(slot))
        return 0
    if args.action == "list":
        jobs = api.list_jobs(ws, status=args.status, limit=args.limit)
        waiting = api.queue_positions(ws)
        rows = [[j.id, j.task, j.status + (f" #{waiting[j.id][0]}" if j.id in waiting else "")
                 + (" (cancelling)" if j.status == "running" and j.cancel_requested else ""), f"{j.progress:.0%}",
                 f"{j.step}/{j.total}", format_eta(j.eta_s), format_time(j.created), j.run_id,
                 (j.phase[:40] or "-") if j.status == "running" else "-"] for j in jobs]
        print(table(rows, ["JOB", "TASK", "STATUS", "PROGRESS", "STEP", "ETA", "CREATED", "RUN", "NOW"]) if rows
              else "no jobs")
        if rows:
            for slot in api.slots(ws):
                print(api.describe_slot(slot))
        for job_id, (place, reason) in sorted(waiting.items(), key=lambda kv: kv[1][0]):
            print(f"{job_id} waits (number {place} in line): {reason}")
        return 0
    if not args.job_id:
        raise CLIError(f"jobs {args.action} needs a job id")
    job_id = args.job_id
    if args.action == "show":
        api.list_jobs(ws, limit=1)  # tick: the status shown is the reconciled one
        job = api.get(job_id, ws)
        print(json.dumps({k: v for k, v in job.__dict__.items() if k != "config"}, indent=2, default=str))
        return 0
    if args.action == "cancel":
        job = api.cancel(job_id, ws)
        print(f"{job.id}: {'cancel requested' if job.status == 'running' else job.status}")
        return 0
    if args.action == "resume":
        job = api.resume(job_id, ws)
        print(f"{job.id}: {job.status} (resuming run {job.run_id})")
        return 0 if args.detach else follow(job.id, ws)
    if args.action == "retry":
        job = api.retry(job_id, ws)
        print(f"retrying as {job.id} (run {job.run_id})")
        return 0 if args.detach else follow(job.id, ws)
    if args.action == "wait":
        return follow(job_id, ws)
    if args.action == "logs":
        job = api.get(job_id, ws)
        print(api.log_tail(job, ws, lines=args.lines), end="")
        return 0
    raise CLIError(f"unknown jobs action {args.action}")


# ---------------------------------------------------------------------------------------------
# runs


def cmd_runs(args: argparse.Namespace) -> int:
    from genesis_core.store.metrics import MetricsReader
    from genesis_core.store.workspace import Workspace

    ws = Workspace()
    if args.action == "list":
        runs = ws.list_runs(task=args.task, tag=args.tag, favorite=True if args.favorites else None)
        rows = [[("★ " if r.favorite else "") + r.id, r.task or "-", r.meta.get("name") or "-",
                 ",".join(r.tags) or "-", format_time(r.meta.get("created")),
                 f"damaged: {r.damaged}" if r.damaged else "ok"] for r in runs]
        print(table(rows, ["RUN", "TASK", "NAME", "TAGS", "CREATED", "STATE"]) if rows else "no runs")
        return 0
    if args.action == "compare":
        return compare_runs(ws, args)
    if not args.run_id:
        raise CLIError(f"runs {args.action} needs a run id")
    run = ws.get_run(args.run_id)
    if args.action == "show":
        latest = run.latest_checkpoint()
        print(json.dumps({**run.meta, "dir": str(run.dir), "latest_checkpoint": latest.name if latest else None,
                          "metrics": MetricsReader(run.metrics_path).latest(),
                          "artifacts": [p.name for p in run.artifacts()]}, indent=2))
        return 0
    if args.action == "delete":
        if not args.yes:
            raise CLIError(f"deleting {run.id} removes its checkpoints and metrics; add --yes to confirm")
        ws.delete_run(run.id)
        print(f"deleted {run.id}")
        return 0
    if args.action == "tag":
        if not args.value:
            raise CLIError("runs tag needs a tag: runs tag RUN_ID TAG")
        print(f"{run.id}: tags {ws.add_tag(run.id, args.value).tags}")
        return 0
    if args.action == "favorite":
        ws.set_favorite(run.id, not args.off)
        print(f"{run.id}: {'not ' if args.off else ''}a favorite")
        return 0
    raise CLIError(f"unknown runs action {args.action}")


def compare_runs(ws, args: argparse.Namespace) -> int:
    """`runs compare RUN... [--query Q] [--metric NAME] [--group-by KEY] [--plot out.html]`: the final table (grouped
    when asked), and the panels as one HTML file."""
    from genesis_core.store.compare import common_keys, final_table, grouped_final, headline_metric, panels_figure
    from genesis_core.store.run_query import filter_runs

    runs = [ws.get_run(r) for r in args.runs] if args.runs else ws.list_runs()
    runs = filter_runs(runs, args.query or "")
    if not runs:
        raise CLIError("no run to compare" + (" matches the query" if args.query else ""))
    keys = common_keys(runs)
    if not keys:
        raise CLIError("none of these runs has logged metrics yet")
    metric = args.metric or headline_metric(runs, keys)
    if metric not in keys:
        raise CLIError(f"no run logged {metric!r}; logged: {', '.join(keys[:12])}")
    config_keys = [args.group_by] if args.group_by else None
    finals = final_table(runs, config_keys)
    if args.group_by:
        grouped = grouped_final(finals, args.group_by, metric)
        print(f"{metric} by {args.group_by} ({len(runs)} runs)")
        print(table([[g[args.group_by], g["runs"], number(g["mean"]), number(g["std"]), number(g["min"]),
                      number(g["max"])] for g in grouped.to_dict("records")],
                    [args.group_by, "RUNS", "MEAN", "STD", "MIN", "MAX"]))
    else:
        shown = [c for c in finals.columns if c not in ("run", "id", "task") and not c.startswith(("eval/", "loss"))
                 and c != metric][:4]
        print(table([[r["id"], *(number(r.get(c)) for c in shown), number(r.get(metric))]
                     for r in finals.to_dict("records")], ["RUN", *shown, metric]))
    if args.plot:
        from genesis_core.store.files import atomic_write_text

        panels = [metric, *[k for k in keys if k != metric and k.startswith("eval/")][:3]]
        fig = panels_figure(runs, panels, args.x, args.smoothing, args.group_by or "")
        atomic_write_text(Path(args.plot), fig.to_html(include_plotlyjs="inline"))
        print(f"panels of {', '.join(panels)} written to {args.plot}")
    return 0


# ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    invoked = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    p = argparse.ArgumentParser(prog="genesis" if invoked == "genesis" else "python -m genesis_core",
                                description="Genesis Workbench, headless. The workspace is $GENESIS_HOME "
                                            "(default ./workspace).")
    p.add_argument("--version", action="version", version=f"genesis_core {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model as a background job and show its progress",
                       description="Submit a training job from a config file and follow it with a progress "
                                   "bar (Ctrl-C detaches; the job keeps running). Under torchrun, or with "
                                   "--foreground, training runs in this process instead.",
                       epilog=cast(Any, _trainer_keys_epilog), formatter_class=_LazyEpilog)  # written lazily
    t.add_argument("--config", "-c", help="YAML, TOML or JSON config (see `config TASK` for the defaults)")
    t.add_argument("--task", help="task name, if the config file does not name one")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, dotted for sections (repeatable): --set trainer.steps=500")
    t.add_argument("--nproc", type=int, default=1, help="processes for DDP (launched with torchrun)")
    t.add_argument("--detach", action="store_true", help="submit and return at once")
    t.add_argument("--backend", default="local", help="where the worker runs: local (default) or ray")
    t.add_argument("--address", default="", help="with --backend ray: the cluster's address (default: a local "
                                                  "Ray instance on 127.0.0.1, started on first use)")
    t.add_argument("--foreground", action="store_true", help="train in this process, not as a job")
    t.set_defaults(func=cmd_train)

    c = sub.add_parser("config", help="list tasks, or print a task's default config (YAML, TOML or JSON)",
                       description="Without a task: the tasks there are. With one: its default config, to edit "
                                   "and pass to `train --config` (the file's extension says its format).")
    c.add_argument("task", nargs="?", help="task name; omit to list the tasks")
    c.add_argument("--format", "-f", choices=["yaml", "toml", "json"], default="yaml",
                   help="how to write the config (default yaml)")
    c.set_defaults(func=cmd_config)

    j = sub.add_parser("jobs", help="list, show, cancel, resume, retry, wait for jobs, or read their logs",
                       description="Background jobs of this workspace. `jobs ACTION --help` for each action.")
    jobs = j.add_subparsers(dest="action", required=True, metavar="ACTION")
    job_id: dict[str, Any] = {"metavar": "JOB_ID", "help": "the job's id (from `jobs list`)"}
    jl = jobs.add_parser("list", help="all jobs, newest first, with where each queued job stands",
                         description="All jobs, newest first: status, progress, ETA, and for a queued job its "
                                     "place in line and what it waits for.")
    jl.add_argument("--status", choices=["queued", "running", "succeeded", "failed", "cancelled"],
                    help="only jobs with this status")
    jl.add_argument("--limit", type=int, default=50, help="at most this many jobs (default 50)")
    for name, text in (("show", "one job's state, as JSON"),
                       ("cancel", "stop a job: it checkpoints, then ends; its slot frees for the next"),
                       ("wait", "follow a job with a progress bar until it ends (Ctrl-C stops following)")):
        jobs.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".").add_argument("job_id", **job_id)
    for name, text in (("resume", "continue a failed or cancelled job from its last checkpoint"),
                       ("retry", "start a job's config again, as a new run")):
        a = jobs.add_parser(name, help=text, description=text[0].upper() + text[1:] + ", then follow it.")
        a.add_argument("job_id", **job_id)
        a.add_argument("--detach", action="store_true", help="do not follow the job after starting it")
    js = jobs.add_parser("slots", help="the queue's slots: which job holds each, since when; change how many",
                         description="The queue's slots per device and lane (training, short jobs, sweep drivers): "
                                     "which job holds each and since when, how many wait; --set changes how many "
                                     "run at once in this workspace.")
    js.add_argument("--set", action="append", metavar="DEVICE/LANE=N",
                    help="slots of a lane, e.g. cpu/train=2 (repeatable; N=default goes back to the default)")
    jg = jobs.add_parser("logs", help="the tail of a job's worker log", description="The tail of a job's worker log.")
    jg.add_argument("job_id", **job_id)
    jg.add_argument("--lines", type=int, default=40, help="log lines to show (default 40)")
    j.set_defaults(func=cmd_jobs, job_id=None, status=None, limit=50, lines=40, detach=False, set=None)

    r = sub.add_parser("runs", help="list, show, delete, tag runs or mark them as favorites",
                       description="Runs of this workspace (folders under runs/). `runs ACTION --help` for each.")
    runs = r.add_subparsers(dest="action", required=True, metavar="ACTION")
    run_id: dict[str, Any] = {"metavar": "RUN_ID", "help": "the run's id (from `runs list`)"}
    rl = runs.add_parser("list", help="runs, newest first (a damaged run is listed as such)",
                         description="Runs, newest first, filtered by task, tag or favorite.")
    rl.add_argument("--task", help="only runs of this task")
    rl.add_argument("--tag", help="only runs with this tag")
    rl.add_argument("--favorites", action="store_true", help="only favorite runs")
    runs.add_parser("show", help="a run's metadata, latest metrics and artifacts",
                    description="A run's metadata, latest metrics and artifacts, as JSON.").add_argument("run_id",
                                                                                                         **run_id)
    rd = runs.add_parser("delete", help="remove a run: checkpoints, metrics, artifacts",
                         description="Remove a run for good (its checkpoints, metrics and artifacts).")
    rd.add_argument("run_id", **run_id)
    rd.add_argument("--yes", action="store_true", help="confirm the deletion")
    rt = runs.add_parser("tag", help="add a tag to a run", description="Add a tag to a run.")
    rt.add_argument("run_id", **run_id)
    rt.add_argument("value", metavar="TAG", help="the tag to add")
    rf = runs.add_parser("favorite", help="mark a run as a favorite (or unmark it with --off)",
                         description="Mark a run as a favorite, or unmark it with --off.")
    rf.add_argument("run_id", **run_id)
    rf.add_argument("--off", action="store_true", help="unmark instead")
    rc = runs.add_parser("compare", help="compare runs: final metrics (grouped by a config key), panels as HTML",
                         description="Compare runs (default: all) by their final metrics, grouped by a config key "
                                     "into mean, std, min and max; --plot writes the curves as panels to an HTML file.")
    rc.add_argument("runs", nargs="*", metavar="RUN_ID", help="the runs (default: every run, filtered by --query)")
    rc.add_argument("--query", help="e.g. 'eval/psnr_db > 20 and model.latent_dim <= 16'")
    rc.add_argument("--metric", help="the metric (default: the runs' headline, their trainer.best_metric)")
    rc.add_argument("--group-by", dest="group_by", metavar="KEY", help="a config key, dotted (e.g. trainer.seed)")
    rc.add_argument("--plot", metavar="OUT.html", help="write the panels (raw and smoothed curves) to this file")
    rc.add_argument("--x", choices=["step", "wall time (s)", "tokens", "relative time (%)"], default="step",
                    help="the panels' x-axis (default: step)")
    rc.add_argument("--smoothing", type=float, default=0.6, help="EMA weight (series under 50 points stay raw)")
    r.set_defaults(func=cmd_runs, run_id=None, value=None, task=None, tag=None, favorites=False, off=False, yes=False)

    for name in COMMANDS.names():  # the labs' own subcommands
        COMMANDS.get(name)(sub)
    return p


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse like argparse, but let optional positionals follow flags too (`runs delete --yes ID` works like
    `runs delete ID --yes`): argparse fills optional positionals before it reads past a flag."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    for name in getattr(args, "late_positionals", ()):
        if extra and not extra[0].startswith("-") and getattr(args, name, None) is None:
            setattr(args, name, extra.pop(0))
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        return args.func(args)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
