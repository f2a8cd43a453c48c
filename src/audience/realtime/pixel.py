"""The tracking pixel: an event carried by an image URL, for e-mails and pages without script.

``GET /v1/pixel/track?data=<base64 JSON>`` always answers the same 1×1 transparent GIF with
headers that forbid caching (a cached pixel would count one open however many there are):
an e-mail client shows a broken image for anything else, and it could not act on an error.
Whether the event was accepted is told by the ``X-Audience-Accepted`` header instead.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from audience.errors import PayloadTooLargeError, RequestRejectedError, UnauthorizedError
from audience.model.live_records import Event
from audience.realtime.auth import is_valid_key
from audience.realtime.events import normalise, parse_json, validate_event
from audience.realtime.input_checks import DEFAULT_LIMITS, InputLimits

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
"""A 1×1 transparent GIF (42 bytes)."""

NO_CACHE_HEADERS = {
    "Cache-Control": "no-cache, no-store, must-revalidate, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
}


def decode_data(data: str | None, limits: InputLimits = DEFAULT_LIMITS) -> Any:
    """The JSON object a pixel URL carries in ``data``, base64 standard or URL-safe."""
    if not data:
        raise RequestRejectedError("query parameter 'data' is missing; give base64 of a JSON event")
    text = data.strip().replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestRejectedError("query parameter 'data' is not base64; encode the JSON") from exc
    limit = limits.max_event_bytes
    if len(raw) > limit:
        raise PayloadTooLargeError(
            f"the pixel's event is {len(raw)} bytes, over the {limit}-byte limit per event"
        )
    return parse_json(raw, where="pixel's data", max_depth=limits.max_depth, root="data")


def pixel_event(
    data: str | None,
    keys: list[str],
    received_at: datetime,
    limits: InputLimits = DEFAULT_LIMITS,
) -> Event:
    """The normalised track event of a pixel request, its write key checked."""
    payload = decode_data(data, limits)
    if not isinstance(payload, dict):
        raise RequestRejectedError("the pixel's data must be a JSON object, one event")
    key = payload.get("writeKey")
    if key is not None and not isinstance(key, str):
        raise UnauthorizedError(
            "the pixel's data.writeKey must be a JSON string holding a write key"
        )
    if not is_valid_key(key, keys):
        raise UnauthorizedError("the pixel's data has a missing or wrong writeKey")
    event = validate_event(payload, where="data")
    return normalise(event, type_="track", received_at=received_at, where="data", limits=limits)
