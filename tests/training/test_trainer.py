"""The shared Trainer on a tiny real model, in process, on the CPU."""

import threading

import pytest
import torch

from genesis_core.config import from_dict
from genesis_core.registry import TASKS
from genesis_core.store.metrics import MetricsReader
from genesis_core.training.callbacks import Callback
from genesis_core.training.resumable import TensorLoader
from genesis_core.training.trainer import Trainer


def make_task(config):
    cls = TASKS.get(config["task"])
    return cls(from_dict(cls.config_cls, config), torch.device("cpu"))


class StopAt(Callback):
    def __init__(self, step, event):
        self.step, self.event = step, event

    def on_step_end(self, trainer, logs):
        if trainer.step == self.step:
            self.event.set()


def losses(run):
    return MetricsReader(run.metrics_path).series("loss").set_index("step")["value"].to_dict()


def evals(run):
    df = MetricsReader(run.metrics_path).scalars()
    return df[df.key.str.startswith("eval/")].set_index(["step", "key"])["value"].to_dict()


def test_training_reduces_loss_and_writes_everything(workspace, tiny_config):
    tiny_config["trainer"].update(steps=60, tensorboard=True, preview_every=30)
    run = workspace.create_run("image_autoencoder", tiny_config)
    result = Trainer(make_task(tiny_config), run).fit()
    assert result.reason == "finished" and result.step == 60
    series = losses(run)
    assert series[60] < series[5] * 0.9
    assert set(result.eval_metrics) >= {"eval/mse", "eval/psnr_db", "eval/pca_mse"}
    assert run.latest_checkpoint().name == "step_00000060"
    assert list(run.tensorboard_dir.glob("events.out.tfevents.*"))
    assert run.artifact_path("preview_reconstructions.png").exists()
    kinds = MetricsReader(run.metrics_path).events()["kind"].tolist()
    assert kinds[:2] == ["start", "finished"] and set(kinds[2:]) <= {"best_restored"}
    best = MetricsReader(run.metrics_path).series("eval/val_mse")["value"]
    assert result.eval_metrics["eval/val_mse"] == best.min()  # the final model is the best one seen


def test_stop_and_resume_gives_the_same_metrics_as_an_uninterrupted_run(workspace, tiny_config):
    tiny_config["trainer"].update(steps=40, checkpoint_every=0)
    straight = workspace.create_run("image_autoencoder", tiny_config)
    Trainer(make_task(tiny_config), straight).fit()

    interrupted = workspace.create_run("image_autoencoder", tiny_config)
    stop = threading.Event()
    first = Trainer(make_task(tiny_config), interrupted, stop_event=stop)
    first.callbacks.append(StopAt(17, stop))  # stops between epochs' ends, mid-epoch, off the log grid
    result = first.fit()
    assert result.reason == "cancelled" and result.step == 17
    second = Trainer(make_task(tiny_config), interrupted, resume=True)
    assert second.fit().step == 40

    assert losses(interrupted) == losses(straight)
    assert evals(interrupted) == evals(straight)
    ev = MetricsReader(interrupted.metrics_path).events()
    assert ev["kind"].tolist()[:4] == ["start", "cancelled", "resume", "finished"]
    assert set(ev["kind"].tolist()[4:]) <= {"best_restored"}


def test_early_stopping_ends_the_run_and_its_state_is_checkpointed(workspace, tiny_config):
    tiny_config["trainer"].update(steps=400, eval_every=5, early_stop_metric="eval/mse",
                                  early_stop_patience=1, lr=0.5)  # a huge lr: no improvement
    run = workspace.create_run("image_autoencoder", tiny_config)
    trainer = Trainer(make_task(tiny_config), run)
    result = trainer.fit()
    assert result.reason == "early_stopped" and result.step < 400
    from genesis_core.store.checkpoint import load_train_state
    state = load_train_state(run.latest_checkpoint())
    assert state["callbacks"]["EarlyStopping"]["bad_evals"] == 1


