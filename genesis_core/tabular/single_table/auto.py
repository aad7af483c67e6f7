"""`auto`, measured rather than guessed: every candidate generator is fit on most of the training rows in a
process of its own, scored on the rest (rows it never saw), within a time budget; the best one wins and the
leaderboard says why.

The score is the mean of two figures on those rows, each 1 at best: SDMetrics' quality score (marginals and
pairs), and the detection score 1 - 2 * max(0, AUC - 0.5), where AUC is a gradient-boosted classifier's at
telling the candidate's rows from the real rows it never saw (0.5: it cannot). The classifier is trained on the
rows the candidate was fit on against as many of its rows, and scored on the held-out rows against fresh ones
(`held_out_detection_auc`): on a 275-row table the held-out rows are 55, too few to train a classifier on, and a
test over them alone put every candidate near 0.5. A generator whose rows pass the pairwise checks but not a
classifier (a copula, often) no longer wins on quality alone. The mean is multiplied by a copy guard
(`copy_guard`): 1 while no more of the candidate's rows sit unusually close to a training row (closer than 95%
of the held-out real rows do) than of the held-out rows themselves, within COPY_SLACK or the two shares' noise;
down to 0 for copies, since copies pass any classifier. The best score wins, unless a candidate earlier in the
candidates' order is within one standard error of it (`choose`).

Every candidate gets an equal slot of the budget (two run at a time, or one on a single core: a slot is the
budget over the number of candidates one lane runs in turn), and its fit is held to most of its slot (FIT_SHARE; the rest
is sampling and scoring), so that on tables up to 10,000 rows every candidate finishes and is scored: a
generator that takes a time limit gets one (`paced_by = "time_limit_s"`), one trained in epochs is fit for
PROBE_EPOCHS first and then for as many epochs as its slot holds at that pace (`paced_by = "epochs"`), a copula
takes what it takes (a second probe of 3x the epochs, while the first took under a quarter of the slot,
separates an epoch's pace from the fit's fixed costs). A candidate still running when the budget is spent is stopped and listed as over budget;
one that fails is listed with its error.

With differential privacy (epsilon > 0) nothing is scored: a choice made by fitting private generators on the
real rows and scoring them on other real rows would itself leak those rows, outside any budget. The choice is
made from public facts instead (`private_choice`): the first of the candidates in PRIVATE_CANDIDATES' order, the
order published comparisons put them in at epsilon <= 10 (marginal-based mechanisms first: AIM, then MST, then
DP-SGD), and the release's DP statement says so.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
import traceback
from typing import Any, Callable

import numpy as np
import pandas as pd

from genesis_core.errors import WorkbenchError, one_sentence
from genesis_core.tabular.data.schema import ColumnSpec, prepare, schema_from_dicts, schema_to_dicts

# page, CLI and API alike; also the order of preference between candidates whose scores are within noise (the
# autoregressive model first: it leads the detection bench on four of five real tables, README)
DEFAULT_CANDIDATES = ("autoregressive", "gaussian_copula", "ctgan", "tvae")
PRIVATE_CANDIDATES = ("aim", "mst", "dp_tvae")  # in the order private_choice prefers them
VALIDATION_SHARE = 0.2
CANDIDATE_SHARE = 0.5  # of the budget, for the candidates; the rest is the winner's fit on every row
FIT_SHARE = 0.7  # of a candidate's slot, for its fit; the rest is sampling and scoring
PROBE_EPOCHS = 2  # the probe fit that gives the pace of an epoch
# how many more rows than held-out ones may sit unusually close before a score is cut (more where the held-out
# rows are few: three standard errors of the difference)
COPY_SLACK = 0.1


def default_budget(rows: int, columns: int) -> float:
    """A budget that fits the table: 60 s plus 0.02 s per cell, at most 600 s (400 x 8: 124 s)."""
    return float(min(600.0, 60.0 + 0.02 * rows * columns))


def final_epochs(result: dict[str, Any], epochs: int, rows_full: int, rows_fit: int, remaining_s: float) -> int:
    """Epochs for the winner's fit on every row so that it ends within `remaining_s`, at most `epochs`: its
    candidate's fit time over the epochs it was fit for (paced candidates had fewer), scaled by rows, tells the
    time per epoch."""
    fit_s = float(result.get("fit_s") or 0.0)
    used = int(result.get("epochs") or epochs)
    if fit_s <= 0 or remaining_s <= 0:
        return min(epochs, used) if remaining_s <= 0 else epochs
    per_epoch = fit_s / max(used, 1) * rows_full / max(rows_fit, 1)
    return int(max(1, min(epochs, remaining_s / per_epoch)))


def slot_seconds(budget_s: float, candidates: int, parallel: int) -> float:
    """Each candidate's share of the candidates' budget when `parallel` run at once: the budget over the number
    of candidates one lane runs one after another (4 candidates two at a time: half the budget each)."""
    return budget_s / max(1, math.ceil(candidates / max(1, parallel)))


def pace(probes: list[tuple[int, float]]) -> tuple[float, float]:
    """(seconds per epoch, fixed seconds of a fit) from probe fits [(epochs, seconds)]: two probes of different
    lengths separate the two (a small table's fit is mostly its fixed costs: SDV's transformers, the network's
    set-up); one probe counts its fixed costs as epochs, so the estimate errs short."""
    (e1, t1), *rest = probes
    if rest:
        e2, t2 = rest[0]
        per_epoch = (t2 - t1) / (e2 - e1) if e2 != e1 else 0.0
        if per_epoch > 0.05 * t2 / e2:  # a difference lost in the noise falls back to the one-probe estimate
            return per_epoch, max(t1 - e1 * per_epoch, 0.0)
    return max(t1 / max(e1, 1), 1e-6), 0.0


def paced_epochs(probes: list[tuple[int, float]], allowed_s: float, epochs: int) -> int:
    """Epochs whose fit (fixed costs and epochs at the probes' pace) fits in what `allowed_s` leaves after the
    probes, at least the first probe's, at most `epochs`."""
    per_epoch, fixed = pace(probes)
    left = allowed_s - sum(t for _, t in probes) - fixed
    return int(min(epochs, max(probes[0][0], left / max(per_epoch, 1e-6))))


class AutoError(WorkbenchError, ValueError):
    """No candidate could be fit and scored."""


def candidates_for(epsilon: float, names: tuple[str, ...] = ()) -> list[str]:
    from genesis_core.registry import GENERATORS

    if names:
        unknown = [n for n in names if n not in GENERATORS]
        if unknown:
            raise AutoError(f"unknown candidate generator {unknown[0]!r}; known: {', '.join(GENERATORS.names())}")
        chosen = list(names)
    else:
        chosen = [n for n in (PRIVATE_CANDIDATES if epsilon > 0 else DEFAULT_CANDIDATES) if n in GENERATORS]
    if epsilon > 0:
        public = [n for n in chosen if not GENERATORS.get(n).private]
        if public:
            raise AutoError(f"epsilon {epsilon:g} asks for differential privacy, but {public[0]} is not private")
    return chosen


def private_choice(candidates: list[str]) -> tuple[str, str]:
    """(the private generator auto takes, why) from public facts only: no row is read, nothing is spent. The
    first candidate in PRIVATE_CANDIDATES' order (a candidate not in it comes after them, in the user's order)."""
    rank = {n: i for i, n in enumerate(PRIVATE_CANDIDATES)}
    name = sorted(candidates, key=lambda n: (rank.get(n, len(rank)), candidates.index(n)))[0]
    others = [n for n in candidates if n != name]
    return name, ("chosen from public facts, without reading a row (so the choice spends no privacy budget): "
                  "marginal-based mechanisms lead published comparisons at epsilon <= 10 (AIM ahead of MST, "
                  "McKenna et al. 2022; both ahead of DP-SGD models, Tao et al. 2021)"
                  + (f"; not fitted: {', '.join(others)}" if others else ""))


def _score_candidate(name: str, options: dict, frame: pd.DataFrame, schema_rows: list[dict], fit_rows: np.ndarray,
                     seed: int, epochs: int, fit_by: float = 0.0) -> dict[str, Any]:
    """In the candidate's own process: fit on `fit_rows` so that it ends by `fit_by` (a wall-clock time: FIT_SHARE
    of the slot from the launch, so the process's start-up on a busy machine comes out of the fit, not the
    scoring; 0: no limit), sample, score against the other rows."""
    from genesis_core.registry import GENERATORS
    from genesis_core.tabular.single_table.base import make_generator
    from genesis_core.tabular.data.encoding import TableEncoder
    from genesis_core.tabular.evaluation.privacy import closer_than_unseen
    from genesis_core.tabular.evaluation.quality import column_kinds, fidelity, held_out_detection_auc

    schema = schema_from_dicts(schema_rows)
    mask = np.zeros(len(frame), bool)
    mask[fit_rows] = True
    fit, val = frame[mask].reset_index(drop=True), frame[~mask].reset_index(drop=True)
    paced_by, allowed = GENERATORS.get(name).paced_by, max(fit_by - time.time(), 1.0) if fit_by else 0.0
    if allowed > 0 and paced_by == "time_limit_s":
        options = {**options, "time_limit_s": allowed}
    elif allowed > 0 and paced_by == "epochs" and epochs > PROBE_EPOCHS:
        probes: list[tuple[int, float]] = []
        for k in (PROBE_EPOCHS, 3 * PROBE_EPOCHS):  # the second only while it leaves most of the slot
            if probes and 4 * sum(t for _, t in probes) > allowed:
                break
            t0 = time.time()
            make_generator(name, seed=seed, epochs=k, **options).fit(fit, schema)
            probes.append((k, time.time() - t0))
        epochs = paced_epochs(probes, allowed, epochs)
    t0 = time.time()
    gen = make_generator(name, seed=seed, epochs=epochs, **options).fit(fit, schema)
    fit_s = time.time() - t0
    # as many rows as the fit had (the classifier learns from them) and as many again to score on, at least 200
    n_fit, n_held = min(len(fit), 5000), max(len(val), 200)
    synth = gen.sample(n_fit + n_held, seed=seed)
    t_fit, t_val, t_synth = prepare(fit, schema), prepare(val, schema), prepare(synth, schema)
    s_fit, s_held = t_synth.iloc[:n_fit].reset_index(drop=True), t_synth.iloc[n_fit:].reset_index(drop=True)
    scores = fidelity(t_val, s_held, schema, seed)
    cols = [c for c in t_val.columns if c in t_synth.columns]
    kinds = column_kinds(schema, cols)
    auc = held_out_detection_auc(t_fit[cols], s_fit[cols], t_val[cols], s_held[cols], kinds, seed)
    detection = 1.0 - 2.0 * max(0.0, auc - 0.5) if auc == auc else None
    enc = TableEncoder(t_fit[cols], kinds)
    close = closer_than_unseen(enc(t_fit[cols]), enc(t_val[cols]), enc(s_held[cols]))
    novelty = copy_guard(close["synthetic"], close["held_out"], max(COPY_SLACK, close["noise"]))
    parts = [v for v in (scores["quality_score"], detection) if v is not None]
    # the detection score moves by 2x the AUC's error, halved in the mean: the score's error is the AUC's
    se = auc_standard_error(auc, len(t_val), len(s_held)) * novelty if auc == auc else 0.0
    return {"score": float(np.mean(parts)) * novelty if parts else None, "score_se": se,
            "quality_score": scores["quality_score"],
            "detection_auc": auc if auc == auc else None, "too_close": close["synthetic"],
            "too_close_held_out": close["held_out"], "copy_guard": novelty, "column_shapes": scores["column_shapes"],
            "column_pair_trends": scores["column_pair_trends"], "fit_s": fit_s,
            "epochs": epochs if paced_by == "epochs" else None}


def auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """The standard error of a ROC AUC measured on `positives` and `negatives` rows (Hanley and McNeil, 1982)."""
    a = min(max(auc, 1e-6), 1 - 1e-6)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (positives - 1) * (q1 - a * a) + (negatives - 1) * (q2 - a * a)) / max(positives * negatives, 1)
    return float(math.sqrt(max(var, 0.0)))


