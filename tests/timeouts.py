"""One factor for every wait in the tests: GENESIS_TEST_TIMEOUT_SCALE (default 3, generous: a wait ends as soon as
its condition holds, so a larger bound costs nothing on a quiet machine and saves a busy one)."""

from __future__ import annotations

import os

SCALE = float(os.environ.get("GENESIS_TEST_TIMEOUT_SCALE", "3"))


def scaled(seconds: float) -> float:
    """`seconds` (or milliseconds, for Playwright) times the factor."""
    return seconds * SCALE


def wait_until(predicate, timeout: float | None = None, poll: float = 0.1):
    """The predicate's first truthy value, polled every `poll` s; TimeoutError after `timeout` (default 90 s, scaled)."""
    import time

    deadline = time.monotonic() + (scaled(90) if timeout is None else timeout)
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError("condition not reached")
