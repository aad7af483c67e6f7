"""Muon against AdamW on the language-model lab, each with its learning rate tuned by the workbench's own Optuna
sweep (the `sweep` job, the same trial budget for both) on one corpus, then compared on two corpora the tuning
never saw, over several seeds, with the held-out bits per byte of `--eval-bytes` bytes every `--eval-every` steps.

    .venv/bin/python bench/lm_muon.py [--tune-language de] [--languages en ru] [--trials 6] [--seeds 3]
        [--steps 300] [--eval-every 25] [--eval-bytes 32768] [--layers 4] [--width 256] [--context 128]
        [--batch 16] [--device cpu] [--jobs 1] [--lr LR --muon-lr MUON_LR]

`--lr` and `--muon-lr` together skip the tuning and compare at those rates (a second run of the comparison with
the rates an earlier run tuned); `--jobs N` trains the comparison's runs in N processes of one thread each.

Tuning: AdamW sweeps trainer.lr; Muon sweeps muon_lr (its rate for the hidden weight matrices) with trainer.lr
(AdamW's, for embeddings, norms and the head) at AdamW's tuned value. Each sweep has `--trials` trials of
`--steps` steps scored by the final held-out bits per byte on the tuning corpus.

Comparison, per corpus: the final held-out bits per byte of each optimiser (median and range over seeds), and the
steps each needs to reach a common target, the worse of the two medians' final bits per byte (so both reach it;
the winner's share of the loser's steps is the figure).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import report  # noqa: E402


def lm_config(args, optimizer: str, lr: float, muon_lr: float, languages: list[str], seed: int,
              eval_every: int) -> dict:
    return {"task": "language_model", "optimizer": optimizer, "muon_lr": muon_lr,
            "data": {"languages": list(languages), "batch_size": args.batch, "eval_bytes": args.eval_bytes},
            "model": {"n_layer": args.layers, "d_model": args.width, "n_head": args.width // 64,
                      "n_kv_head": args.width // 64, "context": args.context},
            "stun": {"enabled": False},
            "trainer": {"steps": args.steps, "lr": lr, "warmup_steps": args.steps // 20, "device": args.device,
                        "eval_every": eval_every, "checkpoint_every": 0, "preview_every": 0, "log_every": 10,
                        "tensorboard": False, "seed": seed}}


def tune(ws, args, optimizer: str, key: str, low: float, high: float, lr: float, muon_lr: float) -> dict:
    """One workbench sweep (a `sweep` job whose trials are jobs); returns the best value and the trials."""
    from genesis_core.jobs import api

    base = lm_config(args, optimizer, lr, muon_lr, [args.tune_language], 0, args.steps)
    base.pop("task")
    spec = {"task": "sweep", "name": f"tune {optimizer} {key}", "sweep_task": "language_model", "base": base,
            "metric": "eval/bpb", "direction": "minimize", "trials": args.trials, "concurrency": 1,
            "space": {key: {"float": [low, high], "log": True}}, "sampler": "tpe", "pruner": "none", "seed": 0}
    t0 = time.perf_counter()
    driver = api.submit(spec, workspace=ws)

    def progress(job):
        line = f"{job.step}/{job.total} trials done" + (f", best {job.metrics}" if job.metrics else "")
        if line != progress.last:
            progress.last = line
            print(f"  tune {optimizer}: {line}", flush=True)

    progress.last = ""
    job = api.wait(driver.id, ws, on_update=progress, poll_s=2.0)
    if job.status != "succeeded":
        raise SystemExit(f"the {optimizer} sweep ended {job.status}: {job.error}")
    import json

    summary = json.loads(ws.get_run(job.run_id).artifact_path("sweep.json").read_text())
    best = summary["best"]
    trials = [{"trial": t["trial"], "state": t["state"], "value": t["value"], key: t.get(key)}
              for t in summary["trials"]]
    print(f"  tune {optimizer}: best {key} {best['params'][key]:.4g} (held-out bpb {best['value']:.4f}) "
          f"in {time.perf_counter() - t0:.0f} s", flush=True)
    return {"best": float(best["params"][key]), "value": float(best["value"]), "trials": trials}


def curve(args, optimizer: str, lr: float, muon_lr: float, language: str, seed: int) -> list[tuple[int, float]]:
    import torch

    if args.jobs > 1:
        torch.set_num_threads(1)

    from genesis_core.config import from_dict
    from genesis_core.lm.task import LanguageModelConfig, LanguageModelTask
    from genesis_core.training.callbacks import Callback
    from genesis_core.training.trainer import Trainer

    cfg = from_dict(LanguageModelConfig, lm_config(args, optimizer, lr, muon_lr, [language], seed, args.eval_every))
    points: list[tuple[int, float]] = []

    class Record(Callback):
        def on_eval(self, trainer, metrics):
            points.append((trainer.step, float(metrics["eval/bpb"])))

    Trainer(LanguageModelTask(cfg, torch.device(args.device)), None, callbacks=[Record()]).fit()
    return points


def first_reaching(points: list[tuple[int, float]], target: float) -> int | None:
    """The first evaluated step at or below `target`, linearly interpolated between evaluations."""
    prev = None
    for step, bpb in points:
        if bpb <= target:
            if prev is None or prev[1] == bpb:
                return step
            (s0, b0) = prev
            return int(round(s0 + (step - s0) * (b0 - target) / (b0 - bpb)))
        prev = (step, bpb)
    return None


def spread(values: list[float], digits: int = 4) -> str:
    return f"{round(statistics.median(values), digits)} [{round(min(values), digits)}, {round(max(values), digits)}]"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tune-language", default="de")
    p.add_argument("--languages", nargs="+", default=["en", "ru"])
    p.add_argument("--trials", type=int, default=6)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--eval-every", type=int, default=25)
    p.add_argument("--eval-bytes", type=int, default=32768)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--context", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--device", default="cpu")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--lr", type=float, help="AdamW's rate, with --muon-lr: skip the tuning")
    p.add_argument("--muon-lr", type=float, help="Muon's rate for the hidden matrices, with --lr")
    args = p.parse_args()
    if (args.lr is None) != (args.muon_lr is None):
        raise SystemExit("give --lr and --muon-lr together (or neither, to tune both)")
    if args.tune_language in args.languages:
        raise SystemExit("the tuning corpus must not be one of the compared corpora")

    if args.lr is None:
        home = tempfile.mkdtemp(prefix="genesis-muon-")
        os.environ.update({"GENESIS_HOME": home, "GENESIS_MAX_JOBS_CPU": "1"})
        from genesis_core.store.workspace import Workspace

        ws = Workspace(home)
        print(f"tuning on {args.tune_language}, {args.trials} trials each (workspace {home})", flush=True)
        adamw = tune(ws, args, "adamw", "trainer.lr", 3e-4, 3e-2, 1e-3, 0.02)
        muon = tune(ws, args, "muon", "muon_lr", 2e-3, 0.2, adamw["best"], 0.02)
        lr, muon_lr = adamw["best"], muon["best"]
    else:
        adamw = muon = "given on the command line"
        lr, muon_lr = args.lr, args.muon_lr

    runs_to_do = [(language, seed, optimizer) for language in args.languages for seed in range(args.seeds)
                  for optimizer in ("adamw", "muon")]
    results: dict[tuple[str, int, str], list[tuple[int, float]]] = {}
    t0 = time.perf_counter()
    from concurrent.futures import ProcessPoolExecutor

    import multiprocessing

    with ProcessPoolExecutor(max(1, args.jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(curve, args, o, lr, muon_lr, lang, seed): (lang, seed, o) for lang, seed, o in runs_to_do}
        for future in futures:
            lang, seed, o = futures[future]
            results[(lang, seed, o)] = future.result()
            print(f"{lang} seed {seed} {o}: final held-out bpb {results[(lang, seed, o)][-1][1]:.4f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    rows, curves = [], {}
    for language in args.languages:
        runs = {o: [results[(language, seed, o)] for seed in range(args.seeds)] for o in ("adamw", "muon")}
        finals = {o: [c[-1][1] for c in runs[o]] for o in runs}
        target = max(statistics.median(finals["adamw"]), statistics.median(finals["muon"]))
        steps = {o: [first_reaching(c, target) for c in runs[o]] for o in runs}
        curves[language] = runs
        for optimizer in ("adamw", "muon"):
            reached = [s for s in steps[optimizer] if s is not None]
            rows.append({"corpus": language, "optimizer": optimizer, "lr": round(lr, 6),
                         "muon_lr": round(muon_lr, 5) if optimizer == "muon" else "-",
                         "final_bpb": spread(finals[optimizer]), "target_bpb": round(target, 4),
                         "steps_to_target": spread(reached, 0) if reached else "never",
                         "seeds_reaching": f"{len(reached)}/{args.seeds}"})
    report("lm_muon", rows, {"config": vars(args), "tuning": {"adamw": adamw, "muon": muon}, "curves": curves})
    for language in args.languages:
        a, m = [r for r in rows if r["corpus"] == language]
        print(f"{language}: AdamW {a['final_bpb']} vs Muon {m['final_bpb']} final bits per byte; "
              f"steps to {a['target_bpb']}: AdamW {a['steps_to_target']}, Muon {m['steps_to_target']}")


if __name__ == "__main__":
    main()
