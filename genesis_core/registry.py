"""Name -> class registries for models, datasets and tasks (job kinds), and the factory over them.

A lab adds its pieces by registering them; the core never lists them by hand:

    @MODELS.register("autoencoder")
    class Autoencoder(nn.Module): ...

    model = MODELS.build("autoencoder", config, image_shape)   # config is the class's frozen dataclass
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")

# Modules that register things when imported. A lab appends its module here once.
PLUGIN_MODULES: list[str] = [
    "genesis_core.vision.tasks",
    "genesis_core.vision.restoration",
    "genesis_core.lm.task",
    "genesis_core.tabular.task",
    "genesis_core.av.task",
]


class UnknownNameError(KeyError):
    """A name that no plugin registered."""

    def __str__(self) -> str:  # KeyError quotes its message; a user should read a sentence
        return str(self.args[0])


class Registry(Generic[T]):
    """A named collection of classes (or factories) of one kind."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        load_plugins()
        if name not in self._items:
            known = ", ".join(sorted(self._items)) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}")
        return self._items[name]

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self._items)

    def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.get(name)(*args, **kwargs)

    def __contains__(self, name: str) -> bool:
        load_plugins()
        return name in self._items


MODELS: Registry[Any] = Registry("model")
DATASETS: Registry[Any] = Registry("dataset")
TASKS: Registry[Any] = Registry("task")

_loaded = False


def load_plugins() -> None:
    """Import every plugin module once so its registrations run."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in PLUGIN_MODULES:
        importlib.import_module(module)
