"""Drift: has one table moved from another? Both are tables the workspace holds (a stored table's id, a demo,
or a release's rows), never a path on the server."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from genesis_core.errors import WorkbenchError, one_sentence
from genesis_core.service.common import ApiError, Service, public, service, status_of
from genesis_core.service.requests import DriftRequest

router = APIRouter(prefix="/v1/drift", tags=["drift"])


@router.post("", summary="drift of one table from another (stored tables, demos or releases)")
def drift(body: DriftRequest, svc: Service = Depends(service)):
    from genesis_core.tabular.releases.drift import drift_report
    from genesis_core.tabular.releases.lineage import read_table_ref
    from genesis_core.tabular.evaluation.report import to_json

    frames = {}
    for field in ("reference", "current"):
        try:
            frames[field] = read_table_ref(getattr(body, field), svc.ws, paths=False)
        except WorkbenchError as exc:
            raise ApiError(status_of(exc), f"{field}: {one_sentence(exc)}") from None
    reference, current = frames["reference"], frames["current"]
    report = drift_report(reference, current, body.alpha, body.min_effect, body.column_types, seed=body.seed)
    return JSONResponse(public(json.loads(to_json(report)), svc.ws))
