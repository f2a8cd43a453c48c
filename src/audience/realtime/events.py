"""Segment Spec events as the collector accepts them, and their normal form in the queue.

A request is parsed once (orjson), validated by pydantic against the same typed dicts the
OpenAPI document publishes, checked against the Segment limits, then normalised: its type
set, a ``messageId`` given when the client sent none, the batch's shared ``context`` merged
into each event, and the clock-skew correction applied, as Segment does::

    timestamp = receivedAt - (sentAt - originalTimestamp)

so that a phone whose clock is an hour off still records the hour the event really happened.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NotRequired, cast

import orjson
from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict

from audience.errors import PayloadTooLargeError, RequestRejectedError
from audience.model.live import EVENT_TYPES, Event, EventType, JsonObject

Id = str | int


class SegmentEvent(TypedDict):
    """One event of the Segment Spec; unknown keys are accepted and dropped."""

    type: NotRequired[EventType]
    messageId: NotRequired[str | None]
    userId: NotRequired[Id | None]
    anonymousId: NotRequired[Id | None]
    event: NotRequired[str | None]
    name: NotRequired[str | None]
    category: NotRequired[str | None]
    previousId: NotRequired[Id | None]
    groupId: NotRequired[Id | None]
    properties: NotRequired[JsonObject | None]
    traits: NotRequired[JsonObject | None]
    context: NotRequired[JsonObject | None]
    integrations: NotRequired[JsonObject | None]
    timestamp: NotRequired[datetime | None]
    sentAt: NotRequired[datetime | None]
    writeKey: NotRequired[str | None]


class BatchRequest(TypedDict):
    """A ``/v1/batch`` body: events, and what they share."""

    batch: list[SegmentEvent]
    context: NotRequired[JsonObject | None]
    integrations: NotRequired[JsonObject | None]
    sentAt: NotRequired[datetime | None]
    writeKey: NotRequired[str | None]


EVENT_ADAPTER: TypeAdapter[SegmentEvent] = TypeAdapter(SegmentEvent)
BATCH_ADAPTER: TypeAdapter[BatchRequest] = TypeAdapter(BatchRequest)

# What each type needs beyond an identity, as Segment's tracking API requires it.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "track": ("event",),
    "alias": ("previousId", "userId"),
    "group": ("groupId",),
}
_ID_FIELDS = ("userId", "anonymousId", "previousId", "groupId")
_TEXT_FIELDS = ("event", "name", "category")
_OBJECT_FIELDS = ("properties", "traits", "context", "integrations")


def parse_json(body: bytes, where: str = "body") -> Any:
    """Parse a request body, saying where a malformed one breaks."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestRejectedError(
            f"malformed JSON in the {where} at line {exc.lineno}, column {exc.colno} "
            f"(character {exc.pos}): {exc.msg}; send one JSON object"
        ) from exc


def _validation_message(exc: ValidationError, prefix: str) -> str:
    first = exc.errors()[0]
    loc = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
    more = f" ({exc.error_count()} problems in all)" if exc.error_count() > 1 else ""
    return f"{loc.lstrip('.') or 'body'}: {first['msg']}{more}"


def validate_event(data: Any, where: str = "body") -> SegmentEvent:
    """Type-check one event, naming the first field that is wrong."""
    try:
        return EVENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise RequestRejectedError(_validation_message(exc, where)) from exc


def validate_batch(data: Any) -> BatchRequest:
    """Type-check a batch body, naming the first field that is wrong (``batch[3].userId``)."""
    try:
        return BATCH_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise RequestRejectedError(_validation_message(exc, "")) from exc


def check_event_size(event: Mapping[str, Any], limit: int, where: str) -> None:
    """Refuse an event whose JSON is over ``limit`` bytes (Segment: 32 KB)."""
    size = len(orjson.dumps(event, default=str))
    if size > limit:
        raise PayloadTooLargeError(
            f"{where} is {size} bytes, over the {limit}-byte limit per event; "
            "send smaller properties or traits"
        )


