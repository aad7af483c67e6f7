"""Tables: upload a CSV or Parquet file (streamed to disk in chunks, checked, stored by content), list, read."""

from __future__ import annotations

import os
import secrets

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from genesis_core.service.common import ApiError, Service, page, service

router = APIRouter(prefix="/v1/tables", tags=["tables"])
CHUNK_FLUSH = 1 << 20  # bytes gathered before a write


@router.post("", status_code=201, summary="upload a CSV or Parquet table (the body is the file)")
async def upload_table(request: Request, name: str = Query("", description="the file's name", max_length=200),
                       svc: Service = Depends(service)):
    from genesis_core.tabular.data.uploads import incoming_dir, put_table_file

    if svc.uploads.locked():
        raise ApiError(429, f"{svc.limits.max_uploads} tables are being uploaded now, the most at once; "
                            "try again shortly.", {"Retry-After": "5"})
    async with svc.uploads:
        path = incoming_dir(svc.ws) / f"{secrets.token_hex(8)}.part"
        size = 0
        try:
            with open(path, "wb") as fh:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > svc.limits.max_upload_bytes:
                        raise ApiError(413, f"the table is over the limit of "
                                            f"{svc.limits.max_upload_bytes / 2**20:.1f} MiB.")
                    fh.write(chunk)
            if "parquet" in request.headers.get("content-type", "") and not name.endswith(".parquet"):
                name = (name or "upload") + ".parquet"
            return await run_in_threadpool(put_table_file, svc.ws, path, name, svc.limits.max_upload_bytes)
        except ClientDisconnect:
            raise ApiError(400, "the upload ended before its body was whole; nothing was stored.") from None
        finally:
            if path.exists():
                os.unlink(path)  # a refused, broken or duplicate upload leaves nothing behind


@router.get("", summary="stored tables, newest first")
def tables(limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0), svc: Service = Depends(service)):
    from genesis_core.tabular.data.uploads import list_tables

    return page(list_tables(svc.ws), limit, offset)


@router.get("/{table_id}", summary="a stored table's record and schema")
def table(table_id: str, svc: Service = Depends(service)):
    from genesis_core.tabular.data.uploads import get_table

    return get_table(svc.ws, table_id)
