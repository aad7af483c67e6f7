"""trainer.tracker: a real tiny run logs to TensorBoard, MLflow (local file store) and W&B (offline), and each
library reads the run back with the same losses as the workbench's own store."""

import json

import pytest

from genesis_core.store.metrics import MetricsReader
from genesis_core.training.trainer import Trainer
from tests.vision.helpers import make_task


def train(workspace, config, tracker, steps=20, run=None, resume=False):
    config["trainer"].update(steps=steps, tracker=tracker, tensorboard=True, checkpoint_every=0, eval_every=10)
    run = run or workspace.create_run("image_autoencoder", config, name=f"tracked by {tracker}")
    result = Trainer(make_task(config), run, resume=resume).fit()
    assert result.reason == "finished"
    return run


def store_losses(run):
    return MetricsReader(run.metrics_path).series("loss").set_index("step")["value"].to_dict()


def test_tensorboard_event_files_read_back_with_the_stores_losses(workspace, tiny_config):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = train(workspace, tiny_config, "tensorboard")
    events = EventAccumulator(str(run.tensorboard_dir))
    events.Reload()
    logged = {e.step: e.value for e in events.Scalars("loss")}
    assert logged.keys() == store_losses(run).keys()
    assert logged == pytest.approx(store_losses(run), rel=1e-6)
    assert "eval/mse" in events.Tags()["scalars"]


def test_mlflow_store_holds_the_run_its_params_and_a_resume_continues_it(workspace, tiny_config):
    from mlflow.tracking import MlflowClient

    from genesis_core.training.trackers import mlflow_uri

    run = train(workspace, tiny_config, "mlflow", steps=20)
    assert not list(run.tensorboard_dir.glob("events.out.tfevents.*"))  # one tracker, not two
    client = MlflowClient(tracking_uri=mlflow_uri(run))
    assert (workspace.root / "mlflow.db").is_file()
    experiment = client.get_experiment_by_name("image_autoencoder")
    (found,) = client.search_runs([experiment.experiment_id])
    assert found.info.status == "FINISHED" and found.info.run_name == run.name
    assert found.data.tags["genesis.run_id"] == run.id
    assert found.data.params["trainer.lr"] == str(tiny_config["trainer"]["lr"])
    assert found.data.params["model.latent_dim"] == "4"
    history = {m.step: m.value for m in client.get_metric_history(found.info.run_id, "loss")}
    assert history == pytest.approx(store_losses(run), rel=1e-6)
    assert client.get_metric_history(found.info.run_id, "eval/mse")

    train(workspace, tiny_config, "mlflow", steps=30, run=run, resume=True)  # the same MLflow run goes on
    (again,) = client.search_runs([experiment.experiment_id])
    assert again.info.run_id == found.info.run_id and again.info.status == "FINISHED"
    steps = {m.step for m in client.get_metric_history(found.info.run_id, "loss")}
    assert max(steps) == 30 and steps >= set(store_losses(run))


def wandb_records(path):
    """The protobuf records of a W&B transaction log (.wandb): wandb 0.31 ships no Python reader of its own any
    more, so the framing is read here (LevelDB's log format behind a 7-byte ":W&B" header, 32 KiB blocks, chunks
    of checksum, length, type) and each record parsed with wandb's own protobuf schema."""
    import struct

    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    ident, magic, version = struct.unpack("<4sHB", data[:7])
    assert ident == b":W&B" and magic == 0xBEE1 and version == 0
    block, pos, pending, records = 32768, 7, b"", []
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a chunk header is padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == 0 and length == 0:
            continue
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):  # FULL or LAST: a whole record
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
    return records


def wandb_history(offline_dir):
    (path,) = offline_dir.glob("run-*.wandb")
    rows = []
    for record in wandb_records(path):
        if record.WhichOneof("record_type") == "history":
            rows.append({(item.key or "/".join(item.nested_key)): json.loads(item.value_json)
                         for item in record.history.item})
    return rows


def wandb_config(offline_dir):
    (path,) = offline_dir.glob("run-*.wandb")
    config = {}
    for record in wandb_records(path):
        if record.WhichOneof("record_type") == "config":
            config.update({item.key: json.loads(item.value_json) for item in record.config.update})
    return config


def test_wandb_offline_run_reads_back_with_the_stores_losses(workspace, tiny_config):
    run = train(workspace, tiny_config, "wandb")
    (offline,) = (run.dir / "wandb").glob("offline-run-*")
    rows = wandb_history(offline)
    logged = {int(r["_step"]): r["loss"] for r in rows if "loss" in r}
    assert logged == pytest.approx(store_losses(run), rel=1e-6)
    assert any("eval/mse" in r for r in rows)
    config = wandb_config(offline)
    assert config["trainer.lr"] == tiny_config["trainer"]["lr"] and config["model.latent_dim"] == 4


def test_an_unknown_tracker_names_the_key(tiny_config):
    from genesis_core.config import ConfigError
    from genesis_core.registry import task_config

    tiny_config["trainer"]["tracker"] = "neptune"
    with pytest.raises(ConfigError, match="tracker"):
        task_config(tiny_config)


def test_a_tracker_that_cannot_write_is_dropped_with_an_event_and_training_goes_on(workspace, tiny_config):
    workspace.root.mkdir(parents=True, exist_ok=True)
    (workspace.root / "mlflow.db").write_text("not a database, " * 40)  # a damaged MLflow store
    run = train(workspace, tiny_config, "mlflow")
    events = MetricsReader(run.metrics_path).events()
    (message,) = events[events["kind"] == "tracker"]["message"]
    assert message.startswith("tracker mlflow failed") and "store has every metric" in message
    assert max(store_losses(run)) == 20
