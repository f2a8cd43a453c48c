"""Segment Spec events as the collector accepts them, and their normal form in the queue.

A request is parsed once (orjson), validated by pydantic against the same typed dicts the
OpenAPI document publishes, checked against the Segment limits, then normalised: its type
set, a ``messageId`` given when the client sent none, the batch's shared ``context`` merged
into each event, and the clock-skew correction applied, as Segment does::

    timestamp = receivedAt - (sentAt - originalTimestamp)

so that a phone whose clock is an hour off still records the hour the event really happened.

What a client sends is checked first (:mod:`audience.realtime.input_checks`: finite,
bounded amounts, ids as strings, ISO times, bounded nesting), so it can never poison what is
stored. Then:

* a time that, once corrected, falls before ``timestamp_floor`` or more than
  ``timestamp_max_future_seconds`` after its arrival is not refused (the event is real, the
  device's clock is not): the event is recorded at ``receivedAt`` and
  ``context.audience.timestamp_rejected`` says why (``context.audience`` is the server's own).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NotRequired, cast

import orjson
from pydantic import ConfigDict, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from audience.errors import PayloadTooLargeError, RequestRejectedError
from audience.model.live_records import EVENT_TYPES, Event, EventType, JsonObject
from audience.realtime.event_shapes import plain_batch, plain_event
from audience.realtime.input_checks import (
    DEFAULT_LIMITS,
    MAX_AMOUNT,
    SERVER_CONTEXT,
    ClientTime,
    Id,
    InputLimits,
    Properties,
    check_amounts,
    check_depth,
    field_path,
    nesting,
)

_NON_EMPTY_ID = {"anyOf": [{"type": "string", "minLength": 1}, {"type": "integer"}]}
_NON_EMPTY_TEXT = {"type": "string", "minLength": 1}
_IDENTITY = {
    "anyOf": [
        {"required": ["userId"], "properties": {"userId": _NON_EMPTY_ID}},
        {"required": ["anonymousId"], "properties": {"anonymousId": _NON_EMPTY_ID}},
    ]
}


class SegmentEvent(TypedDict):
    """One event of the Segment Spec; unknown keys are accepted and dropped.

    It needs a ``userId`` or an ``anonymousId`` (not empty).
    """

    __pydantic_config__ = ConfigDict(json_schema_extra=_IDENTITY)  # type: ignore[misc]

    type: NotRequired[EventType]
    messageId: NotRequired[str | None]
    userId: NotRequired[Id]
    anonymousId: NotRequired[Id]
    event: NotRequired[str | None]
    name: NotRequired[str | None]
    category: NotRequired[str | None]
    previousId: NotRequired[Id]
    groupId: NotRequired[Id]
    properties: NotRequired[Properties]
    traits: NotRequired[JsonObject | None]
    context: NotRequired[JsonObject | None]
    integrations: NotRequired[JsonObject | None]
    timestamp: NotRequired[ClientTime]
    sentAt: NotRequired[ClientTime]
    writeKey: NotRequired[str | None]


class BatchRequest(TypedDict):
    """A ``/v1/batch`` body: events, and what they share."""

    batch: list[SegmentEvent]
    context: NotRequired[JsonObject | None]
    integrations: NotRequired[JsonObject | None]
    sentAt: NotRequired[ClientTime]
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


def required_schema(kind: EventType) -> dict[str, Any]:
    """The JSON Schema of what an event of ``kind`` needs beyond :class:`SegmentEvent`."""
    needed = _REQUIRED.get(kind, ())
    if not needed:
        return {}
    return {
        "required": list(needed),
        "properties": {f: _NON_EMPTY_TEXT if f in _TEXT_FIELDS else _NON_EMPTY_ID for f in needed},
    }


def batch_item_schema(event_ref: str) -> dict[str, Any]:
    """The JSON Schema of one event of a batch: typed, with what its type needs."""
    return {
        "allOf": [
            {"$ref": event_ref},
            {"required": ["type"]},
            *(
                {
                    "if": {"required": ["type"], "properties": {"type": {"const": kind}}},
                    "then": required_schema(kind),
                }
                for kind in EVENT_TYPES
                if kind in _REQUIRED
            ),
        ]
    }


def parse_json(
    body: bytes, where: str = "body", *, max_depth: int | None = None, root: str = "body"
) -> Any:
    """Parse a request body, saying where a malformed one breaks.

    ``max_depth`` (default: :data:`DEFAULT_LIMITS`) bounds the nesting; ``root`` names the
    body in the location of a too deep part (``batch[0].properties.a``).
    """
    depth = DEFAULT_LIMITS.max_depth if max_depth is None else max_depth
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        at = f"at line {exc.lineno}, column {exc.colno} (character {exc.pos})"
        if "infinity" in exc.msg:
            problem = (
                f"a number in the {where} {at} is beyond the range of a 64-bit float "
                f"(±1.8e308); send finite numbers (amounts within ±{MAX_AMOUNT:g})"
            )
        elif "depth" in exc.msg:
            problem = (
                f"the {where} nests objects and arrays more than {depth} levels deep {at}; "
                "flatten the data"
            )
        else:
            problem = f"malformed JSON in the {where} {at}: {exc.msg}; send one JSON object"
        raise RequestRejectedError(problem) from exc
    # Most bodies have fewer brackets than the limit, or nest them shallowly: they need no
    # walk of the parsed data (which costs a tenth of a batch's time when done each time).
    if body.count(b"{") + body.count(b"[") > depth and nesting(body) > depth:
        check_depth(data, depth, root)
    return data


def _validation_message(exc: ValidationError, prefix: str) -> str:
    first = exc.errors()[0]
    more = f" ({exc.error_count()} problems in all)" if exc.error_count() > 1 else ""
    return f"{field_path(prefix, first['loc'])}: {first['msg']}{more}"


def validate_event(data: Any, where: str = "body") -> SegmentEvent:
    """Type-check one event, naming the first field that is wrong."""
    plain = plain_event(data)  # the common shape, without pydantic's cost
    if plain is not None:
        return cast(SegmentEvent, plain)
    try:
        return EVENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise RequestRejectedError(_validation_message(exc, where)) from exc


def validate_batch(data: Any) -> BatchRequest:
    """Type-check a batch body, naming the first field that is wrong (``batch[3].userId``)."""
    plain = plain_batch(data)  # the common shape, without pydantic's cost
    if plain is not None:
        return cast(BatchRequest, plain)
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


@functools.lru_cache(maxsize=1024)
def iso(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds and 'Z', the form Segment itself writes.

    Cached: a batch writes its one ``receivedAt`` (and mostly the same times) per event."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _shown(moment: datetime) -> str:
    """:func:`iso`, or the time with its own offset when UTC cannot hold it (year 1 at +05:00)."""
    try:
        return iso(moment)
    except OverflowError:
        return moment.isoformat(timespec="milliseconds")


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def corrected_timestamp(
    original: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """When the event happened by the server's clock: Segment's clock-skew correction.

    Raises OverflowError when the correction leaves the years 1 to 9999.
    """
    if original is None:
        return received_at
    if sent_at is None:
        return _aware(original)
    return received_at - (_aware(sent_at) - _aware(original))


def plausible_timestamp(
    original: datetime | None,
    sent_at: datetime | None,
    received_at: datetime,
    limits: InputLimits = DEFAULT_LIMITS,
) -> tuple[datetime, str | None]:
    """The corrected time, or ``received_at`` and why when the corrected one is implausible."""
    hint = "; recorded at the time received: check the device's clock, timestamp and sentAt"
    try:
        moment = corrected_timestamp(original, sent_at, received_at)
    except OverflowError:
        return received_at, "the time is out of range once corrected for clock skew" + hint
    if moment < limits.timestamp_floor:
        return received_at, (
            f"the time {_shown(moment)} (corrected for clock skew) is before "
            f"{iso(limits.timestamp_floor)}" + hint
        )
    if moment > received_at + limits.max_future:
        return received_at, (
            f"the time {_shown(moment)} (corrected for clock skew) is more than "
            f"{limits.max_future.total_seconds():g} s after the time received" + hint
        )
    return moment, None


def normalise(
    event: SegmentEvent,
    *,
    type_: EventType | None,
    received_at: datetime,
    where: str = "body",
    shared_context: Mapping[str, Any] | None = None,
    shared_sent_at: datetime | None = None,
    shared_integrations: Mapping[str, Any] | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
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
    if out.get("properties"):
        check_amounts(out["properties"], f"{where}.properties")
    context = merge_context(shared_context, event.get("context"))
    if context and SERVER_CONTEXT in context:
        context = {k: v for k, v in context.items() if k != SERVER_CONTEXT}
    if shared_integrations and "integrations" not in out:
        out["integrations"] = dict(shared_integrations)
    original, sent_at = event.get("timestamp"), event.get("sentAt") or shared_sent_at
    moment, rejected = plausible_timestamp(original, sent_at, received_at, limits)
    out["timestamp"] = iso(moment)
    if original is not None:
        out["originalTimestamp"] = _shown(original)
    if sent_at is not None:
        out["sentAt"] = _shown(sent_at)
    out["receivedAt"] = iso(received_at)
    if rejected is not None:
        context = {**(context or {}), SERVER_CONTEXT: {"timestamp_rejected": rejected}}
    if context:
        out["context"] = context
    return cast(Event, out)


_IDS: list[str] = []
"""Random ids drawn ahead: one system call per 256 events instead of one per event, which
showed as a quarter of the server's time in a profile of ``/v1/batch`` without ids."""
os.register_at_fork(after_in_child=_IDS.clear)  # a forked child never reuses its parent's


