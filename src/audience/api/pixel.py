"""``GET /v1/pixel/track``: an event in an image URL, answered by a 1×1 GIF whatever happens."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from audience.api.http_io import collector
from audience.errors import AudienceError
from audience.realtime.pixel import GIF, NO_CACHE_HEADERS, pixel_event

log = logging.getLogger(__name__)


async def pixel_track(
    request: Request,
    data: Annotated[
        str | None,
        Query(description="base64 (standard or URL-safe) of a JSON track event with writeKey"),
    ] = None,
) -> Response:
    """Record a track event from an image request (e-mail opens, pages without script)."""
    c = collector(request)
    server = c.settings.server
    outcome = "accepted"
    try:
        event = pixel_event(data, server.write_keys, c.now(), server.max_event_bytes)
        await c.accept([event])
    except AudienceError as exc:  # the image is answered anyway: an e-mail cannot retry
        outcome = str(exc).encode("ascii", "replace").decode("ascii")[:200]
        log.info("pixel event refused: %s", exc)
    headers = {**NO_CACHE_HEADERS, "X-Audience-Accepted": "1" if outcome == "accepted" else "0"}
    if outcome != "accepted":
        headers["X-Audience-Error"] = outcome
    return Response(GIF, media_type="image/gif", headers=headers)


def router() -> APIRouter:
    routes = APIRouter(tags=["tracking"])
    routes.add_api_route(
        "/v1/pixel/track",
        pixel_track,
        methods=["GET"],
        operation_id="pixel_track",
        summary="Record a track event from a tracking pixel",
        response_class=Response,
        responses={200: {"description": "Always a 1×1 GIF", "content": {"image/gif": {}}}},
    )
    return routes
