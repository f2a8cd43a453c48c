"""``POST /v1/privacy/regulations`` and ``GET /v1/privacy/regulations/{id}``: erasure and
suppression requests over HTTP, answered with their receipt.

Erasing people is the most destructive thing the API does, so it takes an *admin* key
(``server.admin_keys``), never a write key (shipped in web pages) nor a read key. A
regulation runs to its end before the answer (seconds for one person); the warehouse held
by a batch command answers 503 with ``Retry-After``, as every retryable error does.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, ValidationError

from audience.api.http_io import ErrorBody, collector, json_response, read_body
from audience.errors import AmbiguousPersonError, RequestRejectedError, UnauthorizedError
from audience.realtime.auth import basic_user, is_valid_key

MAX_BODY = 4 * 2**20
"""Largest request: room for 10,000 subjects of a batch regulation."""


class Subject(BaseModel):
    """One identifier naming a person."""

    kind: Literal["customer", "email", "phone", "user_id"]
    value: str = Field(min_length=1, max_length=320)


class RegulationBody(BaseModel):
    """A regulation: what to do to whom."""

    type: Literal["delete", "suppress", "suppress-and-delete"] = "suppress-and-delete"
    subjects: list[Subject] = Field(min_length=1, max_length=10_000)
    all: bool = Field(
        default=False, description="Act on every person an identifier matches (else 409)."
    )


class RegulationConflictError(RequestRejectedError):
    """An identifier matches several persons and ``all`` is false: nothing was done."""

    code = "ambiguous_person"
    status = 409


class RegulationNotFoundError(RequestRejectedError):
    """No regulation has this id."""

    code = "regulation_not_found"
    status = 404


def admin(request: Request) -> str:
    """The caller as the audit log names it, or 401 without a valid admin key."""
    header = request.headers.get("authorization") or ""
    key = header[7:].strip() if header.lower().startswith("bearer ") else basic_user(header)
    if not is_valid_key(key, collector(request).settings.server.admin_keys):
        raise UnauthorizedError(
            "missing or wrong admin key; send a key of AUDIENCE_SERVER__ADMIN_KEYS as the HTTP "
            "Basic user name or as a Bearer token"
        )
    assert key is not None
    return "api:key-" + hashlib.sha256(key.encode()).hexdigest()[:8]


async def regulation_create(request: Request) -> Response:
    """File a regulation and run it; the receipt lists every store."""
    from audience.model.identifiers import PersonQuery
    from audience.pipelines.privacy import RegulationRequest, forget

    actor = admin(request)
    try:
        body = RegulationBody.model_validate_json(
            await read_body(request, MAX_BODY, "the regulation")
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise RequestRejectedError(f"invalid regulation at {where}: {first['msg']}") from None
    request_ = RegulationRequest(
        [PersonQuery(s.kind, s.value) for s in body.subjects], body.type, body.all, actor
    )
    c = collector(request)
    try:
        receipt = await asyncio.to_thread(forget, c.workspace, request_)
    except AmbiguousPersonError as exc:
        raise RegulationConflictError(str(exc)) from None
    return json_response(receipt.to_dict(), 201 if receipt.status != "failed" else 207)


async def regulation_get(regulation_id: str, request: Request) -> Response:
    """A regulation's receipt: its status and the status of every store."""
    from audience.pipelines.privacy import regulation

    admin(request)
    found = await asyncio.to_thread(regulation, collector(request).workspace, regulation_id)
    if found is None:
        raise RegulationNotFoundError(f"no regulation '{regulation_id}'")
    return json_response(found.to_dict())


def router() -> APIRouter:
    routes = APIRouter(tags=["privacy"])
    security: dict[str, Any] = {"security": [{"adminKey": []}]}
    routes.add_api_route(
        "/v1/privacy/regulations",
        regulation_create,
        methods=["POST"],
        operation_id="regulation_create",
        summary="Erase or suppress persons; answers with the receipt",
        response_class=Response,
        responses={
            201: {"description": "Done: the receipt, store by store."},
            207: {"description": "Done in part: a store failed (see the receipt); file again."},
            400: {"model": ErrorBody, "description": "Invalid regulation."},
            401: {"model": ErrorBody, "description": "Missing or wrong admin key."},
            409: {"model": ErrorBody, "description": "An identifier matches several persons."},
            503: {"model": ErrorBody, "description": "The warehouse is busy: retry."},
        },
        openapi_extra={
            **security,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": RegulationBody.model_json_schema()}},
            },
        },
    )
    routes.add_api_route(
        "/v1/privacy/regulations/{regulation_id}",
        regulation_get,
        methods=["GET"],
        operation_id="regulation_get",
        summary="A regulation's receipt",
        response_class=Response,
        responses={
            200: {"description": "The receipt."},
            401: {"model": ErrorBody, "description": "Missing or wrong admin key."},
            404: {"model": ErrorBody, "description": "No regulation of that id."},
        },
        openapi_extra=security,
    )
    return routes
