"""The HTTP API: FastAPI over the job queue and the workspace, with no logic of its own. A synthesis started
here is the same job, run, report and release as one started from the page or the CLI.

Every endpoint but /openapi.json and /docs needs `Authorization: Bearer <token>` (the token is the workspace's
`api_token`). Every error is `{"error": "one sentence"}` with a 4xx status: 400 a bad request, 401 no or a
wrong token, 404 unknown, 409 not in a state for it, 413 too large, 422 malformed, 429 too many jobs in flight.
Lists are paginated (`?limit=&offset=`, the answer's `next_offset` is null on the last page); a POST to
/v1/syntheses with an `Idempotency-Key` header is answered once: a retry gets the first answer.
"""

from __future__ import annotations

import hashlib
import json
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from genesis_core import __version__
from genesis_core.errors import WorkbenchError, one_sentence
from genesis_core.service.auth import TokenChecker, TokenError, ensure_token, fingerprint
from genesis_core.service.ledger import Ledger
from genesis_core.store.workspace import Workspace
from genesis_core.tabular.ingest import MAX_BYTES

TICK_S = 2.0  # the queue is looked at this often (dead workers noticed, free slots filled)
STREAM_BATCH, STREAM_BATCH_MAX = 200, 5000


def as_numbers(frame, columns: list[str]):
    """Numerical columns as JSON numbers (the CSV writes them as the input did, e.g. "35.50")."""
    import pandas as pd

    for c in columns:
        if c in frame.columns:
            parsed = pd.to_numeric(frame[c], errors="coerce")
            if parsed.isna().sum() == frame[c].isna().sum():
                frame[c] = parsed
    return frame


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = MAX_BYTES  # a table's body
    max_json_bytes: int = 1 << 20  # any other request body
    max_rows: int = 1_000_000  # rows asked for in one request (a synthesis, a stream)
    max_active_jobs: int = 32  # queued + running syntheses per token


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


_STATUS = (("NotFound", 404), ("JobStateError", 409), ("UnsafePath", 400), ("Damaged", 409), ("TokenError", 500))


def _status_of(exc: Exception) -> int:
    name = type(exc).__name__
    return next((code for key, code in _STATUS if key in name), 400)


class SynthesisRequest(BaseModel):
    """A synthesis: the table (an id from POST /v1/tables, or demo:NAME) and the options of `genesis generate`."""

    model_config = ConfigDict(extra="forbid")
    table: str = Field(description="a table id from POST /v1/tables, or demo:NAME")
    generator: str = Field("auto", description="auto, or gaussian_copula, ctgan, tvae, dp_tvae, mst, ...")
    rows: int = Field(0, ge=0, description="rows to write (0: as many as the input)")
    epsilon: float = Field(0.0, ge=0, description="differential privacy budget (0: not private)")
    holdout_fraction: float = Field(0.0, ge=0, lt=0.9, description="rows kept aside for the privacy figures")
    epochs: int = Field(300, ge=1, description="epochs of the neural generators")
    target: str = ""
    sensitive: list[str] = []
    quasi_identifiers: list[str] = []
    column_types: list[str] = Field([], description='overrides, "column=kind"')
    personal_data: str = "replace"
    text_columns: str = Field("model", description="free-text columns: model (a byte language model per column, "
                                                   "conditioned on the row; not DP) or drop")
    text_budget_s: float = Field(0.0, ge=0, description="training seconds per text column (0: sized to the text)")
    text_steps: int = Field(0, ge=0, description="training steps per text column (0: by the budget)")
    text_copy_chars: int = Field(40, ge=8, description="a text repeating this many characters of a training "
                                                       "text is drawn again")
    text_size: str = Field("small", description="the text model: tiny, small or medium")
    candidates: list[str] = []
    budget_s: float = Field(0.0, ge=0, description="auto: seconds for the whole choice (0: sized to the table)")
    tune: int = Field(0, ge=0)
    report: bool = True
    seed: int = 0
    sequence_key: str = ""
    sequence_index: str = ""
    name: str = ""


class DriftRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(description="a table id, demo:NAME, or release:ID (its synthetic rows)")
    current: str
    alpha: float = Field(0.05, gt=0, lt=1)
    min_effect: float = Field(0.0, ge=0)
    column_types: list[str] = []
    seed: int = 0


def _job_json(job) -> dict[str, Any]:
    return {"id": job.id, "task": job.task, "status": job.status, "phase": job.phase, "step": job.step,
            "total": job.total, "progress": job.progress, "eta_s": job.eta_s, "error": job.error,
            "run": job.run_id, "created": job.created, "started": job.started, "finished": job.finished,
            "cancel_requested": job.cancel_requested}


