"""Loss analytics and plateau recovery ("LR stun"), fed with per-step losses off the hot path (the
training step only appends a detached tensor; these run on the CPU at log steps).

LossAnalytics, per step:
  ema        debiased exponential moving average: m_t = b*m_(t-1) + (1-b)*loss, ema = m_t / (1 - b^t)
  slope      least-squares slope of the raw loss over the last `slope_window` steps (loss per step)
  stagnation steps since the EMA last improved on its best by more than `stagnation_threshold`;
             an event when it reaches half the stun patience (a plateau forming)
             (relative: an improvement counts when ema < best * (1 - threshold))
  spike      a rolling robust z-score (SpikeDetector): the loss's rise over the EMA of the losses before it,
             in units of the median absolute deviation of the last `spike_window` such rises; above `spike_k`
             it is a spike (an event). Robust statistics, so the spikes themselves do not widen the band.

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
    spike_window: int = 200
    spike_k: float = 5.0  # a spike is a loss whose robust z-score (rise over the EMA / scaled MAD) is above k
    # what a spike does to training: "log" (an event only), "skip" (the spiking batch's update is not applied) or
    # "rollback" (weights and optimizer state go back to the latest checkpoint; the data carries on). skip and
    # rollback check every step's loss, one device sync per step.
    spike_action: str = "log"
    webhook: str = ""  # events are also POSTed here as JSON (rate-limited; failures are logged, never fatal)
    webhook_min_interval: float = 10.0  # seconds between two POSTs; events in between are batched into the next

    def __post_init__(self) -> None:
        if not 0 < self.ema_beta < 1:
            raise ValueError("ema_beta must be between 0 and 1")
        if self.spike_action not in ("log", "skip", "rollback"):
            raise ValueError(f"spike_action must be log, skip or rollback, not {self.spike_action!r}")
        if self.webhook:
            from genesis_core.store.webhook import check_webhook_url

            check_webhook_url(self.webhook)
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


class SpikeDetector:
    """Rolling robust z-score of each loss against the trend: r = loss - EMA of the earlier losses; z = r / (1.4826
    * MAD of the last `window` values of r). A spike does not enter the trend or the band it is judged by, unless
    `sustained` spikes come in a row: then the loss has moved to a new level, and the trend follows it."""

    def __init__(self, window: int = 200, k: float = 5.0, beta: float = 0.98, min_history: int = 50,
                 sustained: int = 20):
        self.window, self.k, self.beta, self.min_history, self.sustained = window, k, beta, min_history, sustained
        self.t, self.m = 0, 0.0
        self.run: list[float] = []
        self.residuals: deque[float] = deque(maxlen=window)

    @property
    def trend(self) -> float:
        return self.m / (1 - self.beta ** self.t) if self.t else float("nan")

    def update(self, loss: float) -> tuple[bool, float]:
        """(is a spike, its z-score) for the next loss."""
        z = 0.0
        if len(self.residuals) >= self.min_history:
            r = np.asarray(self.residuals)
            scale = 1.4826 * float(np.median(np.abs(r - np.median(r)))) or 1e-12
            z = (loss - self.trend - float(np.median(r))) / scale
        spike = z > self.k
        if spike:
            self.run.append(loss)
            if len(self.run) <= self.sustained:
                return True, z
            # a new level: the trend restarts from the losses of the run (the noise band is kept)
            run, self.run, self.t, self.m = self.run, [], 0, 0.0
            for v in run:
                self._admit(v)
            return False, z
        self.run = []
        self._admit(loss)
        return False, z

    def _admit(self, loss: float) -> None:
        if self.t:
            self.residuals.append(loss - self.trend)
        self.t += 1
        self.m = self.beta * self.m + (1 - self.beta) * loss

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "m": self.m, "run": list(self.run), "residuals": list(self.residuals)}

    def load_state_dict(self, s: dict[str, Any]) -> None:
        self.t, self.m, self.run = int(s["t"]), float(s["m"]), [float(v) for v in s.get("run", [])]
        self.residuals = deque((float(v) for v in s["residuals"]), maxlen=self.window)


class LossAnalytics:
    def __init__(self, config: AnalyticsConfig):
        self.config = config
        self.t = 0
        self.m = 0.0
        self.best = float("inf")
        self.stagnation = 0
        self.window: deque[float] = deque(maxlen=config.slope_window)
        self.spikes = SpikeDetector(config.spike_window, config.spike_k, config.ema_beta)

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
        trend = self.spikes.trend
        spike, z = self.spikes.update(loss)
        if spike:
            events.append(("spike", f"loss {loss:.4f} against a trend of {trend:.4f}: robust z-score {z:.1f} "
                                    f"(threshold {c.spike_k:g})", {"loss": loss, "trend": trend, "z": z}))
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
                "window": list(self.window), "spikes": self.spikes.state_dict()}

    def load_state_dict(self, s: dict[str, Any]) -> None:
        self.t, self.m, self.best, self.stagnation = int(s["t"]), float(s["m"]), float(s["best"]), int(s["stagnation"])
        self.window = deque((float(v) for v in s["window"]), maxlen=self.window.maxlen)
        if "spikes" in s:
            self.spikes.load_state_dict(s["spikes"])


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
