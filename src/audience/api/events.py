"""Segment's tracking API: ``POST /v1/track|identify|page|screen|group|alias|batch``.

Each answers 200 only once its events are durably queued; every refusal (401, 400, 413)
happens before anything reaches the queue. Operation ids are the Segment method names, so
a generated client reads like Segment's own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from audience.api.http_io import (
    ACCEPTED,
    JSON,
    SCHEMA_REF,
    accepted,
    collector,
    read_body,
    request_body,
)
from audience.model.live_records import EVENT_TYPES, EventType
from audience.realtime.auth import authenticate
from audience.realtime.events import (
    BATCH_ADAPTER,
    batch_item_schema,
    parse_batch,
    parse_single,
    required_schema,
)
from audience.realtime.input_checks import InputLimits

SECURITY: list[dict[str, list[str]]] = [{"writeKey": []}]
SUMMARIES = {
    "track": "Record an action a user performed",
    "identify": "Tie a user to their actions and record traits about them",
    "page": "Record a page view",
    "screen": "Record a screen view in a mobile app",
    "group": "Associate a user with a group (company, account)",
    "alias": "Merge a previous identity of a user into her user id",
}


def _single(type_: EventType) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        c = collector(request)
        server = c.settings.server
        body = await read_body(request, server.max_event_bytes, "the event")
        authenticate(request.headers.get("authorization"), body, server.write_keys)
        event = parse_single(body, type_, c.now(), InputLimits.of(server))
        await c.accept([event])
        return accepted(1)

    handler.__name__ = type_
    return handler


async def batch(request: Request) -> Response:
    """Several events of any types at once, sharing ``context`` and ``sentAt``."""
    c = collector(request)
    server = c.settings.server
    body = await read_body(request, server.max_batch_bytes, "the batch")
    authenticate(request.headers.get("authorization"), body, server.write_keys)
    events = parse_batch(body, c.now(), InputLimits.of(server))
    if events:
        await c.accept(events)
    return accepted(len(events))


EVENT_REF = SCHEMA_REF.format(model="SegmentEvent")
EXAMPLES: dict[str, dict[str, Any]] = {
    "track": {
        "userId": "user-42",
        "event": "Order Completed",
        "properties": {"order_id": "o-1", "total": 42.5, "currency": "EUR"},
    },
    "identify": {
        "userId": "user-42",
        "anonymousId": "anon-7",
        "traits": {"email": "ada@example.com", "plan": "pro"},
    },
    "page": {"userId": "user-42", "name": "Pricing", "properties": {"path": "/pricing"}},
    "screen": {"anonymousId": "anon-7", "name": "Home"},
    "group": {"userId": "user-42", "groupId": "acme", "traits": {"name": "Acme"}},
    "alias": {"previousId": "anon-7", "userId": "user-42"},
}
"""A request body per route, as the OpenAPI document shows it."""


def event_body(type_: EventType) -> dict[str, Any]:
    """The request body of ``/v1/<type_>``: a Segment event with what its type needs."""
    needed = required_schema(type_)
    schema = {"allOf": [{"$ref": EVENT_REF}, needed]} if needed else {"$ref": EVENT_REF}
    return {"required": True, "content": {JSON: {"schema": schema, "example": EXAMPLES[type_]}}}


def batch_body() -> dict[str, Any]:
    """The request body of ``/v1/batch``: each event typed, with what its type needs."""
    body = request_body(BATCH_ADAPTER)
    body["content"][JSON]["schema"]["properties"]["batch"]["items"] = batch_item_schema(EVENT_REF)
    body["content"][JSON]["example"] = {
        "batch": [{"type": kind, **EXAMPLES[kind]} for kind in ("identify", "track")]
    }
    return body


def profile_links(pointer: str) -> dict[str, Any]:
    """OpenAPI links from an accepted event to its person's profile (``pointer``: the event).

    They say how the API's calls chain (fuzzers follow them in stateful testing); the
    profile answers 404 until the consumer has applied the event.
    """
    return {
        f"ProfileOf{name}": {
            "operationId": "profile_get",
            "parameters": {"profile_id": f"$request.body#{pointer}/{field}"},
            "description": f"The profile of the event's {field}, once the event is applied.",
        }
        for name, field in (("User", "userId"), ("AnonymousId", "anonymousId"))
    }


def responses(pointer: str) -> dict[int | str, dict[str, Any]]:
    """:data:`ACCEPTED` with links to the profile from the 200 answer."""
    return {**ACCEPTED, 200: {**ACCEPTED[200], "links": profile_links(pointer)}}


def handlers() -> dict[str, Callable[[Request], Awaitable[Response]]]:
    """The tracking routes' handlers by path, for the application's fast path."""
    found = {f"/v1/{type_}": _single(type_) for type_ in EVENT_TYPES}
    found["/v1/batch"] = batch
    return found


def router() -> APIRouter:
    """The tracking routes."""
    routes = APIRouter(tags=["tracking"])
    for type_ in EVENT_TYPES:
        routes.add_api_route(
            f"/v1/{type_}",
            _single(type_),
            methods=["POST"],
            operation_id=type_,
            summary=SUMMARIES[type_],
            response_class=Response,
            responses=responses(""),
            openapi_extra={"requestBody": event_body(type_), "security": SECURITY},
        )
    routes.add_api_route(
        "/v1/batch",
        batch,
        methods=["POST"],
        operation_id="batch",
        summary="Send up to 500 KB of events in one request",
        response_class=Response,
        responses=responses("/batch/0"),
        openapi_extra={"requestBody": batch_body(), "security": SECURITY},
    )
    return routes
