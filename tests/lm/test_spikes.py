"""Loss spikes: found in a real logged loss curve (spike_recall), acted on in training (skip the batch's update,
or roll back to the latest checkpoint), and posted to a webhook that may be down."""

import http.server
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from genesis_core.lm.analytics import AnalyticsConfig, LossAnalytics, SpikeDetector
from genesis_core.store import checkpoint as ckpt
from genesis_core.store.metrics import MetricsReader
from genesis_core.store.webhook import WebhookNotifier
from genesis_core.training.callbacks import Callback
from genesis_core.training.trainer import Trainer
from tests.lm.helpers import tiny_lm
from tests.vision.helpers import make_task

CURVE = Path(__file__).parents[1] / "data" / "lm_loss_curve.csv"


def real_curve() -> np.ndarray:
    """Per-step training loss of a byte-level LM (2 layers, 64 wide, en/de/zh, batch 8 x 64 bytes, one loss per
    step, 10,000 steps): noisy (the batch's language mix moves it by about 10%), falling fast at first."""
    return np.loadtxt(CURVE, delimiter=",", skiprows=1)[:, 1]


def detect(losses: np.ndarray, **kw) -> set[int]:
    d = SpikeDetector(**kw)
    return {i for i, v in enumerate(losses) if d.update(float(v))[0]}


def test_spike_recall_on_a_real_loss_curve():
    """Loss doublings injected into the real curve are found (recall >= 95%), with at most 1 false alarm per
    10,000 steps, both on the clean curve and around the injected spikes."""
    loss = real_curve()
    n = len(loss)
    assert n >= 10_000 and np.isfinite(loss).all()
    assert len(detect(loss)) <= n / 10_000  # the clean curve
    rng = np.random.default_rng(0)
    found_total, injected_total, false_alarms, steps = 0, 0, 0, 0
    for _ in range(5):
        pos = set(rng.choice(np.arange(100, n), 50, replace=False).tolist())
        spiked = loss.copy()
        spiked[list(pos)] *= 2.0
        found = detect(spiked)
        found_total += len(found & pos)
        injected_total += len(pos)
        false_alarms += len(found - pos)
        steps += n
    assert found_total / injected_total >= 0.95, found_total / injected_total
    assert false_alarms <= steps / 10_000


def test_spike_recall_misses_are_small_spikes_not_large_ones():
    loss = real_curve()
    pos = np.arange(500, len(loss), 250)
    spiked = loss.copy()
    spiked[pos] *= 3.0
    assert detect(spiked) & set(pos.tolist()) == set(pos.tolist())
    spiked = loss.copy()
    spiked[pos] *= 1.25  # within the noise of this small batch: not a spike
    assert len(detect(spiked) & set(pos.tolist())) / len(pos) < 0.5


def test_a_sustained_jump_is_a_new_level_not_endless_spikes():
    rng = np.random.default_rng(1)
    loss = np.r_[3 + 0.05 * rng.standard_normal(300), 6 + 0.05 * rng.standard_normal(300)]
    found = detect(loss, sustained=20)
    assert found == set(range(300, 320))  # the first 20 steps of the jump, then the trend follows it


def test_spikes_resume_exactly():
    loss = real_curve()[:600].copy()
    loss[[200, 450]] *= 3
    whole = LossAnalytics(AnalyticsConfig())
    events_whole = [(i, e[0]) for i, v in enumerate(loss) for e in whole.update(float(v))]
    first = LossAnalytics(AnalyticsConfig())
    events = [(i, e[0]) for i, v in enumerate(loss[:300]) for e in first.update(float(v))]
    second = LossAnalytics(AnalyticsConfig())
    second.load_state_dict(json.loads(json.dumps(first.state_dict())))
    events += [(300 + i, e[0]) for i, v in enumerate(loss[300:]) for e in second.update(float(v))]
    assert events == events_whole and (200, "spike") in events and (450, "spike") in events


# -- acting on spikes in training ---------------------------------------------------------------------------
SPIKE_AT = 70


def spike_run(workspace, action: str):
    cfg = tiny_lm(analytics={"spike_action": action},
                  trainer={"steps": 80, "checkpoint_every": 40, "eval_every": 0, "preview_every": 0, "log_every": 10})
    run = workspace.create_run("language_model", cfg)
    task = make_task(cfg)
    original = task.training_step

    def step(model, batch):  # the batch of step SPIKE_AT goes wrong: its loss is 5x
        loss, extra = original(model, batch)
        if trainer.step + 1 == SPIKE_AT:
            task.loss_buffer[-1] = task.loss_buffer[-1] * 5
            loss = loss * 5
        return loss, extra

    task.training_step = step
    trainer = Trainer(task, run)
    weights = {}

    class Snapshot(Callback):
        def on_step_end(self, t, logs):
            weights[t.step] = {k: v.detach().clone() for k, v in t.model.state_dict().items()}

    trainer.callbacks.append(Snapshot())
    assert trainer.fit().reason == "finished"
    events = MetricsReader(run.metrics_path).events()
    return run, weights, events[events["kind"] == "spike"]


