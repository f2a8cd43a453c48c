"""``POST /v1/webhooks/{source}``: a signed notification from a CRM or another tool.

The signature is checked against the source's secret before the body is parsed; the payload
becomes identify or track events by the source's configured mapping.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from audience.api.http_io import ERRORS, Accepted, accepted, collector, read_body
from audience.errors import UnknownSourceError
from audience.realtime.inbound_webhooks import verify, webhook_events
from audience.realtime.input_checks import InputLimits


async def webhook_receive(source: str, request: Request) -> Response:
    """Receive a signed webhook from ``source`` and queue the events it maps to."""
    c = collector(request)
    server = c.settings.server
    config = server.webhooks.get(source)
    if config is None:
        raise UnknownSourceError(
            f"no webhook source '{source}'; configure it in AUDIENCE_SERVER__WEBHOOKS"
        )
    body = await read_body(request, server.max_batch_bytes, "the webhook")
    verify(config, request.headers, body, c.now().timestamp())
    events = webhook_events(source, config, body, c.now(), InputLimits.of(server))
    await c.accept(events)
    return accepted(len(events))


def router() -> APIRouter:
    routes = APIRouter(tags=["webhooks"])
    routes.add_api_route(
        "/v1/webhooks/{source}",
        webhook_receive,
        methods=["POST"],
        operation_id="webhook_receive",
        summary="Receive a signed webhook (HMAC-SHA256 per source)",
        response_class=Response,
        responses={
            200: {"model": Accepted, "description": "Accepted: the events are queued."},
            404: {"model": ERRORS[400]["model"], "description": "No such source."},
            **ERRORS,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    )
    return routes
