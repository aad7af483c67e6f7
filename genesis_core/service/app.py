"""The HTTP API: FastAPI over the job queue and the workspace, with no logic of its own. A synthesis started
here is the same job, run, report and release as one started from the page or the CLI.

Every path but /openapi.json and /docs needs `Authorization: Bearer <token>` (the token is the workspace's
`api_token`), unknown paths included. Every error is `{"error": "one sentence"}`: 400 a bad request, 401 no or
a wrong token, 404 unknown, 409 not in a state for it, 411 a body without a length, 413 too large, 422
malformed, 429 too many jobs or uploads at once, 503 the token file is missing or unsafe (the server's log
says which). Responses name ids (tables, syntheses, jobs, releases), never paths on the server, and repeat at
most 40 characters of a client's input. Lists are paginated (`?limit=&offset=`, the answer's `next_offset` is
null on the last page); a POST to /v1/syntheses with an `Idempotency-Key` header is answered once: a retry
gets the first answer, from any server on the workspace, unless that job failed or was cancelled.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from genesis_core import __version__
from genesis_core.errors import WorkbenchError, one_sentence
from genesis_core.service.auth import TokenChecker, TokenError, ensure_token
from genesis_core.service.common import ApiError, Limits, Service, scrub, status_of
from genesis_core.service.ledger import Ledger
from genesis_core.service.routers import drift, jobs, releases, syntheses, tables
from genesis_core.store.workspace import Workspace

TICK_S = 2.0  # the queue is looked at this often (dead workers noticed, free slots filled)
OPEN_PATHS = ("/docs", "/docs/oauth2-redirect", "/openapi.json")
log = logging.getLogger("genesis.service")


def create_app(workspace: Workspace | None = None, limits: Limits = Limits()) -> FastAPI:
    ws = workspace or Workspace()
    ensure_token(ws)  # refuses to start (TokenError, one sentence) on a token file open to others
    svc = Service(ws, limits, TokenChecker(ws), Ledger(ws.root / "service.db"))
    stop = threading.Event()

    def ticker() -> None:
        from genesis_core.jobs import scheduler

        while not stop.wait(TICK_S):
            try:
                scheduler.tick(ws)
            except Exception:  # a busy database: the next tick tries again
                continue

    @asynccontextmanager
    async def lifespan(app):
        thread = threading.Thread(target=ticker, name="genesis-queue-ticker", daemon=True)
        thread.start()
        yield
        stop.set()

    bearer = HTTPBearer(auto_error=False, description="the workspace's api_token")  # the scheme, for /docs
    app = FastAPI(title="Genesis Workbench", version=__version__, lifespan=lifespan, description=__doc__,
                  dependencies=[Depends(bearer)], redoc_url=None, redirect_slashes=False)
    app.state.service = svc
    for module in (tables, syntheses, jobs, releases, drift):
        app.include_router(module.router)

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        text = scrub(message, ws).strip()
        return JSONResponse({"error": text if text.endswith((".", "?", "!")) else text + "."}, status, headers=headers)

    @app.exception_handler(ApiError)
    async def _api_error(request, exc: ApiError):
        return error(exc.status, exc.message, exc.headers)

    @app.exception_handler(WorkbenchError)
    async def _workbench_error(request, exc: WorkbenchError):
        return error(status_of(exc), one_sentence(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        return error(422, f"{where or 'the request'}: {first.get('msg', 'is malformed')}.")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc: StarletteHTTPException):
        text = exc.detail if isinstance(exc.detail, str) else "request refused"
        return error(exc.status_code, text if text.endswith(".") else text + ".")

    @app.exception_handler(ValueError)
    async def _value_error(request, exc: ValueError):  # what the labs raise for a bad value: the request's fault
        return error(400, one_sentence(exc))

    @app.exception_handler(Exception)
    async def _crash(request, exc: Exception):  # a bug: said in one sentence, the traceback stays in the log
        log.exception("unhandled error on %s", request.url.path)
        return error(500, f"internal error ({type(exc).__name__}); the server's log has the details.")

    token_trouble: dict[str, str] = {}
    from genesis_core.service.metrics import ServiceMetrics, route_of

    metrics = ServiceMetrics(ws)


    @app.middleware("http")
    async def _gate(request: Request, call_next):
        """The token first (every path but the docs, unknown ones too), then the size of the body."""
        path = request.url.path
        if path not in OPEN_PATHS:
            header = request.headers.get("authorization", "")
            presented = header[7:].strip() if header[:7].lower() == "bearer " else ""
            try:
                ok = svc.checker.check(presented)
                token_trouble.clear()
            except TokenError as exc:
                if token_trouble.get("said") != str(exc):  # one sentence in the log per new trouble
                    log.error("refusing every request: %s", exc)
                    token_trouble["said"] = str(exc)
                return error(503, "the service cannot check tokens now (its token file is missing or unsafe); "
                                  "the operator's log says why.", {"Retry-After": "30"})
            if not ok:
                return error(401, "a valid bearer token is needed (Authorization: Bearer <the workspace's "
                                  "api_token>)." if not presented else
                             "the bearer token is not this workspace's api_token.", {"WWW-Authenticate": "Bearer"})
        size = request.headers.get("content-length")
        limit = limits.max_upload_bytes if path == "/v1/tables" else limits.max_json_bytes
        if size is None and path != "/v1/tables" and "chunked" in request.headers.get("transfer-encoding", ""):
            return error(411, "send a Content-Length with the request body.")  # only a table may stream in
        if size and not re.fullmatch(r"\d{1,15}", size):
            return error(400, "the Content-Length header is not a number.")
        if size and int(size) > limit:
            return error(413, f"the body is {int(size) / 2**20:.1f} MiB; the limit here is {limit / 2**20:.1f} MiB.")
        return await call_next(request)

    @app.middleware("http")
    async def _count(request: Request, call_next):  # registered last, so outermost: every answer is counted, refusals too
        started = time.perf_counter()
        response = await call_next(request)
        metrics.observe(request.method, route_of(request), response.status_code, started)
        return response

    @app.get("/metrics", summary="Prometheus metrics: requests by route and status, latency, jobs by task and "
                                 "status", response_class=Response)
    def prometheus() -> Response:
        return Response(metrics.text(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/v1/health", summary="the service's version and state")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    return app