def _page(items: list, limit: int, offset: int) -> dict[str, Any]:
    chunk = items[offset:offset + limit]
    nxt = offset + limit if offset + limit < len(items) else None
    return {"items": chunk, "total": len(items), "offset": offset, "next_offset": nxt}


def create_app(workspace: Workspace | None = None, limits: Limits = Limits()) -> FastAPI:
    ws = workspace or Workspace()
    ensure_token(ws)
    checker = TokenChecker(ws)
    ledger = Ledger(ws.root / "service.db")
    submit_lock = threading.Lock()
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

    bearer = HTTPBearer(auto_error=False, description="the workspace's api_token")

    def token(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str:
        presented = creds.credentials if creds else ""
        try:
            ok = checker.check(presented)
        except TokenError as exc:
            raise ApiError(500, str(exc)) from None
        if not ok:
            raise ApiError(401, "a valid bearer token is needed (Authorization: Bearer <the workspace's api_token>)."
                           if not presented else "the bearer token is not this workspace's api_token.",
                           {"WWW-Authenticate": "Bearer"})
        return fingerprint(presented)

    app = FastAPI(title="Genesis Workbench", version=__version__, lifespan=lifespan, description=__doc__,
                  dependencies=[Depends(token)])

    @app.exception_handler(ApiError)
    async def _api_error(request, exc: ApiError):
        return JSONResponse({"error": exc.message}, exc.status, headers=exc.headers)

    @app.exception_handler(WorkbenchError)
    async def _workbench_error(request, exc: WorkbenchError):
        return JSONResponse({"error": one_sentence(exc)}, _status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        return JSONResponse({"error": f"{where or 'the request'}: {first.get('msg', 'is malformed')}."}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc: StarletteHTTPException):
        text = exc.detail if isinstance(exc.detail, str) else "request refused"
        return JSONResponse({"error": text if text.endswith(".") else text + "."}, exc.status_code)

    @app.middleware("http")
    async def _bounded(request: Request, call_next):
        size = request.headers.get("content-length")
        limit = limits.max_upload_bytes if request.url.path == "/v1/tables" else limits.max_json_bytes
        if size is None and request.url.path != "/v1/tables" and "chunked" in request.headers.get(
                "transfer-encoding", ""):  # a body of unknown size: only a table may stream in (and is counted)
            return JSONResponse({"error": "send a Content-Length with the request body."}, 411)
        if size and size.isdigit() and int(size) > limit:
            return JSONResponse({"error": f"the body is {int(size) / 2**20:.1f} MiB; the limit here is "
                                          f"{limit / 2**20:.1f} MiB."}, 413)
        return await call_next(request)

    @app.exception_handler(ValueError)
    async def _value_error(request, exc: ValueError):  # what the labs raise for a bad value: the request's fault
        return JSONResponse({"error": one_sentence(exc)}, 400)

    @app.exception_handler(Exception)
    async def _crash(request, exc: Exception):  # a bug: said in one sentence, the traceback stays in the log
        import logging

        logging.getLogger("genesis.service").exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); the server's log has the details."}, 500)

    @app.get("/v1/health", summary="the service's version and workspace")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "workspace": str(ws.root)}

    # tables -------------------------------------------------------------------------------------

    @app.post("/v1/tables", status_code=201, summary="upload a CSV or Parquet table (the body is the file)")
    async def upload_table(request: Request, name: str = Query("", description="the file's name")):
        from starlette.concurrency import run_in_threadpool

        from genesis_core.tabular.uploads import put_table

        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_upload_bytes:
                raise ApiError(413, f"the table is over the limit of {limits.max_upload_bytes / 2**20:.1f} MiB.")
            chunks.append(chunk)
        if "parquet" in request.headers.get("content-type", "") and not name.endswith(".parquet"):
            name = (name or "upload") + ".parquet"
        return await run_in_threadpool(put_table, ws, b"".join(chunks), name, limits.max_upload_bytes)

    @app.get("/v1/tables", summary="stored tables, newest first")
    def tables(limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)):
        from genesis_core.tabular.uploads import list_tables

        return _page(list_tables(ws), limit, offset)

    @app.get("/v1/tables/{table_id}", summary="a stored table's record and schema")
    def table(table_id: str):
        from genesis_core.tabular.uploads import get_table

        return get_table(ws, table_id)

    # syntheses ----------------------------------------------------------------------------------

    @app.post("/v1/syntheses", status_code=202, summary="start a synthesis job")
    def synthesize(body: SynthesisRequest, who: str = Depends(token),
                   idempotency_key: str | None = Header(None, max_length=200)):
        from genesis_core.jobs import api
        from genesis_core.jobs.store import JobStore
        from genesis_core.tabular.uploads import table_source

        if body.rows > limits.max_rows:
            raise ApiError(413, f"{body.rows} rows asked for; one request may ask for at most {limits.max_rows}.")
        digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        with submit_lock:
            if idempotency_key:
                seen = ledger.answer_for(who, idempotency_key)
                if seen:
                    if seen[2] != digest:
                        raise ApiError(409, "this Idempotency-Key was used for a different request; use a new key.")
                    return {"id": seen[1], "job": seen[0], "replayed": True}
            store = JobStore(ws.jobs_db)
            try:
                active = {j.id for j in store.list(("queued", "running"))}
            finally:
                store.close()
            mine = sum(j in active for j in ledger.jobs_of(who))
            if mine >= limits.max_active_jobs:
                raise ApiError(429, f"this token has {mine} syntheses queued or running, the most it may have; "
                                    "wait for one to end.", {"Retry-After": "10"})
            config = {"task": "tabular_synthesis", "source": table_source(ws, body.table), "name": body.name,
                      "trainer": {"seed": body.seed}, "auto_budget_s": body.budget_s,
                      **body.model_dump(exclude={"table", "seed", "budget_s", "name"})}
            job = api.submit(config, workspace=ws, tags=["api"])
            ledger.record(who, job.id, job.run_id, idempotency_key, digest)
        return {"id": job.run_id, "job": job.id, "replayed": False}

    def _synthesis(run_id: str, release_by_run: dict[str, dict] | None = None) -> dict[str, Any]:
        from genesis_core.jobs import api
        from genesis_core.store.releases import release_for_run

        run = ws.get_run(run_id)
        if run.task != "tabular_synthesis":
            raise ApiError(404, f"run {run_id} is not a synthesis.")
        jobs = api.get_for_run(run.id, ws)
        release = release_by_run.get(run.id) if release_by_run is not None else release_for_run(ws, run.id)
        return {"id": run.id, "name": run.name, "created": run.meta["created"], "job": jobs[0].id if jobs else None,
                "status": jobs[0].status if jobs else "unknown", "source": run.config().get("source"),
                "generator": run.config().get("generator"), "release": release["id"] if release else None}

    @app.get("/v1/syntheses", summary="syntheses, newest first")
    def syntheses(limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)):
        runs = ws.list_runs(task="tabular_synthesis")
        page = _page([r.id for r in runs if not r.damaged], limit, offset)
        from genesis_core.store.releases import list_releases

        by_run = {r["lineage"].get("run"): r for r in reversed(list_releases(ws)[0])}  # the newest wins
        page["items"] = [_synthesis(r, by_run) for r in page["items"]]
        return page

    @app.get("/v1/syntheses/{run_id}", summary="a synthesis: its job's status and its release")
    def synthesis(run_id: str):
        return _synthesis(run_id)

    def _finished(run_id: str, artifact: str):
        info = _synthesis(run_id)
        if info["status"] != "succeeded":
            raise ApiError(409, f"synthesis {run_id} is {info['status']}; its {artifact} comes once it has succeeded.")
        path = ws.get_run(run_id).artifact_path(artifact)
        if not path.is_file():
            raise ApiError(409, f"synthesis {run_id} has no {artifact} (related tables are a folder; a synthesis "
                                "without a report has no report).")
        return path

    @app.get("/v1/syntheses/{run_id}/rows", summary="the synthetic rows, as CSV (as `genesis generate` writes them)",
             response_class=FileResponse)
    def rows(run_id: str):
        return FileResponse(_finished(run_id, "synthetic.csv"), media_type="text/csv",
                            filename=f"{run_id}-synthetic.csv")

    @app.get("/v1/syntheses/{run_id}/report", summary="the quality and privacy report, as JSON")
    def report(run_id: str):
        return JSONResponse(json.loads(_finished(run_id, "report.json").read_text(encoding="utf-8")))

    @app.get("/v1/syntheses/{run_id}/stream", summary="new rows from the fitted generator, streamed",
             response_class=StreamingResponse)
    def stream(run_id: str, rows: int = Query(1000, ge=1), seed: int = Query(1),
               format: str = Query("ndjson", pattern="^(ndjson|sse)$")):
        from genesis_core.tabular.generators import TabularGenerator

        if rows > limits.max_rows:
            raise ApiError(413, f"{rows} rows asked for; one request may stream at most {limits.max_rows}.")
        report_path = _finished(run_id, "report.json")
        saved = json.loads(report_path.read_text(encoding="utf-8"))
        folder, meta = report_path.parent / "generator", saved.get("meta", {})
        if meta.get("kind") in ("sequences", "tables"):
            raise ApiError(409, f"synthesis {run_id} made {meta['kind']}; streaming is for single tables "
                                "(GET .../rows has its rows).")
        generator = TabularGenerator.load(folder)
        numbers = [c["name"] for c in saved.get("schema", []) if c.get("kind") == "numerical"]

        def lines() -> Iterator[bytes]:  # drawn one batch at a time, as fast as the client reads
            sent, batch, size = 0, 0, STREAM_BATCH
            while sent < rows:
                n = min(size, rows - sent)
                frame = as_numbers(generator.sample(n, seed=seed * 1_000_003 + batch), numbers)
                size = min(size * 2, STREAM_BATCH_MAX)  # small first batches: the first rows come at once
                text = frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
                records = [r for r in text.split("\n") if r]
                if format == "sse":
                    yield "".join(f"data: {r}\n\n" for r in records).encode()
                else:
                    yield ("\n".join(records) + "\n").encode()
                sent, batch = sent + len(records), batch + 1
            if format == "sse":
                yield f"event: end\ndata: {json.dumps({'rows': sent})}\n\n".encode()

        return StreamingResponse(lines(), media_type="text/event-stream" if format == "sse" else
                                 "application/x-ndjson", headers={"X-Rows": str(rows)})

    # jobs ---------------------------------------------------------------------------------------

    @app.get("/v1/jobs", summary="jobs, newest first")
    def jobs(status: str | None = Query(None, pattern="^(queued|running|succeeded|failed|cancelled)$"),
             limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)):
        from genesis_core.jobs import api

        page = _page(api.list_jobs(ws, status, refresh=False), limit, offset)
        page["items"] = [_job_json(j) for j in page["items"]]
        return page

    @app.get("/v1/jobs/{job_id}", summary="a job's status, phase, progress and ETA")
    def job(job_id: str):
        from genesis_core.jobs import api

        return _job_json(api.get(job_id, ws))

    @app.delete("/v1/jobs/{job_id}", summary="cancel a job (it stops within seconds)")
    def cancel(job_id: str):
        from genesis_core.jobs import api

        return _job_json(api.cancel(job_id, ws))

    # releases and drift -------------------------------------------------------------------------

    @app.get("/v1/releases", summary="releases, newest first (filter by the input's sha256)")
    def releases(input_sha256: str = Query("", alias="input"), limit: int = Query(50, ge=1, le=500),
                 offset: int = Query(0, ge=0)):
        from genesis_core.store.releases import list_releases

        found, damaged = list_releases(ws, input_sha256)
        return {**_page(found, limit, offset), "damaged": damaged}

    @app.get("/v1/releases/{release_id}", summary="a release's record and lineage")
    def release(release_id: str):
        from genesis_core.store.releases import get_release

        return get_release(ws, release_id)

    @app.get("/v1/releases/{a}/diff/{b}", summary="what changed between two releases")
    def diff(a: str, b: str):
        from genesis_core.store.releases import diff_releases, get_release

        return diff_releases(get_release(ws, a), get_release(ws, b))

    @app.get("/v1/releases/{release_id}/evidence", summary="compliance evidence of a release (not a certificate)")
    def evidence(release_id: str, format: str = Query("json", pattern="^(json|html)$")):
        from genesis_core.store.releases import get_release
        from genesis_core.tabular.evidence import evidence as build, to_html

        report = build(get_release(ws, release_id))
        return HTMLResponse(to_html(report)) if format == "html" else report

    @app.post("/v1/drift", summary="drift of one table from another (tables, demos or releases)")
    def drift(body: DriftRequest):
        from genesis_core.tabular.drift import drift_report
        from genesis_core.tabular.lineage import read_table_ref
        from genesis_core.tabular.report import to_json

        report = drift_report(read_table_ref(body.reference, ws), read_table_ref(body.current, ws), body.alpha, body.min_effect,
                              body.column_types, seed=body.seed)
        return JSONResponse(json.loads(to_json(report)))

    return app