def choose(leaderboard: list[dict[str, Any]], preference: list[str]) -> tuple[str, str]:
    """(the candidate auto takes, why) from scored rows: the best score, unless a candidate earlier in
    `preference` is within one standard error of the difference (the one-standard-error rule: on a few dozen
    held-out rows two scores closer than that are a tie, and a tie goes to the preferred candidate)."""
    scored = {r["generator"]: r for r in leaderboard if r.get("score") is not None}
    best = max(scored.values(), key=lambda r: r["score"])
    for row in (scored[n] for n in preference if n in scored):
        if row is best:
            break
        gap = best["score"] - row["score"]
        noise = math.hypot(best.get("score_se") or 0.0, row.get("score_se") or 0.0)
        if gap <= noise:
            return row["generator"], (f"within one standard error of {best['generator']}'s score ({gap:.3f} behind, "
                                      f"standard error {noise:.3f}), and earlier in the candidates' order")
    return best["generator"], "best score"


def copy_guard(too_close: float, held_out: float, slack: float = COPY_SLACK) -> float:
    """1 while no more of a candidate's rows sit unusually close to a training row than of the real rows it
    never saw (`closer_than_unseen`), beyond `slack` (at least the sampling noise of the two shares); falling
    linearly to 0 where every row does (copying). Passing for real must not mean copying: a model that returns
    its training rows passes any classifier."""
    excess = too_close - held_out - slack
    return float(min(1.0, max(0.0, 1.0 - excess / max(1.0 - held_out - slack, 1e-9))))