def _new_id() -> str:
    """128 random bits, as in a uuid4."""
    if not _IDS:
        drawn = os.urandom(16 * 256).hex()
        _IDS.extend(drawn[i : i + 32] for i in range(0, len(drawn), 32))
    return "ajs-srv-" + _IDS.pop()


def parse_single(
    body: bytes, type_: EventType, received_at: datetime, limits: InputLimits = DEFAULT_LIMITS
) -> Event:
    """A ``/v1/<type>`` body as one normalised event."""
    if len(body) > limits.max_event_bytes:
        raise PayloadTooLargeError(
            f"the event is {len(body)} bytes, over the {limits.max_event_bytes}-byte limit "
            "per event; send smaller properties or traits"
        )
    data = parse_json(body, max_depth=limits.max_depth)
    if not isinstance(data, dict):
        raise RequestRejectedError("body: expected a JSON object, one event")
    return normalise(validate_event(data), type_=type_, received_at=received_at, limits=limits)


def parse_batch(
    body: bytes, received_at: datetime, limits: InputLimits = DEFAULT_LIMITS
) -> list[Event]:
    """A ``/v1/batch`` body as normalised events, each checked against the per-event limit."""
    data = parse_json(body, max_depth=limits.max_depth, root="")
    if not isinstance(data, dict):
        raise RequestRejectedError("body: expected a JSON object with a 'batch' list")
    raw_items = data.get("batch")
    if isinstance(raw_items, list):
        for i, item in enumerate(raw_items):
            check_event_size(item, limits.max_event_bytes, f"batch[{i}]")
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
                limits=limits,
            )
        )
    return events
