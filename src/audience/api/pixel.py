"""``GET /v1/pixel/track``: an event in an image URL, answered by a 1×1 GIF whatever happens."""

from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from audience.api.http_io import collector
from audience.errors import AudienceError
from audience.realtime.input_checks import InputLimits
from audience.realtime.pixel import GIF, NO_CACHE_HEADERS, pixel_event

log = logging.getLogger(__name__)
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def header_text(text: str, most: int = 200) -> str:
    """``text`` as a header value: printable ASCII only (a client's key may hold a newline)."""
    return _UNPRINTABLE.sub("?", text)[:most]


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
        event = pixel_event(data, server.write_keys, c.now(), InputLimits.of(server))
        await c.accept([event])
    except AudienceError as exc:  # the image is answered anyway: an e-mail cannot retry
        outcome = header_text(str(exc))
        log.info("pixel event refused: %s", exc)
    except Exception as exc:  # a bug of ours: still the image, and one line in the log
        outcome = "internal error; the event was not recorded"
        log.error("pixel event failed: %s: %s", type(exc).__name__, exc)
        log.debug("pixel event failed", exc_info=True)
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
