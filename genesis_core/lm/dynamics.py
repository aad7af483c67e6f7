"""What the loss-dynamics page shows, read from the store: curves of one run on a chosen x-axis, its
events, bits per byte per language, and a table of the hyperparameters that differ between runs."""

from __future__ import annotations

from typing import Any

import pandas as pd

from genesis_core.store.compare import config_table
from genesis_core.store.metrics import MetricsReader
from genesis_core.store.workspace import Run

CURVES = ("loss", "loss_ema", "loss_min", "loss_max", "loss_slope", "lr", "lr_multiplier", "stagnation",
          "mask_rate", "wwm_share", "tokens", "grad_norm")
X_AXES = {"step": "step", "tokens": "tokens", "wall time": "wall_s"}
EVENT_KINDS = ("stagnation", "stun", "spike", "resume", "cancelled", "early_stopped")


def run_curves(run: Run, max_points: int | None = None) -> pd.DataFrame:
    """Wide frame, one row per logged step: step, wall_s (seconds since the first log), tokens and CURVES.
    With `max_points`, a run logged at more steps comes back as at most that many buckets of consecutive
    steps, aggregated inside SQLite: each bucket's last row, with loss_min / loss_max the bucket's lowest and
    highest loss (so spikes stay in the envelope)."""
    reader = MetricsReader(run.metrics_path)
    if max_points:
        lo, hi, n = reader.step_range("loss")
        if n > max_points:
            return _bucketed_curves(reader, max_points, lo, hi)
    long = reader.scalars(CURVES)
    if long.empty:
        return pd.DataFrame(columns=["step", "wall_s", *CURVES])
    wide = long.pivot_table(index="step", columns="key", values="value", aggfunc="last").reset_index()
    wall = long.groupby("step")["wall"].max().reset_index(drop=True)
    wide["wall_s"] = wall.values - float(long["wall"].min())
    for c in CURVES:
        if c not in wide:
            wide[c] = float("nan")
    return wide


def _bucketed_curves(reader: MetricsReader, max_points: int, lo: int, hi: int) -> pd.DataFrame:
    last, low_high = reader.bucketed(CURVES, max_points, lo, hi, extremes=("loss", "loss_min", "loss_max"))
    wide = last.pivot_table(index="bucket", columns="key", values="value", aggfunc="last")
    wide = wide.join(last.groupby("bucket").agg(step=("step", "max"), wall=("wall", "max")))
    wide = wide.drop(columns=[c for c in ("loss_min", "loss_max") if c in wide])
    wide = wide.join(low_high.groupby("bucket").agg(loss_min=("vmin", "min"), loss_max=("vmax", "max")))
    wide = wide.reset_index(drop=True)
    wide["wall_s"] = wide.pop("wall") - (reader.first_wall() or 0.0)
    wide["step"] = wide["step"].astype(int)
    for c in CURVES:
        if c not in wide:
            wide[c] = float("nan")
    return wide[["step", "wall_s", *CURVES]].sort_values("step").reset_index(drop=True)


def run_events(run: Run, curves: pd.DataFrame | None = None) -> pd.DataFrame:
    """Events worth drawing on the curves, with their x positions for every axis."""
    ev = MetricsReader(run.metrics_path).events()
    ev = ev[ev["kind"].isin(EVENT_KINDS)].copy() if not ev.empty else ev
    if ev.empty:
        return pd.DataFrame(columns=["step", "kind", "message", "tokens", "wall_s"])
    ev = ev.sort_values("step")
    if curves is None:  # the tokens and wall time logged at (or just before) each event's step, by index seeks
        reader = MetricsReader(run.metrics_path)
        at = reader.at_or_before("tokens", ev["step"]).set_index("asked")
        first = reader.first_wall() or 0.0
        ev["tokens"] = ev["step"].map(at["value"]).values if len(at) else float("nan")
        ev["wall_s"] = (ev["step"].map(at["wall"]) - first).values if len(at) else float("nan")
    else:
        lookup = curves.set_index("step")[["tokens", "wall_s"]].sort_index()
        pos = pd.merge_asof(ev[["step"]], lookup.reset_index(), on="step", direction="nearest")
        ev["tokens"], ev["wall_s"] = pos["tokens"].values, pos["wall_s"].values
    return ev[["step", "kind", "message", "tokens", "wall_s"]].reset_index(drop=True)


