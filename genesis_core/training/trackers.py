"""Experiment trackers the Trainer logs to beside the run's own SQLite store (`trainer.tracker`).

    tensorboard   event files in RUN/tb                  (tensorboard --logdir WORKSPACE/runs)
    mlflow        a local MLflow store, the SQLite file WORKSPACE/mlflow.db (MLflow 3 keeps its ./mlruns folder
                  store in maintenance mode and refuses it by default), one MLflow run per workbench run
                  (`mlflow ui --backend-store-uri sqlite:///WORKSPACE/mlflow.db`; the UI is in the full `mlflow`)
    wandb         Weights & Biases in offline mode, RUN/wandb (`wandb sync RUN/wandb/offline-run-*` uploads it)
    none          the run's store only

The store stays the source of truth: pages read it, never a tracker. A tracker that fails (a locked database,
a full disk) is dropped for the rest of the run with an event saying why; training goes on. A tracker sees the flattened config once
(`log_params`), every logged scalar (`log_scalars`), and the end of the run with its reason (`close`). A resumed
run logs to the same MLflow or W&B run as before (its id is kept in RUN/artifacts/trackers.json).
"""

from __future__ import annotations

import abc
import json
import math
import time
from typing import Any

from genesis_core.registry import TRACKERS
from genesis_core.store.files import atomic_write_text
from genesis_core.store.workspace import Run


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"trainer": {"lr": 1e-3}} -> {"trainer.lr": 1e-3}; lists become their JSON text."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = json.dumps(value) if isinstance(value, (list, tuple)) else value
    return out


class Tracker(abc.ABC):
    """What the metrics callback tells a tracker. Subclasses write to their library."""

    def __init__(self, run: Run):
        self.run = run

    def log_params(self, params: dict[str, Any]) -> None:
        """The run's flattened config, once at the start."""

    @abc.abstractmethod
    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        """Scalars logged at `step` (every log step and every evaluation)."""

    def flush(self) -> None:
        """Make what was logged durable (before each checkpoint)."""

    def close(self, reason: str = "finished") -> None:
        """The run ended (finished, cancelled, early_stopped, or failed after an error)."""

    # ids a resumed run reuses
    def _ids_path(self):
        return self.run.artifacts_dir / "trackers.json"

    def _ids(self) -> dict[str, str]:
        try:
            ids = json.loads(self._ids_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return ids if isinstance(ids, dict) else {}

    def _stored_id(self, name: str) -> str | None:
        return self._ids().get(name)

    def _store_id(self, name: str, value: str) -> None:
        path = self._ids_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({**self._ids(), name: value}, indent=1))


def _finite(values: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if math.isfinite(float(v))}


@TRACKERS.register("tensorboard")
class TensorBoardTracker(Tracker):
    def __init__(self, run: Run):
        super().__init__(run)
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(run.tensorboard_dir))

    def log_params(self, params: dict[str, Any]) -> None:
        text = "\n".join(f"    {k} = {v}" for k, v in sorted(params.items()))
        self.writer.add_text("config", text, 0)

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def flush(self) -> None:
        self.writer.flush()

    def close(self, reason: str = "finished") -> None:
        self.writer.close()


def mlflow_uri(run: Run) -> str:
    """The workspace's MLflow store (one SQLite file), shared by its runs."""
    return f"sqlite:///{run.dir.parent.parent / 'mlflow.db'}"


@TRACKERS.register("mlflow")
class MLflowTracker(Tracker):
    """One MLflow run per workbench run, in the experiment named after the task, through MlflowClient (no
    global active run, so two trainers in one process do not mix)."""

    STATUS = {"finished": "FINISHED", "early_stopped": "FINISHED", "cancelled": "KILLED"}

    def __init__(self, run: Run):
        super().__init__(run)
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as exc:
            raise RuntimeError("trainer.tracker is mlflow but MLflow is not installed: pip install mlflow-skinny") from exc
        self.client = MlflowClient(tracking_uri=mlflow_uri(run))
        existing = self._stored_id("mlflow")
        if existing is not None:
            self.run_id = existing
            self.client.update_run(existing, status="RUNNING")
            self.resumed = True
            return
        name = run.task or "genesis"
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(name)
        created = self.client.create_run(experiment_id, run_name=run.name,
                                         tags={"genesis.run_id": run.id, "genesis.task": run.task})
        self.run_id = created.info.run_id
        self.resumed = False
        self._store_id("mlflow", self.run_id)

    def log_params(self, params: dict[str, Any]) -> None:
        if self.resumed:  # params are immutable in MLflow and were logged by the first start
            return
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in sorted(params.items())]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[i:i + 100])

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(_mlflow_key(k), v, now, step) for k, v in _finite(values).items()]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def close(self, reason: str = "finished") -> None:
        self.client.set_terminated(self.run_id, status=self.STATUS.get(reason, "FAILED"))


def _mlflow_key(key: str) -> str:
    """MLflow keys allow letters, digits, _ - . space : / only."""
    return "".join(c if c.isalnum() or c in "_-. :/" else "_" for c in key)


@TRACKERS.register("wandb")
class WandbTracker(Tracker):
    """A W&B run in offline mode under RUN/wandb; the same W&B run id on a resume."""

    def __init__(self, run: Run):
        super().__init__(run)
        try:
            import wandb
        except ImportError as exc:
            raise RuntimeError("trainer.tracker is wandb but wandb is not installed: pip install wandb") from exc
        folder = run.dir / "wandb"
        folder.mkdir(parents=True, exist_ok=True)
        run_id = self._stored_id("wandb") or run.id.replace("-", "")[:64]
        self.wb = wandb.init(mode="offline", dir=str(run.dir), project=run.task or "genesis", name=run.name,
                             id=run_id, resume="allow", reinit="create_new",
                             settings=wandb.Settings(console="off", silent=True, x_disable_stats=True))
        self._store_id("wandb", run_id)

    def log_params(self, params: dict[str, Any]) -> None:
        self.wb.config.update(params, allow_val_change=True)

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        self.wb.log(_finite(values), step=step)

    def close(self, reason: str = "finished") -> None:
        self.wb.finish(exit_code=0 if reason in ("finished", "early_stopped", "cancelled") else 1)


def build_tracker(name: str, run: Run) -> Tracker | None:
    """The tracker named in the config, or None for "none"."""
    if name == "none":
        return None
    return TRACKERS.build(name, run)