def merge_context(shared: Mapping[str, Any] | None, own: Mapping[str, Any] | None) -> Any:
    """The batch's context under the event's own: the event wins key by key, at any depth."""
    if not shared:
        return dict(own) if own else None
    merged: JsonObject = dict(shared)
    for key, value in (own or {}).items():
        base = merged.get(key)
        if isinstance(base, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_context(base, value)
        else:
            merged[key] = value
    return merged


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds and 'Z', the form Segment itself writes."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def corrected_timestamp(
    original: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """When the event happened by the server's clock: Segment's clock-skew correction."""
    if original is None:
        return received_at
    if sent_at is None:
        return _aware(original)
    return received_at - (_aware(sent_at) - _aware(original))


def normalise(
    event: SegmentEvent,
    *,
    type_: EventType | None,
    received_at: datetime,
    where: str = "body",
    shared_context: Mapping[str, Any] | None = None,
    shared_sent_at: datetime | None = None,
    shared_integrations: Mapping[str, Any] | None = None,
) -> Event:
    """The queue's form of a validated event, or :class:`RequestRejectedError` saying why not."""
    kind = type_ or event.get("type")
    if kind is None:
        raise RequestRejectedError(f"{where}.type is missing; give one of {', '.join(EVENT_TYPES)}")
    out: JsonObject = {"type": kind, "messageId": event.get("messageId") or _new_id()}
    for field in _ID_FIELDS:
        value = event.get(field)
        if value is not None and str(value) != "":
            out[field] = str(value)
    if "userId" not in out and "anonymousId" not in out:
        raise RequestRejectedError(f"{where}: an event needs a userId or an anonymousId")
    for field in _TEXT_FIELDS:
        if event.get(field):
            out[field] = event.get(field)
    missing = [f for f in _REQUIRED.get(kind, ()) if not out.get(f)]
    if missing:
        raise RequestRejectedError(f"{where}: a {kind} event needs {' and '.join(missing)}")
    for field in _OBJECT_FIELDS:
        value = event.get(field)
        if value:
            out[field] = value
    context = merge_context(shared_context, event.get("context"))
    if context:
        out["context"] = context
    if shared_integrations and "integrations" not in out:
        out["integrations"] = dict(shared_integrations)
    original, sent_at = event.get("timestamp"), event.get("sentAt") or shared_sent_at
    try:
        out["timestamp"] = iso(corrected_timestamp(original, sent_at, received_at))
        if original is not None:
            out["originalTimestamp"] = iso(original)
        if sent_at is not None:
            out["sentAt"] = iso(sent_at)
    except OverflowError as exc:  # year 1 with an offset, or a skew of millennia
        raise RequestRejectedError(
            f"{where}: timestamp or sentAt is out of range once corrected to UTC; "
            "send ISO 8601 times near the present"
        ) from exc
    out["receivedAt"] = iso(received_at)
    return cast(Event, out)


def _new_id() -> str:
    return f"ajs-srv-{uuid.uuid4().hex}"


def parse_single(
    body: bytes, type_: EventType, received_at: datetime, max_event_bytes: int
) -> Event:
    """A ``/v1/<type>`` body as one normalised event."""
    if len(body) > max_event_bytes:
        raise PayloadTooLargeError(
            f"the event is {len(body)} bytes, over the {max_event_bytes}-byte limit per event"
        )
    data = parse_json(body)
    if not isinstance(data, dict):
        raise RequestRejectedError("body: expected a JSON object, one event")
    return normalise(validate_event(data), type_=type_, received_at=received_at)


def parse_batch(body: bytes, received_at: datetime, max_event_bytes: int) -> list[Event]:
    """A ``/v1/batch`` body as normalised events, each checked against the per-event limit."""
    data = parse_json(body)
    if not isinstance(data, dict):
        raise RequestRejectedError("body: expected a JSON object with a 'batch' list")
    raw_items = data.get("batch")
    if isinstance(raw_items, list):
        for i, item in enumerate(raw_items):
            check_event_size(item, max_event_bytes, f"batch[{i}]")
    request = validate_batch(data)
    events = []
    for i, event in enumerate(request["batch"]):
        where = f"batch[{i}]"
        events.append(
            normalise(
                event,
                type_=None,
                received_at=received_at,
                where=where,
                shared_context=request.get("context"),
                shared_sent_at=request.get("sentAt"),
                shared_integrations=request.get("integrations"),
            )
        )
    return events
