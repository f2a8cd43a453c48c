"""The collector's fast path builds exactly what pydantic would, or steps aside."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from audience.realtime.event_shapes import plain_batch, plain_event
from audience.realtime.events import BATCH_ADAPTER, EVENT_ADAPTER
from audience.realtime.input_checks import nesting

FIELDS = [
    "type",
    "messageId",
    "userId",
    "anonymousId",
    "event",
    "name",
    "category",
    "previousId",
    "groupId",
    "properties",
    "traits",
    "context",
    "integrations",
    "timestamp",
    "sentAt",
    "writeKey",
    "unknown",
]
VALUES = st.one_of(
    st.none(),
    st.sampled_from(["track", "identify", "alias", "nope", "", "u-1"]),
    st.sampled_from(
        ["2026-03-01T12:00:00Z", "2026-03-01T12:00:00.123+02:00", "2026-02-30T00:00:00Z", "x"]
    ),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dictionaries(st.sampled_from(["a", "price"]), st.integers(0, 3), max_size=2),
    st.lists(st.integers(0, 3), max_size=2),
)
EVENTS = st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=8)


def pydantic_or_error(adapter: Any, data: Any) -> Any:
    try:
        return adapter.validate_python(data)
    except ValidationError:
        return ValidationError


@settings(max_examples=400, deadline=None)
@given(EVENTS)
def test_an_event_of_the_plain_shape_validates_as_pydantic_does(data: dict[str, Any]) -> None:
    fast = plain_event(data)
    if fast is not None:  # the fast path may step aside, never answer differently
        assert fast == pydantic_or_error(EVENT_ADAPTER, data)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(EVENTS, max_size=4),
    st.dictionaries(st.sampled_from(["context", "sentAt", "writeKey", "other"]), VALUES),
)
def test_a_batch_of_the_plain_shape_validates_as_pydantic_does(
    events: list[dict[str, Any]], shared: dict[str, Any]
) -> None:
    data = {"batch": events, **shared}
    fast = plain_batch(data)
    if fast is not None:
        assert fast == pydantic_or_error(BATCH_ADAPTER, data)


def test_what_clients_send_takes_the_fast_path() -> None:
    event = {
        "type": "track",
        "messageId": "m-1",
        "userId": "u-1",
        "event": "Order Completed",
        "properties": {"total": 42.5},
        "context": {"library": {"name": "analytics-python"}},
        "timestamp": "2026-03-01T12:00:00.000Z",
        "_metadata": {"bundled": []},
    }
    assert plain_batch({"batch": [event], "sentAt": "2026-03-01T12:00:01Z"}) is not None
    assert plain_event(event) == EVENT_ADAPTER.validate_python(event)


@pytest.mark.parametrize(
    "event",
    [
        {"userId": 42},  # pydantic makes it "42"
        {"userId": "u", "timestamp": 1700000000},  # pydantic words the refusal
        {"userId": "u", "properties": []},
        {"type": "nope", "userId": "u"},
    ],
)
def test_anything_else_is_left_to_pydantic(event: dict[str, Any]) -> None:
    assert plain_event(event) is None
    assert plain_batch({"batch": [event]}) is None


JSON = st.recursive(
    st.none() | st.integers(-(2**63), 2**63 - 1) | st.text(alphabet='{}[]"\\ab'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=20,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_nesting_read_from_the_bytes_is_the_depth_of_the_data(value: Any) -> None:
    # Brackets and escaped quotes inside strings do not count.
    assert nesting(orjson.dumps(value)) == depth(value)