def same(a, b) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_spike_skip_leaves_the_weights_as_they_were(workspace):
    _, weights, spikes = spike_run(workspace, "skip")
    assert spikes["step"].tolist() == [SPIKE_AT]
    assert spikes["data"].iloc[0]["action"] == "skipped" and "skipped" in spikes["message"].iloc[0]
    assert same(weights[SPIKE_AT], weights[SPIKE_AT - 1])  # the update of the spiking batch was not applied
    assert not same(weights[SPIKE_AT + 1], weights[SPIKE_AT])  # training carries on


def test_spike_rollback_goes_back_to_the_latest_checkpoint(workspace):
    run, weights, spikes = spike_run(workspace, "rollback")
    assert spikes["step"].tolist() == [SPIKE_AT]
    data = spikes["data"].iloc[0]
    assert data["action"] == "rolled back" and data["rolled_back_to"] == 40
    at_40 = ckpt.load_weights(run.checkpoints_dir / "step_00000040")
    assert same(weights[SPIKE_AT], at_40) and not same(weights[SPIKE_AT - 1], at_40)


def test_spike_log_only_does_not_touch_training(workspace):
    _, weights, spikes = spike_run(workspace, "log")
    assert spikes["step"].tolist() == [SPIKE_AT] and "action" not in spikes["data"].iloc[0]
    assert not same(weights[SPIKE_AT], weights[SPIKE_AT - 1])


def test_spike_action_is_checked():
    with pytest.raises(ValueError, match="spike_action"):
        AnalyticsConfig(spike_action="panic")
    with pytest.raises(ValueError, match="webhook"):
        AnalyticsConfig(webhook="ftp://example")


# -- webhook ---------------------------------------------------------------------------------------------------
class Hook(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((time.monotonic(), json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook_url():
    Hook.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_webhook_batches_events_within_the_rate_limit(hook_url):
    n = WebhookNotifier(hook_url, "run-1", min_interval=0.5)
    for i in range(5):
        n.send("spike", f"spike {i}", step=i, z=6.0 + i, action="skipped")
    time.sleep(0.2)
    n.send("stun", "late", step=9)
    time.sleep(0.8)  # the second POST waits for the interval (close() would send at once)
    n.close()
    events = [e for _, body in Hook.received for e in body["events"]]
    assert [e["message"] for e in events] == [f"spike {i}" for i in range(5)] + ["late"]
    assert all(body["run"] == "run-1" for _, body in Hook.received)
    times = [t for t, _ in Hook.received]
    assert len(times) == 2 and all(b - a >= 0.45 for a, b in zip(times, times[1:]))
    assert events[0]["data"] == {"z": 6.0, "action": "skipped"} and n.failures == []


def test_a_dead_webhook_is_logged_and_never_fatal(capfd):
    n = WebhookNotifier("http://127.0.0.1:9/nothing-listens", "run-2", min_interval=0.0, timeout=1.0)
    n.send("spike", "lost", step=1)
    n.close()
    assert len(n.failures) == 1 and "1 event(s) dropped" in n.failures[0]
    assert "webhook POST" in capfd.readouterr().err


def test_training_posts_its_events_to_the_webhook(workspace, hook_url):
    cfg = tiny_lm(analytics={"spike_action": "skip", "webhook": hook_url, "webhook_min_interval": 0.0},
                  trainer={"steps": 80, "checkpoint_every": 0, "eval_every": 0, "preview_every": 0})
    task = make_task(cfg)
    original = task.training_step

    def step(model, batch):
        loss, extra = original(model, batch)
        if len(task.loss_buffer) and trainer.step + 1 == SPIKE_AT:
            task.loss_buffer[-1] = task.loss_buffer[-1] * 5
        return loss, extra

    task.training_step = step
    trainer = Trainer(task, workspace.create_run("language_model", cfg))
    trainer.fit()
    events = [e for _, body in Hook.received for e in body["events"]]
    assert any(e["kind"] == "spike" and e["step"] == SPIKE_AT and e["data"]["action"] == "skipped" for e in events)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "http://127.0.0.1/a\r\nX-Injected: 1",
                                 "http://127.0.0.1/a b", "http:///no-host", "javascript:alert(1)"])
def test_webhook_urls_that_are_not_plain_http_are_refused_also_when_called_directly(url, tmp_path):
    from genesis_core.lm.analytics import AnalyticsConfig
    from genesis_core.store.webhook import WebhookError

    with pytest.raises(WebhookError):
        WebhookNotifier(url, "run")
    with pytest.raises(ValueError):
        AnalyticsConfig(webhook=url)
