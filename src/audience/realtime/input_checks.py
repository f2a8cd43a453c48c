"""What a client sends, checked so that it can never poison what is stored.

Each refusal is a 400 naming the field (``batch[3].properties.total: ...``) and saying how to
fix it:

* numbers are finite (orjson refuses ``1e400``, ``NaN`` and ``Infinity``), and the amounts
  profiles sum (:data:`AMOUNT_KEYS` in ``properties``, and in each of ``properties.products``)
  lie within ±:data:`MAX_AMOUNT`;
* ids are strings: a whole number is written in decimal (``42`` and ``42.0`` are ``"42"``);
  booleans, fractions, objects and arrays are refused;
* times are ISO 8601 strings (RFC 3339; without an offset they are UTC);
* objects and arrays nest at most ``max_json_depth`` levels (the body is level 1): stored
  JSON cannot hold more than 254.

The types here (:data:`Id`, :data:`ClientTime`, :data:`Properties`) are those the request
schemas of :mod:`audience.realtime.events` are written with.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from audience.config.settings import KB, ServerSettings
from audience.errors import RequestRejectedError
from audience.model.live_records import JsonObject

MAX_AMOUNT = 1e15
"""Largest magnitude of an amount a profile sums (a thousand trillion, in any currency)."""
AMOUNT_KEYS = (
    "total",
    "subtotal",
    "revenue",
    "value",
    "discount",
    "price",
    "quantity",
    "shipping",
    "tax",
)
"""Properties holding amounts (Segment's e-commerce spec), bounded when they are numbers."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SERVER_CONTEXT = "audience"
"""The key of ``context`` the server writes (``timestamp_rejected``); a client's is dropped."""


@dataclass(frozen=True)
class InputLimits:
    """What the collector accepts, from :class:`~audience.config.settings.ServerSettings`."""

    max_event_bytes: int = 32 * KB
    max_depth: int = 64
    timestamp_floor: datetime = EPOCH
    max_future: timedelta = timedelta(days=1)

    @classmethod
    def of(cls, server: ServerSettings) -> InputLimits:
        return cls(
            max_event_bytes=server.max_event_bytes,
            max_depth=server.max_json_depth,
            timestamp_floor=server.timestamp_floor,
            max_future=timedelta(seconds=server.timestamp_max_future_seconds),
        )


DEFAULT_LIMITS = InputLimits()


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, int | float):
        return f"the number {value:g}" if isinstance(value, float) else f"the number {value}"
    return type(value).__name__


def _canonical_id(value: Any) -> str | None:
    """An id as a string: text as it is, a whole number in decimal; anything else refused."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    raise PydanticCustomError(
        "id_type",
        "an id is a string (or a whole number), not {kind}; send the id as a JSON string",
        {"kind": _kind(value)},
    )


_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)
_TIME_HINT = "send an ISO 8601 time such as 2026-03-01T12:00:00.000Z"


def client_time(value: Any) -> datetime | None:
    """An RFC 3339 time (offset optional: UTC); numbers and other date forms are refused."""
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "time_type", "a time is a string, not {kind}; " + _TIME_HINT, {"kind": _kind(value)}
        )
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise PydanticCustomError(
            "time_format",
            "{text} is not an ISO 8601 time; " + _TIME_HINT,
            {"text": repr(value[:40])},
        )
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        tz = UTC
        if zone not in (None, "Z", "z"):
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError(f"offset {zone} is not between -23:59 and +23:59")
            offset = timedelta(hours=hours, minutes=minutes)
            tz = timezone(-offset if zone[0] == "-" else offset)
        leap = second == "60"  # a leap second: 23:59:60 is the instant after 23:59:59
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            59 if leap else int(second),
            int((fraction or "")[:6].ljust(6, "0")),
            tzinfo=tz,
        )
        if leap:
            moment += timedelta(seconds=1)
    except (ValueError, OverflowError) as exc:
        raise PydanticCustomError(
            "time_value",
            "{text} is not a valid time ({reason}); " + _TIME_HINT,
            {"text": repr(value[:40]), "reason": str(exc)},
        ) from exc
    return moment


Id = Annotated[
    str | None,
    PlainValidator(_canonical_id),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}),
]
"""A user, anonymous, group or previous id: a string, or a whole number made one."""
ClientTime = Annotated[
    datetime | None,
    PlainValidator(client_time),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}),
]
"""A time a client gives: an ISO 8601 (RFC 3339) string."""

_BOUNDED = {"minimum": -MAX_AMOUNT, "maximum": MAX_AMOUNT}
Properties = Annotated[
    JsonObject | None,
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "object",
                    "additionalProperties": True,
                    "properties": {
                        **dict.fromkeys(AMOUNT_KEYS, _BOUNDED),
                        "products": {"items": {"properties": dict.fromkeys(AMOUNT_KEYS, _BOUNDED)}},
                    },
                },
                {"type": "null"},
            ],
            "description": f"Free-form; the amounts ({', '.join(AMOUNT_KEYS)}), when numbers, "
            f"lie within ±{MAX_AMOUNT:g}, here and in each of 'products'.",
        }
    ),
]


def field_path(root: str, parts: Sequence[Any], most: int = 8) -> str:
    """``batch[3].properties.total`` from ``root`` and a location's keys and indexes."""
    shown = [p if isinstance(p, int) else str(p)[:40] for p in parts[:most]]
    text = root + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in shown)
    if len(parts) > most:
        text += f"… ({len(parts) - most} levels more)"
    return text.lstrip(".") or "body"


