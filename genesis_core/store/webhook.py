"""Events POSTed to a webhook: JSON, rate-limited, from a background thread, never fatal.

At most one POST per `min_interval` seconds; events that arrive in between wait and go together in the next one
({"run": ..., "events": [...]}). A failed POST is logged (stderr and `failures`) and its events are dropped, so
a dead endpoint cannot grow memory or stop training. close() sends what is waiting (with a short timeout)."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request
import urllib.parse
from typing import Any

from genesis_core.errors import WorkbenchError


class WebhookError(WorkbenchError, ValueError):
    """A webhook URL that is not a plain http(s) address."""


def check_webhook_url(url: str) -> str:
    """`url` if it is an http:// or https:// URL with a host and no control characters (CR/LF would split the
    request line and inject headers); else WebhookError. urllib would also open file:// and ftp:// URLs."""
    if not isinstance(url, str) or any(ord(ch) < 32 or ord(ch) == 127 or ch.isspace() for ch in url):
        raise WebhookError(f"webhook URL {url!r} has spaces or control characters; give a plain http(s) URL.")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(f"webhook must be an http:// or https:// URL with a host, not {url!r}.")
    return url


class WebhookNotifier:
    def __init__(self, url: str, run: str = "", min_interval: float = 10.0, timeout: float = 5.0,
                 max_waiting: int = 1000):
        url = check_webhook_url(url)
        self.url, self.run, self.min_interval, self.timeout, self.max_waiting = url, run, min_interval, timeout, max_waiting
        self.waiting: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.posts = 0
        self.dropped = 0
        self._last = 0.0
        self._lock = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="webhook", daemon=True)
        self._thread.start()

    def send(self, kind: str, message: str, step: int | None = None, **data: Any) -> None:
        with self._lock:
            if len(self.waiting) >= self.max_waiting:
                self.dropped += 1
                return
            self.waiting.append({"kind": kind, "message": message, "step": step, "time": time.time(),
                                 "data": {k: v for k, v in data.items() if isinstance(v, (int, float, str, bool))}})
            self._lock.notify()

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self.waiting and not self._closed:
                    self._lock.wait()
                if not self.waiting and self._closed:
                    return
                wait = self._last + self.min_interval - time.monotonic()
                if wait > 0 and not self._closed:
                    self._lock.wait(wait)
                    continue
                batch, self.waiting = self.waiting, []
                self._last = time.monotonic()
            self._post(batch)

    def _post(self, events: list[dict[str, Any]]) -> None:
        body = json.dumps({"run": self.run, "events": events}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "User-Agent": "genesis-workbench"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
            self.posts += 1
        except Exception as exc:  # never fatal: say it, drop these events, carry on
            note = f"webhook POST to {self.url} failed ({type(exc).__name__}: {exc}); {len(events)} event(s) dropped"
            self.failures.append(note)
            print(note, file=sys.stderr, flush=True)

    def close(self, timeout: float | None = None) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify()
        self._thread.join(self.timeout + 1 if timeout is None else timeout)
