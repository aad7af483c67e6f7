"""Load a trained model back from a run or a checkpoint folder (safetensors + JSON; nothing unpickled)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genesis_core.config import ConfigError, from_dict
from genesis_core.device import pick_device
from genesis_core.registry import TASKS
from genesis_core.store import checkpoint as ckpt
from genesis_core.store.workspace import Workspace


@dataclass
class LoadedModel:
    model: nn.Module
    task: Any  # the TrainingTask, for its data and helpers
    config: Any
    meta: dict[str, Any]
    checkpoint: Path


def resolve_checkpoint(run_or_checkpoint: str | Path, workspace: Workspace | None = None) -> Path:
    """The checkpoint folder of a run id (its latest checkpoint) or of a checkpoint folder path."""
    path = Path(run_or_checkpoint)
    if (path / "meta.json").exists():
        return path
    run = (workspace or Workspace()).get_run(str(run_or_checkpoint))
    latest = run.latest_checkpoint()
    if latest is None:
        raise ckpt.CheckpointError(f"run {run.id} has no checkpoint yet.")
    return latest


def load_model(run_or_checkpoint: str | Path, workspace: Workspace | None = None,
               device: str | torch.device | None = "cpu") -> LoadedModel:
    """`run_or_checkpoint`: a run id (its latest checkpoint) or a checkpoint folder path."""
    path = resolve_checkpoint(run_or_checkpoint, workspace)
    meta = ckpt.read_meta(path)
    try:
        task_cls = TASKS.get(meta["task"])
        upgrade = getattr(task_cls, "saved_config", None)  # training tasks have it; job tasks save no models here
        config = from_dict(task_cls.config_cls, upgrade(meta["config"]) if upgrade else meta["config"])
    except (KeyError, ConfigError) as exc:
        raise ckpt.CheckpointError(f"{path}: its task or config is not usable here ({exc}).") from exc
    dev = device if isinstance(device, torch.device) else pick_device(device)
    task = task_cls(config, dev)
    _check_sizes(task, path)
    model = task.build_model()
    try:
        model.load_state_dict(ckpt.load_weights(path))
    except RuntimeError as exc:
        raise ckpt.CheckpointError(f"{path}: weights do not fit the model ({str(exc).splitlines()[0]}).") from exc
    model.to(dev).eval()
    return LoadedModel(model, task, config, meta, path)


def _check_sizes(task: Any, path: Path) -> None:
    """Refuse a config whose model does not have the shapes of the weights actually in the checkpoint, before
    anything is allocated: the model is built on the meta device (shapes, no memory) and compared with the
    safetensors header. A tampered meta.json (`latent_dim: 1e9`) is one sentence, not terabytes."""
    shapes = ckpt.weight_shapes(path)
    import warnings

    try:
        with torch.device("meta"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a model that loads a frozen part (latent diffusion) copies onto meta
            planned = {k: tuple(v.shape) for k, v in task.build_model().state_dict().items()}
    except (RuntimeError, NotImplementedError, ValueError, TypeError):
        return  # a model that cannot be built without data (a real build follows and is checked by load_state_dict)
    for key, shape in planned.items():
        if key in shapes and shapes[key] != shape:
            raise ckpt.CheckpointError(f"{path}: its config asks for {key} of shape {list(shape)}, but the weights "
                                       f"hold {list(shapes[key])}; meta.json does not describe these weights.")
    missing = sorted(set(planned) - set(shapes))
    if missing:
        raise ckpt.CheckpointError(f"{path}: the weights have no {missing[0]} (and {len(missing) - 1} more), which "
                                   "its config asks for; meta.json does not describe these weights.")
