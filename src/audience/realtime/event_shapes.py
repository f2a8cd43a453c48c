"""The common shapes of Segment events checked without pydantic: the collector's fast path.

Validating a 100-event batch with pydantic costs more than everything else the collector
does with it (a quarter of the server's time in a py-spy profile of ``/v1/batch``), because
every event walks the schema's Python validators. Nearly every event a real client sends has
the plain shape: ids, names and the ``messageId`` as JSON strings, objects as objects, times
as ISO strings. For those, :func:`plain_batch` and :func:`plain_event` build the very dict
pydantic would (unknown keys dropped, times parsed, ``None`` kept), and return None for
anything else; the caller then validates with pydantic, which coerces what it may (a numeric
id) and words the refusal. So both paths accept, refuse and answer the same; the fast one
only exists to skip work, and a test compares the two on many shapes.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticCustomError

from audience.model.live_records import EVENT_TYPES
from audience.realtime.input_checks import client_time

_TYPES = frozenset(EVENT_TYPES)
_TEXT = frozenset(("messageId", "userId", "anonymousId", "event", "name", "category"))
_TEXT |= frozenset(("previousId", "groupId", "writeKey"))
_OBJECTS = frozenset(("properties", "traits", "context", "integrations"))
_TIMES = frozenset(("timestamp", "sentAt"))
_BATCH_OBJECTS = frozenset(("context", "integrations"))


def _time(value: Any) -> Any:
    """The parsed time, or the class itself when pydantic must say what is wrong."""
    try:
        return client_time(value)
    except PydanticCustomError:
        return _time


def plain_event(item: Any) -> dict[str, Any] | None:
    """``item`` validated as :class:`~audience.realtime.events.SegmentEvent`, or None when
    it is not of the plain shape (pydantic decides then)."""
    if type(item) is not dict:
        return None
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key in _TEXT:
            if value is not None and type(value) is not str:
                return None
        elif key in _OBJECTS:
            if value is not None and type(value) is not dict:
                return None
        elif key in _TIMES:
            value = _time(value)
            if value is _time:
                return None
        elif key == "type":
            if type(value) is not str or value not in _TYPES:
                return None
        else:
            continue  # unknown keys are dropped, as the TypedDict does
        out[key] = value
    return out


def plain_batch(data: Any) -> dict[str, Any] | None:
    """``data`` validated as :class:`~audience.realtime.events.BatchRequest`, or None when
    any part of it is not of the plain shape."""
    if type(data) is not dict:
        return None
    items = data.get("batch")
    if type(items) is not list:
        return None
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "batch":
            events = [plain_event(item) for item in items]
            if any(event is None for event in events):
                return None
            value = events
        elif key in _BATCH_OBJECTS:
            if value is not None and type(value) is not dict:
                return None
        elif key == "sentAt":
            value = _time(value)
            if value is _time:
                return None
        elif key == "writeKey":
            if value is not None and type(value) is not str:
                return None
        else:
            continue
        out[key] = value
    return out
