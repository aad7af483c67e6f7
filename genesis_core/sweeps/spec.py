"""A sweep, as a file says it (YAML, TOML or JSON) and as the `sweep` job runs it:

    task: image_autoencoder
    base: {trainer: {steps: 40}}
    metric: eval/psnr_db
    direction: maximize
    trials: 4
    concurrency: 2
    space:
      model.latent_dim: {int: [2, 16]}
      trainer.lr: {float: [0.0001, 0.01], log: true}
      model.arch: {choice: [conv, mlp]}

Unknown keys, bad ranges and parameters the task does not have fail before anything starts, naming the key.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

from genesis_core.config import ConfigError
from genesis_core.training.task import TaskConfigBase, TrainerConfig

KINDS = ("int", "float", "choice")


@dataclass(frozen=True)
class SweepConfig(TaskConfigBase):
    task: str = "sweep"
    sweep_task: str = "image_autoencoder"  # the task every trial trains
    base: dict = field(default_factory=dict)  # the trials' config before the swept values
    metric: str = "eval/psnr_db"  # what the trials are scored by (their job's final metric)
    direction: Literal["maximize", "minimize"] = "maximize"
    trials: int = 10
    concurrency: int = 2  # trials in flight at once (each a job in the queue)
    space: dict = field(default_factory=dict)  # dotted key -> {int: [lo, hi]} | {float: [lo, hi], log: true} |
    # {choice: [...]}
    sampler: Literal["tpe", "random"] = "tpe"
    pruner: Literal["median", "none"] = "median"  # stop trials whose intermediate metric trails the median
    seed: int = 0
    backend: str = "local"  # where the trials run: local, or ray (a cluster at `address`, or a local instance)
    address: str = ""
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(steps=1, tensorboard=False, device="cpu"))

    def __post_init__(self) -> None:
        if self.trials < 1 or self.concurrency < 1:
            raise ValueError("trials and concurrency must be at least 1")
        if not self.space:
            raise ValueError("space: give at least one parameter to sweep")
        for key, dist in self.space.items():
            check_distribution(key, dist)


def check_distribution(key: str, dist: Any) -> None:
    where = f"space.{key}"
    if not isinstance(dist, dict):
        raise ConfigError(f"{where}: expected a mapping such as {{int: [2, 16]}}, got {dist!r}")
    kinds = [k for k in KINDS if k in dist]
    extra = sorted(set(dist) - {*KINDS, "log"})
    if extra:
        raise ConfigError(f"{where}.{extra[0]}: unknown key; expected one of {', '.join(KINDS)} and log")
    if len(kinds) != 1:
        raise ConfigError(f"{where}: give exactly one of {', '.join(KINDS)}")
    kind, values = kinds[0], dist[kinds[0]]
    if kind == "choice":
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}.choice: expected a non-empty list")
        return
    if not (isinstance(values, list) and len(values) == 2 and all(isinstance(v, (int, float)) for v in values)):
        raise ConfigError(f"{where}.{kind}: expected [low, high]")
    lo, hi = values
    if kind == "int" and not all(float(v).is_integer() for v in values):
        raise ConfigError(f"{where}.int: the range must be whole numbers, got {values}")
    if lo >= hi:
        raise ConfigError(f"{where}.{kind}: low must be below high, got {values}")
    if dist.get("log") and lo <= 0:
        raise ConfigError(f"{where}.{kind}: a log range must be positive, got {values}")


def set_dotted(config: dict, key: str, value: Any) -> dict:
    out = copy.deepcopy(config)
    node = out
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"space.{key}: {part} is not a section")
    node[parts[-1]] = value
    return out


def trial_config(spec: SweepConfig, params: dict[str, Any]) -> dict:
    """The config of one trial: the base with each swept key set."""
    config = {**copy.deepcopy(spec.base), "task": spec.sweep_task}
    for key, value in params.items():
        config = set_dotted(config, key, value)
    return config


def validate(spec: SweepConfig) -> None:
    """Every parameter must be a key of the task's config: build a trial at each range's ends."""
    from genesis_core.registry import task_config

    for end in (0, -1):
        params = {k: (d["choice"][end] if "choice" in d else (d.get("int") or d.get("float"))[end])
                  for k, d in spec.space.items()}
        for key, d in spec.space.items():
            if "int" in d:
                params[key] = int(params[key])
        try:
            task_config(trial_config(spec, params))
        except ConfigError as exc:
            raise ConfigError(f"a trial of this sweep would not start: {exc}") from None