# imported once by the process the candidates are forked from (not once per candidate, 4-9 s each)
CANDIDATE_PRELOAD = ["numpy", "pandas", "torch", "sklearn.ensemble", "sklearn.neighbors", "sdv.single_table",
                     "sdmetrics", "genesis_core.tabular.single_table.base", "genesis_core.tabular.evaluation.quality"]


def candidate_context():
    """Where candidates and tuning trials run: on Linux, forked from multiprocessing's fork server with the
    libraries imported once (a fresh process that runs nothing else, so a fork is safe); elsewhere a fresh
    interpreter each ("spawn"). Either way each fit has a process of its own that can be stopped."""
    import sys

    if sys.platform.startswith("linux") and "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(CANDIDATE_PRELOAD)
        return ctx
    return mp.get_context("spawn")


def _child(conn, *args) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
        conn.send({"status": "scored", **_score_candidate(*args)})
    except Exception as exc:  # reported on the leaderboard, one sentence
        traceback.print_exc()
        conn.send({"status": "failed", "error": one_sentence(exc)})
    finally:
        conn.close()


def _launch(ctx, name: str, options: dict, frame: pd.DataFrame, rows: list[dict], fit_rows: np.ndarray, seed: int,
            epochs: int, slot_s: float = 0.0):
    parent, child = ctx.Pipe(duplex=False)
    fit_by = time.time() + FIT_SHARE * slot_s if slot_s else 0.0
    proc = ctx.Process(target=_child, args=(child, name, options, frame, rows, fit_rows, seed, epochs, fit_by),
                       daemon=True)
    proc.start()
    child.close()
    return proc, parent, time.monotonic()