def _too_deep(value: Any, room: int) -> list[Any] | None:
    """Where ``value`` nests objects or arrays more than ``room`` levels, or None."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    if room <= 0:
        return []
    for key, child in items:
        if isinstance(child, dict | list):
            found = _too_deep(child, room - 1)
            if found is not None:
                return [key, *found]
    return None


def check_depth(data: Any, max_depth: int, root: str = "body") -> None:
    """Refuse objects and arrays nested more than ``max_depth`` levels (the body is level 1)."""
    found = _too_deep(data, max_depth)
    if found is not None:
        raise RequestRejectedError(
            f"{field_path(root, found)}: objects and arrays nested more than {max_depth} levels "
            "deep; flatten the data (the body is level 1)"
        )


_QUOTES_AND_BRACKETS = bytes(range(256)).translate(None, b'"{}[]')
_ONE_KIND = bytes.maketrans(b"[]", b"{}")


def nesting(body: bytes) -> int:
    """How deep the objects and arrays of a valid JSON ``body`` nest (the body is level 1).

    Only bytes methods, no regular expression (which took a third of a ``/v1/batch``
    request): in valid JSON a backslash always opens a two-character escape, inside a
    string, so dropping escaped backslashes and then escaped quotes leaves exactly the quotes
    that delimit strings; every other byte but brackets is dropped, and the brackets between
    a pair of quotes (inside strings) with them. In valid JSON the brackets left match, so
    arrays count as objects; each pass of ``replace`` removes the innermost pairs (it does
    not rescan what it joined), so the passes until none is left are the depth.
    """
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Two quotes side by side hold nothing between them: dropping them changes no bracket's
    # side, and leaves nothing at all in the common case of strings without brackets.
    kept = unescaped.translate(None, _QUOTES_AND_BRACKETS).replace(b'""', b"")
    if b'"' in kept:
        kept = b"".join(kept.split(b'"')[::2])
    brackets = kept.translate(_ONE_KIND)
    depth = 0
    while brackets:
        brackets = brackets.replace(b"{}", b"")
        depth += 1
    return depth


def _check_amount(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if not (math.isfinite(value) and abs(value) <= MAX_AMOUNT):
        raise RequestRejectedError(
            f"{where}: {value:g} is out of range; an amount lies within ±{MAX_AMOUNT:g} "
            "(send it in the currency's units, such as 42.5)"
        )


_AMOUNT_SET = frozenset(AMOUNT_KEYS)


def _plainly_bounded(properties: Mapping[str, Any]) -> bool:
    """Whether the amounts present are all in range and no ``products`` are given: the
    common case, checked over the keys present instead of every amount key."""
    if "products" in properties:
        return False
    for key in _AMOUNT_SET.intersection(properties):
        value = properties[key]
        if type(value) is float or type(value) is int:
            if not -MAX_AMOUNT <= value <= MAX_AMOUNT:  # NaN compares false: refused below
                return False
        elif isinstance(value, int | float) and not isinstance(value, bool):
            return False  # a subclass of a number: the full check decides
        # other types (text, objects) are not amounts: nothing to bound
    return True


def check_amounts(properties: Mapping[str, Any], where: str) -> None:
    """Refuse amounts (:data:`AMOUNT_KEYS`) out of ±:data:`MAX_AMOUNT`, naming the field."""
    if _plainly_bounded(properties):
        return
    for key in AMOUNT_KEYS:
        _check_amount(properties.get(key), f"{where}.{key}")
    products = properties.get("products")
    if isinstance(products, list):
        for i, product in enumerate(products):
            if isinstance(product, Mapping):
                for key in AMOUNT_KEYS:
                    _check_amount(product.get(key), f"{where}.products[{i}].{key}")