def language_bpb(run: Run) -> pd.DataFrame:
    """Latest bits per byte per language and the unigram baseline."""
    latest = MetricsReader(run.metrics_path).latest()
    rows = [{"language": k.split("/", 2)[2], "bpb": v, "unigram_bpb": latest.get(f"eval/unigram_bpb/{k.split('/', 2)[2]}")}
            for k, v in latest.items() if k.startswith("eval/bpb/")]
    return pd.DataFrame(rows, columns=["language", "bpb", "unigram_bpb"])


def hyperparameter_table(runs: list[Run], always: tuple[str, ...] = ("objective", "model.n_layer", "model.d_model",
                                                                     "model.context", "trainer.lr", "trainer.steps")
                         ) -> pd.DataFrame:
    """One row per run: the config keys that differ between the runs, plus a few always shown."""
    return config_table(runs, differences_only=True, always=always).drop(columns=["id"])


def interventions(run: Run) -> pd.DataFrame:
    """Steps where training was changed from outside its plain course: an LR stun, a resume, a spike whose
    update was skipped or rolled back. Columns: step, kind, message."""
    ev = MetricsReader(run.metrics_path).events()
    if ev.empty:
        return pd.DataFrame(columns=["step", "kind", "message"])
    acted = ev["data"].map(lambda d: isinstance(d, dict) and d.get("action") in ("skipped", "rolled back"))
    keep = ev["kind"].isin(("stun", "resume")) | ((ev["kind"] == "spike") & acted)
    return ev[keep].sort_values("step")[["step", "kind", "message"]].reset_index(drop=True)


def phase_improvement(run: Run, curves: pd.DataFrame | None = None) -> pd.DataFrame:
    """The run cut into phases at its interventions, each with the loss change since the intervention that
    opened it: EMA of the loss at the phase's first and last logged step, the change (negative: better), the
    change per 1,000 steps, and the best raw loss inside the phase. The last row is the phase running now, so
    its `change` is the improvement since the last intervention."""
    curves = run_curves(run) if curves is None else curves
    cols = ["phase", "opened_by", "start_step", "end_step", "ema_start", "ema_end", "change", "change_per_1k",
            "best_loss"]
    logged = curves.dropna(subset=["loss"]).sort_values("step")
    if logged.empty:
        return pd.DataFrame(columns=cols)
    ema = logged["loss_ema"].fillna(logged["loss"])
    steps = logged["step"].to_numpy()
    cuts = interventions(run)
    starts = [(int(steps[0]), "start")] + [(int(s), k) for s, k in zip(cuts["step"], cuts["kind"])
                                            if steps[0] < s <= steps[-1]]
    rows: list[dict[str, Any]] = []
    for i, (start, kind) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else int(steps[-1]) + 1
        inside = (steps >= start) & (steps < end)
        if not inside.any():
            continue
        e = ema[inside].to_numpy()
        s = steps[inside]
        span = max(int(s[-1] - s[0]), 1)
        rows.append({"phase": len(rows) + 1, "opened_by": kind, "start_step": int(s[0]), "end_step": int(s[-1]),
                     "ema_start": float(e[0]), "ema_end": float(e[-1]), "change": float(e[-1] - e[0]),
                     "change_per_1k": float((e[-1] - e[0]) / span * 1000),
                     "best_loss": float(logged["loss"][inside].min())})
    return pd.DataFrame(rows, columns=cols)


def pair_scores(run: Run) -> pd.DataFrame:
    """The latest held-out accuracy and ROC AUC of each auxiliary pair task (chance: 0.5 for both)."""
    latest = MetricsReader(run.metrics_path).latest()
    tasks = sorted({k.split("/")[2].rsplit("_", 1)[0] for k in latest if k.startswith("eval/pair/")})
    rows = [{"task": t, "accuracy": latest.get(f"eval/pair/{t}_acc"), "auc": latest.get(f"eval/pair/{t}_auc"),
             "chance": 0.5} for t in tasks]
    return pd.DataFrame(rows, columns=["task", "accuracy", "auc", "chance"])
