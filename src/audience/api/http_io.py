"""What every route shares: the collector, bounded body reading, answers and their schemas."""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from fastapi import Request, Response
from pydantic import BaseModel, TypeAdapter

from audience.errors import PayloadTooLargeError, RequestRejectedError
from audience.realtime.runtime import Collector

JSON = "application/json"
SCHEMA_REF = "#/components/schemas/{model}"


class Accepted(BaseModel):
    """The events are durably queued."""

    success: bool = True
    events: int = 1


class ErrorBody(BaseModel):
    """Why a request was refused, as the official Segment and RudderStack clients read it."""

    success: bool = False
    code: str
    """Stable machine-readable name (``invalid_request``, ``unauthorized``,
    ``payload_too_large``, ``queue_full``, ``queue_unavailable``...); never renamed."""
    message: str
    """One line: what is wrong, where, and how to fix it."""


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before sending the same request again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed or invalid event; says where."},
    401: {"model": ErrorBody, "description": "Missing or wrong write key."},
    413: {"model": ErrorBody, "description": "Over 32 KB per event or 500 KB per batch."},
    429: {
        "model": ErrorBody,
        "description": "The collector holds as many events for the queue as it may "
        "(code queue_full): retry after Retry-After seconds.",
        "headers": RETRY_AFTER,
    },
    503: {
        "model": ErrorBody,
        "description": "The queue or the store is down or did not confirm in time "
        "(code queue_unavailable or unavailable): retry after Retry-After seconds.",
        "headers": RETRY_AFTER,
    },
}
ACCEPTED: dict[int | str, dict[str, Any]] = {
    200: {"model": Accepted, "description": "Accepted: the events are durably queued."},
    **ERRORS,
}


def collector(request: Request) -> Collector:
    found: Collector = request.app.state.collector
    return found


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=JSON, headers=headers)


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The one shape of every refusal: ``{"success": false, "code", "message"}``."""
    return json_response({"success": False, "code": code, "message": message}, status, headers)


def accepted(n: int) -> Response:
    return json_response({"success": True, "events": n})


def request_body(adapter: TypeAdapter[Any]) -> dict[str, Any]:
    """An OpenAPI requestBody for a JSON body validated by ``adapter``."""
    schema = adapter.json_schema(ref_template=SCHEMA_REF)
    schema.pop("$defs", None)
    return {"required": True, "content": {JSON: {"schema": schema}}}


def component_schemas(*adapters: TypeAdapter[Any]) -> dict[str, Any]:
    """The named schemas the request bodies refer to, for ``components.schemas``."""
    found: dict[str, Any] = {}
    for adapter in adapters:
        found.update(adapter.json_schema(ref_template=SCHEMA_REF).get("$defs", {}))
    return found


async def read_body(request: Request, limit: int, what: str) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (gzip too)."""
    declared = request.headers.get("content-length", "")
    # ASCII digits only ('²'.isdigit() is true), and never thousands of them for int().
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise PayloadTooLargeError(f"{what} is {declared[:20]} bytes, over the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"{what} is over the {limit}-byte limit")
        chunks.append(chunk)
    body = b"".join(chunks)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        body = gunzip(body, limit, what)
    return body


def gunzip(body: bytes, limit: int, what: str) -> bytes:
    """Inflate a gzip body without ever holding more than ``limit`` bytes of it."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise RequestRejectedError(
            f"{what}: Content-Encoding gzip but the body is not gzip"
        ) from exc
    if len(data) > limit or inflater.unconsumed_tail:
        raise PayloadTooLargeError(f"{what} inflates to over the {limit}-byte limit")
    return data
