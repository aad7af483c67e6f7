"""Jobs: list, read, cancel, and start again (retry: the same config from scratch as a new job; resume: a
failed or cancelled job continues its run from its last checkpoint), as `genesis jobs` does."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from genesis_core.service.common import Service, job_json, page, service

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("", summary="jobs, newest first")
def jobs(status: str | None = Query(None, pattern="^(queued|running|succeeded|failed|cancelled)$"),
         limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0), svc: Service = Depends(service)):
    from genesis_core.jobs import api

    found = page(api.list_jobs(svc.ws, status, refresh=False), limit, offset)
    found["items"] = [job_json(j, svc.ws) for j in found["items"]]
    return found


@router.get("/{job_id}", summary="a job's status, phase, progress and ETA")
def job(job_id: str, svc: Service = Depends(service)):
    from genesis_core.jobs import api

    return job_json(api.get(job_id, svc.ws), svc.ws)


@router.delete("/{job_id}", summary="cancel a job (it stops within seconds)")
def cancel(job_id: str, svc: Service = Depends(service)):
    from genesis_core.jobs import api

    return job_json(api.cancel(job_id, svc.ws), svc.ws)


@router.post("/{job_id}/retry", status_code=202, summary="the same config again from scratch: a new job and run")
def retry(job_id: str, svc: Service = Depends(service)):
    from genesis_core.jobs import api

    return job_json(api.retry(job_id, svc.ws), svc.ws)


@router.post("/{job_id}/resume", status_code=202, summary="a failed or cancelled job, queued again: it continues "
                                                          "its run from the last checkpoint")
def resume(job_id: str, svc: Service = Depends(service)):
    from genesis_core.jobs import api

    return job_json(api.resume(job_id, svc.ws), svc.ws)
