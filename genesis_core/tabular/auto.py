"""`auto`, measured rather than guessed: every candidate generator is fit on most of the training rows in a
process of its own, scored on the rest (rows it never saw) with SDMetrics' quality score, within a time
budget; the best one wins and the leaderboard says why.

A candidate still running when the budget is spent is stopped and listed as over budget; one that fails is
listed with its error. Candidates run two at a time (or one on a single core).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import traceback
from typing import Any, Callable

import numpy as np
import pandas as pd

from genesis_core.errors import WorkbenchError, one_sentence
from genesis_core.tabular.schema import ColumnSpec, prepare, schema_from_dicts, schema_to_dicts

DEFAULT_CANDIDATES = ("gaussian_copula", "ctgan", "tvae")
PRIVATE_CANDIDATES = ("dp_tvae",)
VALIDATION_SHARE = 0.2


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
        chosen = list(PRIVATE_CANDIDATES if epsilon > 0 else DEFAULT_CANDIDATES)
        if epsilon > 0 and "mst" in GENERATORS:
            chosen.insert(0, "mst")
    if epsilon > 0:
        public = [n for n in chosen if not GENERATORS.get(n).private]
        if public:
            raise AutoError(f"epsilon {epsilon:g} asks for differential privacy, but {public[0]} is not private")
    return chosen


def _score_candidate(name: str, options: dict, frame: pd.DataFrame, schema_rows: list[dict], fit_rows: np.ndarray,
                     seed: int, epochs: int) -> dict[str, Any]:
    """In the candidate's own process: fit on `fit_rows`, sample, score against the other rows."""
    from genesis_core.tabular.generators import make_generator
    from genesis_core.tabular.quality import fidelity

    schema = schema_from_dicts(schema_rows)
    mask = np.zeros(len(frame), bool)
    mask[fit_rows] = True
    fit, val = frame[mask].reset_index(drop=True), frame[~mask].reset_index(drop=True)
    t0 = time.time()
    gen = make_generator(name, seed=seed, epochs=epochs, **options).fit(fit, schema)
    fit_s = time.time() - t0
    synth = gen.sample(max(len(val), 200), seed=seed)
    scores = fidelity(prepare(val, schema), prepare(synth, schema), schema, seed)
    return {"quality_score": scores["quality_score"], "column_shapes": scores["column_shapes"],
            "column_pair_trends": scores["column_pair_trends"], "fit_s": fit_s}


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


def select_generator(frame: pd.DataFrame, schema: list[ColumnSpec], candidates: list[str], options: dict[str, dict],
                     budget_s: float = 600.0, seed: int = 0, epochs: int = 300,
                     progress: Callable[[float, str], None] = lambda f, m: None,
                     stop: Callable[[], bool] = lambda: False) -> tuple[str, list[dict[str, Any]]]:
    """(the best candidate, the leaderboard: every candidate with its scores or why it has none)."""
    if len(frame) < 10:
        raise AutoError(f"auto needs at least 10 rows to score candidates on rows they never saw; the table has "
                        f"{len(frame)}: choose a generator")
    order = np.random.default_rng(seed).permutation(len(frame))
    fit_rows = np.sort(order[int(round(len(frame) * VALIDATION_SHARE)):])
    ctx = mp.get_context("spawn")
    parallel = max(1, min(2, os.cpu_count() or 1))
    pending = list(candidates)
    running: dict[str, tuple[Any, Any, float]] = {}
    board: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + budget_s
    rows = schema_to_dicts(schema)
    while pending or running:
        while pending and len(running) < parallel:
            name = pending.pop(0)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(child, name, options.get(name, {}), frame, rows, fit_rows, seed,
                                                    epochs), daemon=True)
            proc.start()
            child.close()
            running[name] = (proc, parent, time.monotonic())
            progress(len(board) / len(candidates), f"auto: fitting {name} on {len(fit_rows)} rows")
        for name, (proc, conn, started) in list(running.items()):
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
                result = {"status": "over budget" if not stop() else "cancelled",
                          "error": f"still fitting after {time.monotonic() - started:.0f} s"}
            if result is not None:
                proc.join(timeout=5)
                conn.close()
                del running[name]
                board[name] = {"generator": name, "seconds": round(time.monotonic() - started, 1), **result}
                score = result.get("quality_score")
                progress(len(board) / len(candidates), f"auto: {name} " + (f"scored {score:.3f}" if score is not None
                                                                            else result["status"]))
        if stop():
            pending.clear()
        time.sleep(0.2)
    leaderboard = sorted(board.values(), key=lambda r: -(r.get("quality_score") or -1))
    scored = [r for r in leaderboard if r.get("quality_score") is not None]
    if not scored:
        reasons = "; ".join(f"{r['generator']}: {r.get('error', r['status'])}" for r in leaderboard)
        raise AutoError(f"no candidate could be fit and scored ({reasons})")
    return scored[0]["generator"], leaderboard
