"""Genesis Workbench core: models, training, jobs, metrics and reports, with no UI dependency.

    import genesis_core as gc
    job = gc.submit({"task": "image_autoencoder", "trainer": {"steps": 200}})
    job = gc.wait(job.id)
    trained = gc.load_model(job.run_id)

Heavy modules (torch and the labs) load on first use, so `import genesis_core` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "submit": "genesis_core.jobs.api",
    "wait": "genesis_core.jobs.api",
    "cancel": "genesis_core.jobs.api",
    "resume": "genesis_core.jobs.api",
    "retry": "genesis_core.jobs.api",
    "list_jobs": "genesis_core.jobs.api",
    "get_job": ("genesis_core.jobs.api", "get"),
    "load_model": "genesis_core.training.loading",
    "Workspace": "genesis_core.store.workspace",
    "Trainer": "genesis_core.training.trainer",
    "TrainerConfig": "genesis_core.training.task",
    "ConfigError": "genesis_core.config",
    "MODELS": "genesis_core.registry",
    "DATASETS": "genesis_core.registry",
    "TASKS": "genesis_core.registry",
    "pick_device": "genesis_core.device",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'genesis_core' has no attribute {name!r}")
    module, attr = target if isinstance(target, tuple) else (target, name)
    return getattr(importlib.import_module(module), attr)
