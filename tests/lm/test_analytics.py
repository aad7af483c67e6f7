import math

import numpy as np

from genesis_core.lm.analytics import AnalyticsConfig, LossAnalytics, LRStun, StunConfig


def test_ema_is_debiased_and_slope_follows_the_trend():
    a = LossAnalytics(AnalyticsConfig(ema_beta=0.9, slope_window=10))
    a.update(5.0)
    assert math.isclose(a.ema, 5.0)  # no pull towards zero at the start
    for v in np.linspace(5, 4, 20):
        a.update(float(v))
    assert a.slope() < 0 and math.isclose(a.slope(), -1 / 19, rel_tol=1e-6)


def test_spikes_are_detected_against_the_window():
    a = LossAnalytics(AnalyticsConfig(spike_window=50, spike_k=4))
    rng = np.random.default_rng(0)
    events = [e for v in 3 + 0.01 * rng.standard_normal(60) for e in a.update(float(v))]
    assert events == []
    (kind, message, data), = a.update(3.5)
    assert kind == "spike" and data["loss"] == 3.5


def test_a_synthetic_plateau_triggers_a_stun_that_recovers_and_respects_cooldown():
    a = LossAnalytics(AnalyticsConfig(ema_beta=0.5, stagnation_threshold=0.01))
    stun = LRStun(StunConfig(patience=20, factor=0.1, duration=5, recovery_steps=5, cooldown=40))
    events = []
    for step in range(1, 101):
        loss = 3.0 - 0.02 * step if step <= 30 else 2.4  # improves, then a plateau from step 31
        a.update(loss)
        e = stun.check(step, a)
        if e:
            events.append((step, e))
    steps = [s for s, _ in events]
    assert steps and 50 <= steps[0] <= 55  # about `patience` steps into the plateau
    assert all(b - a_ >= 40 for a_, b in zip(steps, steps[1:]))  # cooldown between stuns
    s0 = events[-1][0]
    assert stun.multiplier(s0) == 0.1 and stun.multiplier(s0 + 4) == 0.1
    assert 0.1 < stun.multiplier(s0 + 7) < 1.0 and stun.multiplier(s0 + 10) == 1.0
    kind, message, data = events[0][1]
    assert kind == "stun" and data["stagnation"] >= 20


def test_state_round_trips():
    a = LossAnalytics(AnalyticsConfig())
    for v in (3.0, 2.9, 2.95):
        a.update(v)
    b = LossAnalytics(AnalyticsConfig())
    b.load_state_dict(a.state_dict())
    assert b.ema == a.ema and b.stagnation == a.stagnation and list(b.window) == list(a.window)
    s = LRStun(StunConfig())
    s.started, s.count = 12, 1
    t = LRStun(StunConfig())
    t.load_state_dict(s.state_dict())
    assert t.started == 12 and t.count == 1 and LRStun(StunConfig()).state_dict()["started"] == -1
