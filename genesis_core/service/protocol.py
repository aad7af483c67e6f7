"""Connections with bounds: uvicorn's h11 protocol, with a deadline for a request's headers and an idle limit for
its body, so that a client that connects and never finishes (a slow-loris) is closed, token or not.

uvicorn bounds the wait between two requests on one connection (`timeout_keep_alive`) but not the wait for the
first request's headers nor a body that stalls; `bounded_protocol` adds both, checked a few times a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(frozen=True)
class Bounds:
    header_timeout_s: float = 10.0  # from a connection's start (or its last response) to a whole request head
    body_timeout_s: float = 30.0  # the longest silence while a request body is coming in
    keep_alive_s: float = 5.0  # an idle connection between requests (uvicorn's timeout_keep_alive)
    max_header_bytes: int = 16 * 1024  # a request head larger than this is refused (h11)
    max_connections: int = 256  # connections and tasks at once; beyond it uvicorn answers 503

    def uvicorn_options(self) -> dict:
        return {"http": bounded_protocol(self), "timeout_keep_alive": self.keep_alive_s,
                "h11_max_incomplete_event_size": self.max_header_bytes, "limit_concurrency": self.max_connections}


def bounded_protocol(bounds: Bounds) -> type[H11Protocol]:
    tick = max(0.05, min(bounds.header_timeout_s, bounds.body_timeout_s) / 5)

    class BoundedH11Protocol(H11Protocol):
        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            now = self.loop.time()
            self._waiting_since, self._last_data = now, now
            self._watchdog = self.loop.call_later(tick, self._watch)

        def data_received(self, data: bytes) -> None:
            self._last_data = self.loop.time()
            super().data_received(data)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._waiting_since = self.loop.time()

        def connection_lost(self, exc) -> None:
            self._watchdog.cancel()
            super().connection_lost(exc)

        def _watch(self) -> None:
            if self.transport.is_closing():
                return
            now, state = self.loop.time(), self.conn.their_state
            if self.flow.read_paused:  # the app is not reading: the client's silence is ours
                self._last_data = now
            if state is h11.IDLE and now - self._waiting_since > bounds.header_timeout_s:
                self.transport.close()  # no whole request head in time
                return
            if state is h11.SEND_BODY and now - self._last_data > bounds.body_timeout_s:
                self.transport.close()  # the body stalled: the app sees a disconnect and drops what it had
                return
            self._watchdog = self.loop.call_later(tick, self._watch)

    return BoundedH11Protocol