def _poll(job, deadline: float, stop: Callable[[], bool]) -> dict[str, Any] | None:
    """The result of a candidate's process once it has one (or is out of time, or cancelled); else None."""
    proc, conn, started = job
    result = None
    if conn.poll():
        try:
            result = conn.recv()
        except EOFError:
            result = {"status": "failed", "error": "the candidate's process ended without a result"}
    elif not proc.is_alive():
        result = {"status": "failed", "error": f"the candidate's process died (exit code {proc.exitcode})"}
    elif time.monotonic() > deadline or stop():
        proc.terminate()
        result = {"status": "cancelled" if stop() else "over budget",
                  "error": f"still fitting after {time.monotonic() - started:.0f} s"}
    if result is not None:
        proc.join(timeout=5)
        conn.close()
        result["seconds"] = round(time.monotonic() - started, 1)
    return result


def _split(frame: pd.DataFrame, seed: int, what: str) -> np.ndarray:
    if len(frame) < 10:
        raise AutoError(f"{what} needs at least 10 rows to score on rows a model never saw; the table has "
                        f"{len(frame)}: choose a generator")
    order = np.random.default_rng(seed).permutation(len(frame))
    return np.sort(order[int(round(len(frame) * VALIDATION_SHARE)):])


def select_generator(frame: pd.DataFrame, schema: list[ColumnSpec], candidates: list[str], options: dict[str, dict],
                     budget_s: float = 600.0, seed: int = 0, epochs: int = 300,
                     progress: Callable[[float, str], None] = lambda f, m: None,
                     stop: Callable[[], bool] = lambda: False) -> tuple[str, list[dict[str, Any]]]:
    """(the best candidate, the leaderboard: every candidate with its scores or why it has none)."""
    fit_rows = _split(frame, seed, "auto")
    ctx = candidate_context()
    parallel = max(1, min(2, os.cpu_count() or 1))
    pending = list(candidates)
    running: dict[str, Any] = {}
    board: dict[str, dict[str, Any]] = {}
    start = time.monotonic()
    deadline = start + budget_s
    rows = schema_to_dicts(schema)
    slot = slot_seconds(budget_s, len(candidates), parallel)
    said = 0.0
    while pending or running:
        while pending and len(running) < parallel and time.monotonic() < deadline:
            name = pending.pop(0)
            running[name] = _launch(ctx, name, options.get(name, {}), frame, rows, fit_rows, seed, epochs, slot)
        if pending and time.monotonic() >= deadline:  # never started: the budget went to the others
            for name in pending:
                board[name] = {"generator": name, "status": "over budget", "error": "not started within the budget",
                               "seconds": 0.0}
            pending.clear()
        for name, job in list(running.items()):
            result = _poll(job, deadline, stop)
            if result is None:
                continue
            del running[name]
            board[name] = {"generator": name, **result}
        now = time.monotonic()
        if now - said >= 1.0 or not (pending or running):  # a line every second: the count and the clock move
            said = now
            elapsed = now - start
            share = max(len(board) / len(candidates), min(elapsed / max(budget_s, 1e-9), 1.0) * 0.99)
            so_far = ", ".join(f"{n} {r['score']:.3f}" if r.get("score") is not None
                               else f"{n} {r['status']}" for n, r in board.items())
            progress(share, f"auto: {len(board)}/{len(candidates)} candidates done"
                            + (f" ({so_far})" if so_far else "")
                            + (f"; fitting {', '.join(running)} on {len(fit_rows)} rows" if running else "")
                            + f"; {elapsed:.0f} of {budget_s:.0f} s")
        if stop():
            pending.clear()
        time.sleep(0.2)
    leaderboard = sorted(board.values(), key=lambda r: -(r["score"] if r.get("score") is not None else -1.0))
    if not any(r.get("score") is not None for r in leaderboard):
        reasons = "; ".join(f"{r['generator']}: {r.get('error', r['status'])}" for r in leaderboard)
        raise AutoError(f"no candidate could be fit and scored ({reasons})")
    name, why = choose(leaderboard, list(candidates))
    for row in leaderboard:
        if row["generator"] == name:
            row["chosen"] = why
    return name, leaderboard


