"""Name -> class registries for everything chosen by name, and the task-config validation beside them.

A lab adds its pieces by registering them; the core never lists them by hand:

    @MODELS.register("autoencoder")
    class Autoencoder(nn.Module): ...

    model = MODELS.build("autoencoder", config, image_shape)   # config is the class's frozen dataclass

Each registry names the modules that fill it (its plugins) and imports them on first lookup, so asking
for a tabular generator never imports the image lab, and the CLI's subcommands load without torch.

  TASKS       job kinds (a TrainingTask or JobTask subclass each)
  MODELS      model classes
  DATASETS    dataset builders
  GENERATORS  tabular generators (TabularGenerator subclasses)
  SEQUENCE_GENERATORS  generators of sequences (SequenceGenerator subclasses: par, timegan)
  BACKENDS    where job workers run: local processes, a Ray cluster
  TRACKERS    experiment trackers the Trainer logs to (tensorboard, mlflow, wandb)
  COMMANDS    CLI subcommands of the labs: a function adding its parsers to the CLI's subparsers
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Generic, TypeVar

from genesis_core.errors import WorkbenchError

T = TypeVar("T")

_TASK_MODULES = ["genesis_core.vision.tasks.autoencoders", "genesis_core.vision.tasks.restoration", "genesis_core.vision.tasks.families",
                 "genesis_core.vision.tasks.density_families",
                 "genesis_core.lm.task", "genesis_core.tabular.task", "genesis_core.av.task", "genesis_core.sweeps.driver",
                 "genesis_core.verify_task"]


class UnknownNameError(WorkbenchError, KeyError):
    """A name that no plugin registered."""


class Registry(Generic[T]):
    """A named collection of classes (or factories) of one kind, filled by importing its plugin modules."""

    def __init__(self, kind: str, plugins: list[str] | None = None):
        self.kind = kind
        self.plugins = list(plugins or [])  # a lab appends its module here once
        self._items: dict[str, T] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return decorator

    def load_plugins(self) -> None:
        """Import every plugin module once so its registrations run."""
        if self._loaded:
            return
        self._loaded = True
        for module in self.plugins:
            importlib.import_module(module)

    def get(self, name: str) -> T:
        self.load_plugins()
        if name not in self._items:
            known = ", ".join(sorted(self._items)) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}")
        return self._items[name]

    def names(self) -> list[str]:
        self.load_plugins()
        return sorted(self._items)

    def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.get(name)(*args, **kwargs)

    def __contains__(self, name: str) -> bool:
        self.load_plugins()
        return name in self._items


TASKS: Registry[Any] = Registry("task", _TASK_MODULES)
MODELS: Registry[Any] = Registry("model", _TASK_MODULES)
DATASETS: Registry[Any] = Registry("dataset", _TASK_MODULES)
GENERATORS: Registry[Any] = Registry("generator", ["genesis_core.tabular.single_table.sdv", "genesis_core.tabular.single_table.dp_tvae",
                                                   "genesis_core.tabular.single_table.mst", "genesis_core.tabular.single_table.aim",
                                                   "genesis_core.tabular.single_table.autoregressive"])
SEQUENCE_GENERATORS: Registry[Any] = Registry("sequence generator", ["genesis_core.tabular.sequential.generators",
                                                                     "genesis_core.tabular.sequential.timegan"])
BACKENDS: Registry[Any] = Registry("job backend", ["genesis_core.jobs.backends"])
TRACKERS: Registry[Any] = Registry("tracker", ["genesis_core.training.trackers"])
COMMANDS: Registry[Callable[[Any], None]] = Registry("command", ["genesis_core.cli.images", "genesis_core.cli.lm",
                                                                 "genesis_core.cli.tabular", "genesis_core.cli.releases",
                                                                 "genesis_core.cli.sweeps",
                                                                 "genesis_core.cli.jobs", "genesis_core.cli.serve",
                                                                 "genesis_core.verify"])


def load_plugins() -> None:
    """Import the plugins of the task, model and dataset registries."""
    for registry in (TASKS, MODELS, DATASETS):
        registry.load_plugins()


def task_config(config: Any, task: str | None = None) -> Any:
    """A task's frozen config from a dict (or a config), raising ConfigError naming the key when it is wrong."""
    from genesis_core.config import ConfigError, from_dict, to_dict

    if dataclasses.is_dataclass(config):
        config = to_dict(config)
    if not isinstance(config, dict):
        raise ConfigError(f"config: expected a mapping, got {type(config).__name__}")
    task = task or config.get("task")
    if not task:
        raise ConfigError("task: required key is missing (which task to train, e.g. 'image_autoencoder')")
    try:
        task_cls = TASKS.get(task)
    except UnknownNameError as exc:
        raise ConfigError(f"task: {exc}") from None
    return from_dict(task_cls.config_cls, {**config, "task": task})
