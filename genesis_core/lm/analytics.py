"""Loss analytics and plateau recovery ("LR stun"), fed with per-step losses off the hot path (the
training step only appends a detached tensor; these run on the CPU at log steps).

LossAnalytics, per step:
  ema        debiased exponential moving average: m_t = b*m_(t-1) + (1-b)*loss, ema = m_t / (1 - b^t)
  slope      least-squares slope of the raw loss over the last `slope_window` steps (loss per step)
  stagnation steps since the EMA last improved on its best by more than `stagnation_threshold`;
             an event when it reaches half the stun patience (a plateau forming)
             (relative: an improvement counts when ema < best * (1 - threshold))
  spike      loss > mean + spike_k * std of the previous `spike_window` losses (an event)

LRStun (plateau recovery), checked after every analysed step:
  when stagnation reaches `patience` and no stun happened in the last `cooldown` steps, the LR
  multiplier drops to `factor` for `duration` steps, then climbs back linearly to 1 over
  `recovery_steps`. The stagnation counter restarts from zero at each stun. Every stun is an event.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class AnalyticsConfig:
    ema_beta: float = 0.98
    slope_window: int = 100
    stagnation_threshold: float = 0.002  # relative improvement of the EMA that resets the counter
    spike_window: int = 100
    spike_k: float = 4.0  # a spike is a loss above mean + k * std of the window

    def __post_init__(self) -> None:
        if not 0 < self.ema_beta < 1:
            raise ValueError("ema_beta must be between 0 and 1")
        if self.slope_window < 2 or self.spike_window < 2:
            raise ValueError("slope_window and spike_window must be at least 2")


@dataclass(frozen=True)
class StunConfig:
    enabled: bool = True
    patience: int = 300  # steps of stagnation before a stun
    factor: float = 0.1  # LR multiplier during the stun
    duration: int = 50  # steps at the reduced LR
    recovery_steps: int = 50  # steps of linear climb back to the full LR
    cooldown: int = 300  # steps after a stun before another may start

    def __post_init__(self) -> None:
        if not 0 < self.factor <= 1:
            raise ValueError("factor must be in (0, 1]")
        if min(self.patience, self.duration) < 1 or min(self.recovery_steps, self.cooldown) < 0:
            raise ValueError("patience and duration must be at least 1, recovery_steps and cooldown at least 0")


class LossAnalytics:
    def __init__(self, config: AnalyticsConfig):
        self.config = config
        self.t = 0
        self.m = 0.0
        self.best = float("inf")
        self.stagnation = 0
        self.window: deque[float] = deque(maxlen=max(config.slope_window, config.spike_window))

    @property
    def ema(self) -> float:
        return self.m / (1 - self.config.ema_beta ** self.t) if self.t else float("nan")

    def slope(self) -> float:
        w = list(self.window)[-self.config.slope_window:]
        if len(w) < 2:
            return 0.0
        x = np.arange(len(w), dtype=np.float64)
        return float(np.polyfit(x, np.asarray(w), 1)[0])

    def update(self, loss: float) -> list[tuple[str, str, dict]]:
        """Feed one step's loss; returns events (kind, message, data)."""
        c, events = self.config, []
        recent = list(self.window)[-c.spike_window:]
        if len(recent) >= min(20, c.spike_window):
            mean, std = float(np.mean(recent)), float(np.std(recent))
            if std > 0 and loss > mean + c.spike_k * std:
                events.append(("spike", f"loss {loss:.4f} above mean {mean:.4f} + {c.spike_k:g}·std {std:.4f}",
                               {"loss": loss, "mean": mean, "std": std}))
        self.window.append(loss)
        self.t += 1
        self.m = c.ema_beta * self.m + (1 - c.ema_beta) * loss
        ema = self.ema
        if ema < self.best * (1 - c.stagnation_threshold):
            self.best, self.stagnation = ema, 0
        else:
            self.stagnation += 1
        return events

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "m": self.m, "best": self.best, "stagnation": self.stagnation,
                "window": list(self.window)}

    def load_state_dict(self, s: dict[str, Any]) -> None:
        self.t, self.m, self.best, self.stagnation = int(s["t"]), float(s["m"]), float(s["best"]), int(s["stagnation"])
        self.window = deque((float(v) for v in s["window"]), maxlen=self.window.maxlen)


class LRStun:
    def __init__(self, config: StunConfig):
        self.config = config
        self.started: int | None = None  # step of the latest stun
        self.count = 0

    def multiplier(self, step: int) -> float:
        c = self.config
        if self.started is None:
            return 1.0
        since = step - self.started
        if since < c.duration:
            return c.factor
        if c.recovery_steps and since < c.duration + c.recovery_steps:
            return c.factor + (1 - c.factor) * (since - c.duration) / c.recovery_steps
        return 1.0

    def check(self, step: int, analytics: LossAnalytics) -> tuple[str, str, dict] | None:
        c = self.config
        if not c.enabled or analytics.stagnation < c.patience:
            return None
        if self.started is not None and step - self.started < max(c.cooldown, c.duration + c.recovery_steps):
            return None
        self.started, self.count = step, self.count + 1
        stagnated = analytics.stagnation
        analytics.stagnation = 0
        return ("stun", f"LR x{c.factor:g} for {c.duration} steps after {stagnated} steps without EMA improvement",
                {"factor": c.factor, "duration": c.duration, "stagnation": stagnated, "ema": analytics.ema})

    def state_dict(self) -> dict[str, Any]:
        return {"started": -1 if self.started is None else self.started, "count": self.count}

    def load_state_dict(self, s: dict[str, Any]) -> None:
        self.started = None if int(s["started"]) < 0 else int(s["started"])
        self.count = int(s["count"])
