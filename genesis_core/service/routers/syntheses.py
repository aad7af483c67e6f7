"""Syntheses: start one (idempotent with an `Idempotency-Key`), list them, read one's rows and report, and
stream new rows from its fitted generator."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterator

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from genesis_core.errors import one_sentence
from genesis_core.service.common import ApiError, Service, clip, page, public, scrub, service
from genesis_core.service.requests import SEED_MAX, SynthesisRequest

router = APIRouter(prefix="/v1/syntheses", tags=["syntheses"])
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


def _columns_of(svc: Service, table: str) -> list[str]:
    if table.startswith("demo:"):
        from genesis_core.tabular.data.demos import load_demo

        return [str(c) for c in load_demo(table[len("demo:"):]).columns]
    from genesis_core.tabular.data.uploads import get_table

    return [c["column"] for c in get_table(svc.ws, table)["schema"]]


def _check_columns(svc: Service, body: SynthesisRequest) -> None:
    """Fields that name columns name columns of this table (400 before a job starts, not a failed job later)."""
    named = body.named_columns()
    if not named:
        return
    columns = set(_columns_of(svc, body.table))
    for key, names in named.items():
        missing = [n for n in names if n not in columns]
        if missing:
            raise ApiError(400, f"{key}: {clip(missing[0])!r} is not a column of table {clip(body.table)}.")


@router.post("", status_code=202, summary="start a synthesis job")
def synthesize(body: SynthesisRequest, svc: Service = Depends(service),
               idempotency_key: str | None = Header(None, max_length=200)):
    from genesis_core.jobs import api
    from genesis_core.jobs.store import JobStore
    from genesis_core.tabular.data.uploads import table_source

    if body.rows > svc.limits.max_rows:
        raise ApiError(413, f"{clip(body.rows)} rows asked for; one request may ask for at most "
                            f"{svc.limits.max_rows}.")
    source = table_source(svc.ws, body.table)
    _check_columns(svc, body)
    digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    previous = None
    with svc.ledger.exclusive() as tx:  # one submission at a time across every server on this workspace
        if idempotency_key:
            seen = tx.answer_for(idempotency_key)
            if seen:
                if seen.body_sha256 != digest:
                    raise ApiError(409, "this Idempotency-Key was used for a different request; use a new key.")
                status = api.get(seen.job, svc.ws).status
                if status not in ("failed", "cancelled"):
                    return {"id": seen.synthesis, "job": seen.job, "replayed": True, "status": status}
                previous = seen.job  # a failed or cancelled job is not an answer to keep: the key starts anew
        store = JobStore(svc.ws.jobs_db)
        try:
            active = {j.id for j in store.list(("queued", "running"))}
        finally:
            store.close()
        mine = sum(j in active for j in tx.jobs())
        if mine >= svc.limits.max_active_jobs:
            raise ApiError(429, f"the API has {mine} syntheses queued or running, the most it may have; "
                                "wait for one to end.", {"Retry-After": "10"})
        config = {"task": "tabular_synthesis", "source": source, "name": body.name,
                  "trainer": {"seed": body.seed}, "auto_budget_s": body.budget_s,
                  **body.model_dump(exclude={"table", "seed", "budget_s", "name"})}
        job = api.submit(config, workspace=svc.ws, tags=["api"])
        tx.record(job.id, job.run_id, idempotency_key, digest)
    answer: dict[str, Any] = {"id": job.run_id, "job": job.id, "replayed": False, "status": job.status}
    if previous:
        answer["previous_job"] = previous
    return answer


def _synthesis(svc: Service, run_id: str, release_by_run: dict[str, dict] | None = None) -> dict[str, Any]:
    from genesis_core.jobs import api
    from genesis_core.tabular.releases.records import release_for_run

    run = svc.ws.get_run(run_id)
    if run.task != "tabular_synthesis":
        raise ApiError(404, f"run {clip(run_id)} is not a synthesis.")
    jobs = api.get_for_run(run.id, svc.ws)
    release = release_by_run.get(run.id) if release_by_run is not None else release_for_run(svc.ws, run.id)
    return {"id": run.id, "name": run.name, "created": run.meta["created"], "job": jobs[0].id if jobs else None,
            "status": jobs[0].status if jobs else "unknown", "source": public(run.config().get("source"), svc.ws),
            "generator": run.config().get("generator"), "release": release["id"] if release else None}


@router.get("", summary="syntheses, newest first")
def syntheses(limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0), svc: Service = Depends(service)):
    from genesis_core.tabular.releases.records import list_releases

    runs = svc.ws.list_runs(task="tabular_synthesis")
    found = page([r.id for r in runs if not r.damaged], limit, offset)
    by_run = {r["lineage"].get("run"): r for r in reversed(list_releases(svc.ws)[0])}  # the newest wins
    found["items"] = [_synthesis(svc, r, by_run) for r in found["items"]]
    return found


@router.get("/{run_id}", summary="a synthesis: its job's status and its release")
def synthesis(run_id: str, svc: Service = Depends(service)):
    return _synthesis(svc, run_id)


def _finished(svc: Service, run_id: str, artifact: str):
    info = _synthesis(svc, run_id)
    if info["status"] != "succeeded":
        raise ApiError(409, f"synthesis {run_id} is {info['status']}; its {artifact} comes once it has succeeded.")
    path = svc.ws.get_run(run_id).artifact_path(artifact)
    if not path.is_file():
        raise ApiError(409, f"synthesis {run_id} has no {artifact} (related tables are a folder; a synthesis "
                            "without a report has no report).")
    return path


@router.get("/{run_id}/rows", summary="the synthetic rows, as CSV (as `genesis generate` writes them)",
            response_class=FileResponse)
def rows(run_id: str, svc: Service = Depends(service)):
    return FileResponse(_finished(svc, run_id, "synthetic.csv"), media_type="text/csv",
                        filename=f"{run_id}-synthetic.csv")


@router.get("/{run_id}/report", summary="the quality and privacy report, as JSON")
def report(run_id: str, svc: Service = Depends(service)):
    saved = json.loads(_finished(svc, run_id, "report.json").read_text(encoding="utf-8"))
    return JSONResponse(public(saved, svc.ws))


@router.get("/{run_id}/stream", summary="new rows from the fitted generator, streamed (NDJSON or server-sent "
                                        "events); a failure after the first rows ends the stream with an error "
                                        "record", response_class=StreamingResponse)
def stream(run_id: str, rows: int = Query(1000, ge=1), seed: int = Query(1, ge=0, le=SEED_MAX),
           format: str = Query("ndjson", pattern="^(ndjson|sse)$"), svc: Service = Depends(service)):
    from genesis_core.tabular.single_table.base import TabularGenerator

    if rows > svc.limits.max_rows:
        raise ApiError(413, f"{clip(rows)} rows asked for; one request may stream at most {svc.limits.max_rows}.")
    report_path = _finished(svc, run_id, "report.json")
    saved = json.loads(report_path.read_text(encoding="utf-8"))
    folder, meta = report_path.parent / "generator", saved.get("meta", {})
    if meta.get("kind") in ("sequences", "tables"):
        raise ApiError(409, f"synthesis {run_id} made {meta['kind']}; streaming is for single tables "
                            "(GET .../rows has its rows).")
    generator = TabularGenerator.load(folder)
    numbers = [c["name"] for c in saved.get("schema", []) if c.get("kind") == "numerical"]

    def batch_records(n: int, batch: int) -> list[str]:
        frame = as_numbers(generator.sample(n, seed=(seed * 1_000_003 + batch) % (SEED_MAX + 1)), numbers)
        text = frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
        return [r for r in text.split("\n") if r]

    def encode(records: list[str]) -> bytes:
        if format == "sse":
            return "".join(f"data: {r}\n\n" for r in records).encode()
        return ("\n".join(records) + "\n").encode()

    first = batch_records(min(STREAM_BATCH, rows), 0)  # drawn before answering: a failure here is a 4xx/5xx

    def lines() -> Iterator[bytes]:  # drawn one batch at a time, as fast as the client reads
        sent, batch, size, records = 0, 0, STREAM_BATCH, first
        try:
            while True:
                yield encode(records)
                sent, batch = sent + len(records), batch + 1
                if sent >= rows:
                    break
                size = min(size * 2, STREAM_BATCH_MAX)  # small first batches: the first rows come at once
                records = batch_records(min(size, rows - sent), batch)
        except Exception as exc:  # after the first rows the status is sent: the stream ends with an error record
            import logging

            logging.getLogger("genesis.service").exception("stream of %s failed after %d rows", run_id, sent)
            error = {"error": scrub(one_sentence(exc), svc.ws), "rows": sent}
            yield (f"event: error\ndata: {json.dumps(error)}\n\n" if format == "sse" else
                   json.dumps(error) + "\n").encode()
            return
        if format == "sse":
            yield f"event: end\ndata: {json.dumps({'rows': sent})}\n\n".encode()

    return StreamingResponse(lines(), media_type="text/event-stream" if format == "sse" else
                             "application/x-ndjson", headers={"X-Rows": str(rows)})
