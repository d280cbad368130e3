"""The blob service over HTTP: a node serves its blobs by id and takes new ones, checking
each against its id; blobs uploaded by clients are copied to the node's peers.

    GET  /blobs/{id}   the bytes (application/octet-stream); 404 if absent, 400 for a bad id
    HEAD /blobs/{id}   the same, without the bytes
    PUT  /blobs/{id}   store the body as the blob: 201 stored, 200 already there,
                       400 if the body's SHA-256 is not the id, 413 over the size limit
    POST /blobs        store the body under its SHA-256: {"id": ..., "size": ...}
    GET  /blobs        {"ids": [...], "next": ...}, in order, ?limit=&after=
    GET  /health       {"status": "ok"}

Errors answer {"detail": "<what is wrong and what to do>"}. A PUT with the header
X-Agora-Replica: 1 is a copy from another node: stored, never copied on.
"""

from __future__ import annotations

from fastapi import FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from agora.blobs.client import REPLICA_HEADER, Replicator
from agora.blobs.store import (
    BlobCorrupt,
    BlobError,
    BlobIdInvalid,
    BlobNotFound,
    BlobStore,
    BlobTooLarge,
    check_id,
    too_large,
)
from agora.market.spec import content_id

__all__ = ["MAX_PAGE", "create_blob_app"]

MAX_PAGE = 10_000

_STATUS = {BlobIdInvalid: 400, BlobCorrupt: 400, BlobNotFound: 404, BlobTooLarge: 413}


class _BadRequest(BlobError):
    """A request the service cannot read (a malformed Content-Length)."""


def create_blob_app(store: BlobStore, replicator: Replicator | None = None) -> FastAPI:
    """The blob service over `store`; `replicator` (if any) copies client uploads to peers."""
    app = FastAPI(title="Agora blobs", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(BlobError)
    async def _blob_error(request: Request, exc: BlobError) -> JSONResponse:
        status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    async def read_body(request: Request, blob_id: str | None) -> bytes:
        """The request's body, refused (413) past the store's limit by its Content-Length
        before reading, or as soon as the bytes read pass the limit."""
        limit = store.max_bytes
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise _BadRequest(f"Content-Length {declared!r} is not a number of bytes: send the blob's size")
            if int(declared) > limit:
                raise too_large(int(declared), limit, blob_id)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise BlobTooLarge(f"{f'blob {blob_id}' if blob_id else 'blob'} has more than this node's limit of "
                                   f"{limit} bytes (AGORA_BLOBS_MAX_BYTES): store a smaller blob or raise the limit",
                                   blob_id)
        return bytes(body)

    async def stored(blob_id: str, data: bytes, replica: bool) -> JSONResponse:
        created = await run_in_threadpool(store.put_verified, blob_id, data)
        if created and not replica and replicator is not None:
            await run_in_threadpool(replicator.replicate, blob_id, data)
        return JSONResponse({"id": blob_id, "size": len(data)}, status_code=201 if created else 200)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/blobs")
    async def list_blobs(limit: int = Query(default=1000, ge=1, le=MAX_PAGE), after: str = "") -> dict:
        ids = await run_in_threadpool(lambda: store.ids(after=after, limit=limit))
        return {"ids": ids, "next": ids[-1] if len(ids) == limit else None}

    @app.post("/blobs")
    async def post_blob(request: Request) -> JSONResponse:
        data = await read_body(request, None)
        return await stored(content_id(data), data, replica=False)

    @app.head("/blobs/{blob_id:path}")
    async def head_blob(blob_id: str) -> Response:
        size = await run_in_threadpool(store.size, blob_id)
        return Response(status_code=200, media_type="application/octet-stream",
                        headers={"Content-Length": str(size), "ETag": f'"{blob_id}"'})

    @app.get("/blobs/{blob_id:path}")
    async def get_blob(blob_id: str) -> Response:
        data = await run_in_threadpool(store.get, blob_id)
        return Response(content=data, media_type="application/octet-stream",
                        headers={"ETag": f'"{blob_id}"', "Cache-Control": "public, max-age=31536000, immutable"})

    @app.put("/blobs/{blob_id:path}")
    async def put_blob(blob_id: str, request: Request) -> JSONResponse:
        check_id(blob_id)
        data = await read_body(request, blob_id)
        return await stored(blob_id, data, replica=request.headers.get(REPLICA_HEADER) == "1")

    return app