def tune_generator(frame: pd.DataFrame, schema: list[ColumnSpec], name: str, options: dict, trials: int,
                   budget_s: float = 600.0, seed: int = 0, epochs: int = 300,
                   progress: Callable[[float, str], None] = lambda f, m: None,
                   stop: Callable[[], bool] = lambda: False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`trials` Optuna (TPE) trials of a generator's hyperparameters (its `search_space`), each fit on most of
    the rows in a process of its own and scored on the rest. Returns (the best options, with "epochs" when it
    was tuned; every trial). The first trial is the generator's defaults, so tuning never ends worse than not
    tuning."""
    import optuna

    from genesis_core.registry import GENERATORS

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cls = GENERATORS.get(name)
    fit_rows = _split(frame, seed, "tuning")
    ctx = candidate_context()
    rows = schema_to_dicts(schema)
    deadline = time.monotonic() + budget_s
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({}, skip_if_exists=True)
    table: list[dict[str, Any]] = []
    for i in range(trials):
        if stop() or time.monotonic() > deadline:
            break
        trial = study.ask()
        params = cls.search_space(trial, len(fit_rows)) if i > 0 else {}
        rest = {k: v for k, v in params.items() if k != "epochs"}
        job = _launch(ctx, name, {**options, **rest}, frame, rows, fit_rows, seed, int(params.get("epochs", epochs)))
        result = None
        while result is None:
            result = _poll(job, deadline, stop)
            time.sleep(0.2)
        score = result.get("quality_score")
        study.tell(trial, score if score is not None else float("-inf"))
        table.append({"trial": i + 1, **params, **{k: result.get(k) for k in ("quality_score", "status", "seconds")}})
        progress((i + 1) / trials, f"tune {name}: trial {i + 1}/{trials} " +
                 (f"scored {score:.3f}" if score is not None else result["status"]))
    scored = [r for r in table if r.get("quality_score") is not None]
    if not scored:
        return dict(options), table
    best = max(scored, key=lambda r: r["quality_score"])
    params = {k: v for k, v in best.items() if k not in ("trial", "quality_score", "status", "seconds")}
    return {**options, **params}, table