def test_loader_resumes_mid_epoch_and_shards_across_ranks():
    x = torch.arange(20).float().unsqueeze(1)
    a = TensorLoader((x,), batch_size=3, seed=1)
    seen = [a.next_batch()[0] for _ in range(8)]  # crosses into the second epoch (6 batches per epoch)
    b = TensorLoader((x,), batch_size=3, seed=1)
    for _ in range(5):
        b.next_batch()
    c = TensorLoader((x,), batch_size=3, seed=1)
    c.load_state_dict(b.state_dict())
    assert all(torch.equal(c.next_batch()[0], s) for s in seen[5:])
    r0 = TensorLoader((x,), batch_size=2, seed=1, rank=0, world_size=2)
    r1 = TensorLoader((x,), batch_size=2, seed=1, rank=1, world_size=2)
    first = {int(v) for _ in range(5) for v in r0.next_batch()[0]}
    second = {int(v) for _ in range(5) for v in r1.next_batch()[0]}
    assert not first & second and len(first | second) == 20
    with pytest.raises(ValueError, match="larger than the 10 rows each rank gets"):
        TensorLoader((x,), batch_size=11, rank=0, world_size=2)


def test_load_model_rebuilds_the_trained_model(workspace, tiny_config):
    from genesis_core.training.loading import load_model

    run = workspace.create_run("image_autoencoder", tiny_config)
    Trainer(make_task(tiny_config), run).fit()
    loaded = load_model(run.id, workspace)
    x = loaded.task.split.test_x[:4]
    assert loaded.model.reconstruct(x).shape == x.shape
    assert loaded.meta["components"] == ["encoder", "decoder"]


def test_a_tampered_meta_latent_dim_is_refused_before_anything_is_allocated(workspace, tiny_config):
    import json

    import psutil

    from genesis_core.store.checkpoint import CheckpointError
    from genesis_core.training.loading import load_model

    run = workspace.create_run("image_autoencoder", tiny_config)
    Trainer(make_task(tiny_config), run).fit()
    latest = run.latest_checkpoint()
    meta = json.loads((latest / "meta.json").read_text())
    meta["config"]["model"]["latent_dim"] = 1e9
    (latest / "meta.json").write_text(json.dumps(meta))
    before = psutil.Process().memory_info().rss
    with pytest.raises(CheckpointError, match="does not describe these weights|does not build"):
        load_model(run.id, workspace)
    assert psutil.Process().memory_info().rss - before < 2**30


def test_a_restarted_run_cleans_what_a_killed_checkpoint_writer_left(workspace, tiny_config):
    run = workspace.create_run("image_autoencoder", tiny_config)
    leftover = run.checkpoints_dir / f".step_00000010.tmp-{2**22 + 999}"
    leftover.mkdir(parents=True)
    (run.checkpoints_dir / ".latest.zzz.tmp").write_text("x")
    Trainer(make_task(tiny_config), run).fit()
    assert not leftover.exists() and not (run.checkpoints_dir / ".latest.zzz.tmp").exists()


def test_progress_says_evaluating_and_checkpointing_while_no_step_moves(workspace, tiny_config):
    seen = []
    run = workspace.create_run("image_autoencoder", tiny_config)
    Trainer(make_task(tiny_config), run, reporter=lambda p: seen.append(p.get("message", ""))).fit()
    phases = [m for m in seen if m]
    assert any(m.startswith("evaluating") for m in phases) and any(m.startswith("checkpointing") for m in phases)
    assert any("last time" in m for m in phases)  # the phase's own ETA: how long it took the time before
    assert seen[-1] == ""  # back to steps at the end


def test_the_eta_covers_the_phases_after_the_last_step_and_is_never_a_false_zero(workspace, tiny_config):
    """After the last step the run still evaluates, checkpoints and previews: the ETA counts them (at the length
    each took last time) and is unknown (None) rather than 0 while one runs that was never timed."""
    seen = []
    run = workspace.create_run("image_autoencoder", tiny_config)
    Trainer(make_task(tiny_config), run, reporter=lambda p: seen.append(dict(p))).fit()
    after = [p for p in seen if p["step"] >= p["total"] and p.get("message")]
    assert after, "the run reports its phases after the last step"
    assert all(p["eta_s"] is None or p["eta_s"] > 0 for p in after), [(p["message"], p["eta_s"]) for p in after]
    timed = [p for p in seen if p["step"] < p["total"] and p["eta_s"] is not None]
    assert timed and all(p["eta_s"] > 0 for p in timed)


def test_a_jobs_progress_never_moves_backwards():
    from genesis_core.jobs.worker import MonotoneProgress

    forward = MonotoneProgress()
    shown = [forward({"step": s, "total": 100, "eta_s": None, "metrics": {}, "message": m})["step"]
             for s, m in ((10, "a"), (67, "table fitted"), (40, "text model"), (47, "text"), (70, "text"), (100, ""))]
    assert shown == [10, 67, 67, 67, 70, 100]
