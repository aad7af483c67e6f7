"""The trained image models in a workspace, as the pages and the CLI pick them: every autoencoder run,
and every member of a bottleneck sweep, loaded from safetensors with the data split it was trained on.
Also the sweep's result table and the answer to "what is the smallest latent that reaches X dB"."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from torch import nn

from genesis_core.store import checkpoint as ckpt
from genesis_core.store.workspace import Run, Workspace
from genesis_core.training.loading import load_model

AUTOENCODER_TASKS = ("image_autoencoder", "bottleneck_sweep")


@dataclass(frozen=True)
class ModelEntry:
    run_id: str
    member: str  # "" for a single autoencoder, "z8" for a sweep member
    label: str
    image_shape: tuple[int, int, int]
    latent_dim: int
    conditional: bool
    dataset: str
    partial: bool = False  # its job is still training: the weights are those of its latest checkpoint

    @property
    def key(self) -> str:
        return f"{self.run_id}:{self.member}" if self.member else self.run_id


def list_autoencoders(workspace: Workspace | None = None) -> list[ModelEntry]:
    """Every autoencoder with a checkpoint, newest run first."""
    from genesis_core.jobs.api import list_jobs

    ws = workspace or Workspace()
    active = {j.run_id for j in list_jobs(ws, status=("running", "queued"), refresh=False)}
    out = []
    for run in ws.list_runs():
        if run.task not in AUTOENCODER_TASKS:
            continue
        latest = run.latest_checkpoint()
        if latest is None:
            continue
        try:
            meta = ckpt.read_meta(latest)
        except ckpt.CheckpointError:
            continue
        cfg = meta["config"]
        model_cfg = cfg.get("model", {})
        shape = tuple(meta.get("image_shape", ()))
        cond = model_cfg.get("conditioning", "none") != "none"
        kind = ("VAE" if model_cfg.get("variational") else "AE") + (f" [{model_cfg.get('conditioning')}]" if cond else "")
        name = run.name or run.id
        dataset = cfg.get("data", {}).get("dataset", "")
        partial = run.id in active
        status = [f"partial: its job is at step {meta.get('step')} of {meta.get('total_steps')}"] if partial else []
        if run.task == "image_autoencoder":
            facts = [f"{model_cfg.get('arch', 'conv')} {kind}", f"z={meta['latent_dim']}", dataset]
            out.append(ModelEntry(run.id, "", _label(name, facts, run.id, status), shape, int(meta["latent_dim"]),
                                  cond, dataset, partial))
        else:
            for k in meta.get("latent_sizes", []):
                out.append(ModelEntry(run.id, f"z{k}", _label(name, [f"sweep member z={k}", dataset], run.id, status),
                                      shape, int(k), cond, dataset, partial))
    return out


def _label(name: str, facts: list[str], run_id: str, status: list[str]) -> str:
    """The run's name, then each fact the name does not already say, the run id, and its status."""
    said = name.lower().replace("_", " ")
    parts = [name, *[f for f in facts if f and f.lower().replace("_", " ") not in said]]
    return " · ".join(parts + ([run_id] if run_id != name else []) + status)


def load_autoencoder(key: str, workspace: Workspace | None = None, device: str = "cpu"):
    """`run_id` or `run_id:z8` -> (autoencoder in eval mode, the task with its data split)."""
    run_id, _, member = key.partition(":")
    loaded = load_model(run_id, workspace, device=device)
    model = loaded.model
    members = getattr(model, "members", None)
    if member:
        if not isinstance(members, nn.ModuleDict) or member not in members:
            raise ckpt.CheckpointError(f"run {run_id} has no member {member!r}.")
        model = members[member]
    elif isinstance(members, nn.ModuleDict):
        raise ckpt.CheckpointError(f"run {run_id} is a sweep; pick one of its members, e.g. {run_id}:"
                                   f"{next(iter(members))}.")
    return model.eval(), loaded.task


def against_pca(checkpoint: str | Path, member: str = "") -> dict | None:
    """The checkpoint's test PSNR beside PCA's with as many components, and whether PCA wins (None before
    the first evaluation)."""
    metrics = ckpt.read_meta(checkpoint).get("metrics") or {}
    prefix = f"eval/{member}/" if member else "eval/"
    if prefix + "psnr_db" not in metrics or prefix + "pca_psnr_db" not in metrics:
        return None
    ae, pca = metrics[prefix + "psnr_db"], metrics[prefix + "pca_psnr_db"]
    return {"psnr_db": ae, "pca_psnr_db": pca, "pca_wins": pca > ae}


def checkpoint_of(key: str, workspace: Workspace | None = None) -> str:
    """The checkpoint folder a catalog key's model loads from (its run's newest)."""
    ws = workspace or Workspace()
    latest = ws.get_run(key.partition(":")[0]).latest_checkpoint()
    if latest is None:
        raise ckpt.CheckpointError(f"run {key.partition(':')[0]} has no checkpoint yet.")
    return str(latest)


def bottleneck_table(run: Run) -> pd.DataFrame:
    """One row per latent size from the sweep's latest evaluation: test MSE / PSNR / SSIM, train PSNR
    and the train-test gap, and the same for PCA with as many components."""
    latest = run.latest_checkpoint()
    if latest is None:
        raise ckpt.CheckpointError(f"run {run.id} has no checkpoint yet.")
    meta = ckpt.read_meta(latest)
    metrics = meta.get("metrics") or {}
    rows = []
    for k in meta.get("latent_sizes", []):
        p = f"eval/z{k}/"
        if p + "mse" not in metrics:
            continue
        rows.append({"latent": int(k), "step": int(meta["step"]),
                     **{name[len(p):]: v for name, v in metrics.items() if name.startswith(p)}})
    if not rows:
        raise ckpt.CheckpointError(f"run {run.id} has not been evaluated yet.")
    return pd.DataFrame(rows).sort_values("latent").reset_index(drop=True)


def minimum_latent(table: pd.DataFrame, target_psnr_db: float, column: str = "psnr_db") -> int | None:
    """The smallest latent size whose test PSNR reaches the target (None: no size does)."""
    ok = table[table[column] >= target_psnr_db]
    return int(ok["latent"].min()) if len(ok) else None
