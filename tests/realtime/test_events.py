"""Parsing and normalising Segment events: limits, locations of errors, skew correction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from audience.errors import PayloadTooLargeError, RequestRejectedError
from audience.realtime.events import iso, merge_context, parse_batch, parse_single
from audience.realtime.input_checks import InputLimits

RECEIVED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
LIMIT = InputLimits(max_event_bytes=32 * 1024)


def test_clock_skew_is_corrected_from_sent_at() -> None:
    # The device's clock is 2 hours ahead; the event happened 30 s before it was sent.
    device_sent = RECEIVED + timedelta(hours=2)
    body = orjson.dumps(
        {
            "userId": "u1",
            "event": "Signed Up",
            "timestamp": iso(device_sent - timedelta(seconds=30)),
            "sentAt": iso(device_sent),
        }
    )
    event = parse_single(body, "track", RECEIVED, LIMIT)
    assert event["timestamp"] == iso(RECEIVED - timedelta(seconds=30))
    assert event["originalTimestamp"] == iso(device_sent - timedelta(seconds=30))
    assert event["receivedAt"] == iso(RECEIVED)


def test_without_sent_at_the_client_timestamp_stands_and_without_any_it_is_received_at() -> None:
    stamp = RECEIVED - timedelta(days=1)
    kept = parse_single(
        orjson.dumps({"userId": "u", "event": "e", "timestamp": iso(stamp)}),
        "track",
        RECEIVED,
        LIMIT,
    )
    assert kept["timestamp"] == iso(stamp)
    now = parse_single(b'{"anonymousId": "a", "event": "e"}', "track", RECEIVED, LIMIT)
    assert now["timestamp"] == iso(RECEIVED)


def test_batch_context_is_merged_and_the_event_wins() -> None:
    body = orjson.dumps(
        {
            "sentAt": iso(RECEIVED),
            "context": {"library": {"name": "lib", "version": "1"}, "ip": "1.2.3.4"},
            "batch": [
                {
                    "type": "track",
                    "userId": "u",
                    "event": "A",
                    "context": {"library": {"version": "2"}},
                },
                {"type": "page", "anonymousId": 42, "name": "Home"},
            ],
        }
    )
    first, second = parse_batch(body, RECEIVED, LIMIT)
    assert first["context"] == {"library": {"name": "lib", "version": "2"}, "ip": "1.2.3.4"}
    assert second["context"] == {"library": {"name": "lib", "version": "1"}, "ip": "1.2.3.4"}
    assert second["anonymousId"] == "42" and second["type"] == "page" and second["name"] == "Home"
    assert first["messageId"] != second["messageId"]


def test_merge_context_keeps_both_sides_at_depth() -> None:
    assert merge_context({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}, "d": 4}) == {
        "a": {"b": 1, "c": 3},
        "d": 4,
    }


def test_malformed_json_says_where() -> None:
    with pytest.raises(RequestRejectedError, match=r"line 2, column \d+"):
        parse_single(b'{"userId": "u",\n "event": }', "track", RECEIVED, LIMIT)


def test_a_bad_field_in_a_batch_is_located() -> None:
    body = orjson.dumps(
        {
            "batch": [
                {"type": "track", "userId": "u", "event": "e"},
                {"type": "track", "userId": "u", "event": "e", "properties": 3},
            ]
        }
    )
    with pytest.raises(RequestRejectedError, match=r"batch\[1\]\.properties"):
        parse_batch(body, RECEIVED, LIMIT)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"event": "e"}', "userId or an anonymousId"),
        (b'{"userId": "u"}', "needs event"),
        (b"[1, 2]", "expected a JSON object"),
    ],
)
def test_incomplete_track_events_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(RequestRejectedError, match=message):
        parse_single(body, "track", RECEIVED, LIMIT)


def test_alias_needs_previous_id_and_batch_items_need_a_type() -> None:
    with pytest.raises(RequestRejectedError, match="previousId"):
        parse_single(b'{"userId": "u"}', "alias", RECEIVED, LIMIT)
    with pytest.raises(RequestRejectedError, match=r"batch\[0\]\.type is missing"):
        parse_batch(b'{"batch": [{"userId": "u"}]}', RECEIVED, LIMIT)


def test_an_event_over_32_kb_is_too_large_alone_or_in_a_batch() -> None:
    big = {
        "type": "track",
        "userId": "u",
        "event": "e",
        "properties": {"x": "y" * LIMIT.max_event_bytes},
    }
    with pytest.raises(PayloadTooLargeError, match="32768-byte limit"):
        parse_single(orjson.dumps(big), "track", RECEIVED, LIMIT)
    with pytest.raises(PayloadTooLargeError, match=r"batch\[1\]"):
        parse_batch(orjson.dumps({"batch": [{**big, "properties": {}}, big]}), RECEIVED, LIMIT)


def test_times_out_of_range_after_correction_are_recorded_at_the_time_received() -> None:
    body = b'{"userId": "u", "sentAt": "5351-07-22T13:47:33+02:08", "timestamp": "0534-02-11T03:21:47+10:27"}'
    event = parse_single(body, "page", RECEIVED, LIMIT)
    assert event["timestamp"] == iso(RECEIVED)
    assert "out of range" in event["context"]["audience"]["timestamp_rejected"]
    early = parse_single(
        b'{"userId": "u", "timestamp": "0001-01-01T00:00:00+05:00"}', "page", RECEIVED, LIMIT
    )
    assert early["timestamp"] == iso(RECEIVED)
    assert "before 1970-01-01T00:00:00.000Z" in early["context"]["audience"]["timestamp_rejected"]
    assert early["originalTimestamp"] == "0001-01-01T00:00:00.000+05:00"
