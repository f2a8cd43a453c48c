"""Inbound webhooks: a CRM (or any tool) tells that a contact changed; it becomes an event.

Each source is configured with a secret, how it signs, and a mapping from its payload to a
Segment ``identify`` or ``track`` event (:class:`~audience.config.settings.WebhookSource`).
Signatures are checked before the body is even parsed, so that an unsigned request costs
nothing and reaches nothing. A payload without an id of its own gets a ``messageId`` derived
from the source and the item itself: a webhook resent by the CRM then changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from audience.config.settings import WebhookSource
from audience.errors import ConfigError, RequestRejectedError, UnauthorizedError
from audience.model.live_records import Event, JsonObject
from audience.realtime.events import iso, normalise, parse_json, validate_event
from audience.realtime.input_checks import DEFAULT_LIMITS, InputLimits

MAX_STAMP_DIGITS = 12
"""Digits of a ``webhook-timestamp`` (seconds since 1970: 12 reach the year 33658)."""


def secret_bytes(secret: str) -> bytes:
    """A Standard Webhooks ``whsec_`` secret is base64; any other is used as its UTF-8 text.

    Settings refuse a ``whsec_`` secret that is not base64 at start-up
    (:class:`~audience.config.settings.WebhookSource`).
    """
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(
                "a webhook source's 'whsec_' secret is not base64; fix it in the settings"
            ) from exc
    return secret.encode("utf-8")


def sign_standard(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of id.timestamp.body>``, as Standard Webhooks defines it."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign_hex(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>``, the form many CRMs and GitHub send."""
    return "sha256=" + hmac.new(secret_bytes(secret), body, hashlib.sha256).hexdigest()


def verify(
    source: WebhookSource, headers: Mapping[str, str], body: bytes, now: float | None = None
) -> str | None:
    """Check the request's signature; return the sender's message id when it gives one."""
    if source.scheme == "hex":
        given = headers.get(source.signature_header, "")
        expected = sign_hex(source.secret, body)
        if not given or not hmac.compare_digest(
            given.removeprefix("sha256=").encode(), expected.removeprefix("sha256=").encode()
        ):
            raise UnauthorizedError(
                f"missing or wrong signature in header {source.signature_header}"
            )
        return None
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "").split()
    if not msg_id or not stamp or not signatures:
        raise UnauthorizedError("missing webhook-id, webhook-timestamp or webhook-signature header")
    # ASCII digits only: str.isdigit() also takes '²' and '¹²³', which int() then refuses.
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= MAX_STAMP_DIGITS):
        raise RequestRejectedError(
            f"webhook-timestamp {stamp[:20]!r} is not a time; send whole seconds since "
            f"1970-01-01 UTC in ASCII digits (at most {MAX_STAMP_DIGITS}), such as 1767225600"
        )
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > source.tolerance_seconds:
        raise UnauthorizedError(
            f"webhook-timestamp is more than {source.tolerance_seconds}s away from the server's "
            "clock; resend it (a replay is refused)"
        )
    wanted = sign_standard(source.secret, msg_id, int(stamp), body).encode()
    if not any(hmac.compare_digest(given.encode(), wanted) for given in signatures):
        raise UnauthorizedError("wrong webhook-signature: sign id.timestamp.body with the secret")
    return msg_id


def lookup(payload: Any, path: str | None) -> Any:
    """The value at a dotted ``path`` (``=text`` is the constant text), None when absent."""
    if path is None:
        return None
    if path.startswith("="):
        return path[1:]
    value = payload
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif (
            isinstance(value, list) and part.isascii() and part.isdigit() and int(part) < len(value)
        ):
            value = value[int(part)]
        else:
            return None
    return value


def epoch_time(value: Any) -> Any:
    """A time given as a number since 1970 (seconds, or milliseconds past 1e11) as ISO 8601.

    CRMs often send times so; anything else is left for validation to judge.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    seconds = value / 1000 if abs(value) >= 1e11 else value
    try:
        return iso(datetime.fromtimestamp(seconds, UTC))
    except (OverflowError, OSError, ValueError):
        return value


def map_item(source_name: str, source: WebhookSource, item: Any, index: int) -> JsonObject:
    """One payload item as a Segment event (not yet validated)."""
    event: JsonObject = {"type": source.type}
    for field, path in (
        ("userId", source.user_id),
        ("anonymousId", source.anonymous_id),
        ("event", source.event),
        ("timestamp", source.timestamp),
        ("messageId", source.message_id),
    ):
        value = lookup(item, path)
        if field == "timestamp":
            value = epoch_time(value)
        if value is not None:
            event[field] = value
    traits = {k: v for k, p in source.traits.items() if (v := lookup(item, p)) is not None}
    props = {k: v for k, p in source.properties.items() if (v := lookup(item, p)) is not None}
    if traits:
        event["traits"] = traits
    if props:
        event["properties"] = props
    if "messageId" not in event:
        digest = hashlib.sha256(orjson.dumps(item, option=orjson.OPT_SORT_KEYS)).hexdigest()
        event["messageId"] = f"wh-{source_name}-{digest[:32]}"
    else:
        event["messageId"] = str(event["messageId"])
    event["context"] = {"source": {"type": "webhook", "name": source_name, "item": index}}
    return event


def webhook_events(
    source_name: str,
    source: WebhookSource,
    body: bytes,
    received_at: datetime,
    limits: InputLimits = DEFAULT_LIMITS,
) -> list[Event]:
    """The normalised events of a verified webhook body."""
    payload = parse_json(body, max_depth=limits.max_depth)
    items = lookup(payload, source.items) if source.items else [payload]
    if not isinstance(items, list) or not items:
        raise RequestRejectedError(
            f"webhook '{source_name}': no list of items at '{source.items}' in the payload"
        )
    events = []
    for i, item in enumerate(items):
        where = f"item[{i}]"
        event = validate_event(map_item(source_name, source, item, i), where=where)
        events.append(
            normalise(event, type_=source.type, received_at=received_at, where=where, limits=limits)
        )
    return events
