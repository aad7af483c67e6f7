"""Name -> class registries for everything chosen by name, and the task-config validation beside them.

A lab adds its pieces by registering them; the core never lists them by hand:

    @MODELS.register("autoencoder")
    class Autoencoder(nn.Module): ...

    model = MODELS.build("autoencoder", config, image_shape)   # config is the class's frozen dataclass

Each registry names the modules that fill it (its plugins) and imports them on first lookup, so asking
for a tabular generator never imports the image lab, and the CLI's subcommands load without torch.

Installed packages add to a registry through Python entry points, in the group `genesis_core.<kind>s`
(`genesis_core.generators`, `genesis_core.tasks`, ...; see GROUPS), loaded with the registry's own plugins: in
the app, the CLI, the HTTP service and every job worker alike, since each looks names up here. An entry point
names a class (registered under the entry point's name) or a module that registers its pieces when imported:

    [project.entry-points."genesis_core.generators"]
    my_copula = "my_package.generators:MyCopula"

One that fails to import (or clashes with a name already taken) is kept with its error, one sentence, and the
rest load as before: `external()` lists each with its package and version (`genesis plugins list`).

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
import functools
import importlib
from types import ModuleType
from typing import Any, Callable, Generic, TypeVar, cast

from genesis_core.errors import WorkbenchError

T = TypeVar("T")

_TASK_MODULES = ["genesis_core.vision.tasks.autoencoders", "genesis_core.vision.tasks.restoration", "genesis_core.vision.tasks.families",
                 "genesis_core.vision.tasks.density_families",
                 "genesis_core.lm.task", "genesis_core.tabular.task", "genesis_core.av.task", "genesis_core.sweeps.driver",
                 "genesis_core.verify_task"]


@functools.cache
def _installed_entry_points():
    """Every installed package's entry points, read once per process (a scan of the environment's metadata,
    ~15 ms) and shared by the registries' groups."""
    from importlib.metadata import entry_points

    return entry_points()


class UnknownNameError(WorkbenchError, KeyError):
    """A name that no plugin registered."""


class Registry(Generic[T]):
    """A named collection of classes (or factories) of one kind, filled by importing its plugin modules, then
    the entry points of its group (installed packages)."""

    def __init__(self, kind: str, plugins: list[str] | None = None, group: str = ""):
        self.kind = kind
        self.plugins = list(plugins or [])  # a lab appends its module here once
        self.group = group  # the entry-point group installed packages add to ("" for none)
        self._items: dict[str, T] = {}
        self._external: dict[str, dict[str, Any]] = {}
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
        if self.group:
            self._load_entry_points()

    def _load_entry_points(self) -> None:
        from genesis_core.errors import one_sentence

        for ep in _installed_entry_points().select(group=self.group):
            dist = ep.dist
            info: dict[str, Any] = {"name": ep.name, "group": self.group, "value": ep.value,
                                    "package": dist.metadata["Name"] if dist else "", "version": dist.version if dist
                                    else "", "status": "loaded", "error": ""}
            self._external[ep.name] = info
            try:
                before = set(self._items)
                obj = ep.load()
                if ep.name not in self._items:
                    if isinstance(obj, ModuleType):
                        raise LookupError(f"module {ep.value} registered no {self.kind} named {ep.name!r}")
                    self.register(ep.name)(obj)
                elif ep.name in before and self._items[ep.name] is not obj:
                    raise ValueError(f"{self.kind} {ep.name!r} is already registered by the workbench")
            except Exception as exc:  # a broken plugin is listed with its error; it never breaks the rest
                info.update(status="failed", error=one_sentence(exc))

    def external(self) -> list[dict[str, Any]]:
        """The entry points of installed packages in this registry's group: name, package, version, status, error."""
        self.load_plugins()
        return [dict(v) for _, v in sorted(self._external.items())]

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
        return cast(Callable[..., Any], self.get(name))(*args, **kwargs)

    def __contains__(self, name: str) -> bool:
        self.load_plugins()
        return name in self._items


GROUPS = {"task": "genesis_core.tasks", "model": "genesis_core.models", "dataset": "genesis_core.datasets",
          "generator": "genesis_core.generators", "sequence generator": "genesis_core.sequence_generators",
          "job backend": "genesis_core.backends", "tracker": "genesis_core.trackers",
          "command": "genesis_core.commands"}  # entry-point groups of installed packages, by registry kind

TASKS: Registry[Any] = Registry("task", _TASK_MODULES, GROUPS["task"])
MODELS: Registry[Any] = Registry("model", _TASK_MODULES, GROUPS["model"])
DATASETS: Registry[Any] = Registry("dataset", _TASK_MODULES, GROUPS["dataset"])
GENERATORS: Registry[Any] = Registry("generator", ["genesis_core.tabular.single_table.sdv", "genesis_core.tabular.single_table.dp_tvae",
                                                   "genesis_core.tabular.single_table.mst", "genesis_core.tabular.single_table.aim",
                                                   "genesis_core.tabular.single_table.autoregressive"],
                                     GROUPS["generator"])
SEQUENCE_GENERATORS: Registry[Any] = Registry("sequence generator", ["genesis_core.tabular.sequential.generators",
                                                                     "genesis_core.tabular.sequential.timegan"],
                                              GROUPS["sequence generator"])
BACKENDS: Registry[Any] = Registry("job backend", ["genesis_core.jobs.backends"], GROUPS["job backend"])
TRACKERS: Registry[Any] = Registry("tracker", ["genesis_core.training.trackers"], GROUPS["tracker"])
COMMANDS: Registry[Callable[[Any], None]] = Registry("command", ["genesis_core.cli.images", "genesis_core.cli.lm",
                                                                 "genesis_core.cli.tabular", "genesis_core.cli.releases",
                                                                 "genesis_core.cli.sweeps", "genesis_core.cli.plugins",
                                                                 "genesis_core.cli.av", "genesis_core.cli.domains",
                                                                 "genesis_core.cli.jobs", "genesis_core.cli.serve",
                                                                 "genesis_core.verify"], GROUPS["command"])
REGISTRIES = (TASKS, MODELS, DATASETS, GENERATORS, SEQUENCE_GENERATORS, BACKENDS, TRACKERS, COMMANDS)


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
