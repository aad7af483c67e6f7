"""Releases: the versioned record of each synthesis (lineage, schema, privacy statement), what changed between
two, and a release's compliance evidence."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from genesis_core.service.common import Service, page, public, service

router = APIRouter(prefix="/v1/releases", tags=["releases"])


@router.get("", summary="releases, newest first (filter by the input's sha256)")
def releases(input_sha256: str = Query("", alias="input", max_length=64), limit: int = Query(50, ge=1, le=500),
             offset: int = Query(0, ge=0), svc: Service = Depends(service)):
    from genesis_core.tabular.releases.records import list_releases

    found, damaged = list_releases(svc.ws, input_sha256)
    return {**page(public(found, svc.ws), limit, offset), "damaged": damaged}


@router.get("/{release_id}", summary="a release's record and lineage")
def release(release_id: str, svc: Service = Depends(service)):
    from genesis_core.tabular.releases.records import get_release

    return public(get_release(svc.ws, release_id), svc.ws)


@router.get("/{a}/diff/{b}", summary="what changed between two releases")
def diff(a: str, b: str, svc: Service = Depends(service)):
    from genesis_core.tabular.releases.records import diff_releases, get_release

    return public(diff_releases(get_release(svc.ws, a), get_release(svc.ws, b)), svc.ws)


@router.get("/{release_id}/evidence", summary="compliance evidence of a release (not a certificate)")
def evidence(release_id: str, format: str = Query("json", pattern="^(json|html)$"), svc: Service = Depends(service)):
    from genesis_core.tabular.releases.records import get_release
    from genesis_core.tabular.releases.evidence import evidence as build, to_html

    report = public(build(get_release(svc.ws, release_id)), svc.ws)
    return HTMLResponse(to_html(report)) if format == "html" else report
