"""Hostile and buggy client input over real HTTP (in-process app, embedded queue and store):
each case answers 4xx saying what, where and how to fix it (the pixel: its GIF), never 5xx;
nothing it sends can poison a profile, and a bad event never blocks the next one."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from pydantic import ValidationError

from audience.api.app import create_app
from audience.config.settings import ServerSettings, Settings, WebhookSource
from audience.realtime.eventlog import events_dir
from audience.realtime.inbound_webhooks import sign_standard
from audience.realtime.live_profile import ProfileRules, apply_event, merge, new_profile, view
from audience.realtime.live_segments import PredicateEvaluator
from audience.realtime.runtime import Collector, build_consumer, build_engine
from audience.realtime.stores.sqlite import SqliteProfileStore
from audience.store.workspace import Workspace
from tests.conftest import SECRET
from tests.realtime.conftest import READ_KEY, WRITE_KEY, basic

AUTH = basic(WRITE_KEY)
CRM = WebhookSource(secret=SECRET, type="track", user_id="id", event="=Changed")
Body = Callable[[httpx.AsyncClient, Collector], Coroutine[Any, Any, Any]]


def serve(workspace: Workspace, body: Body) -> Any:
    settings = Settings(server=ServerSettings(webhooks={"crm": CRM}))
    engine = build_engine(workspace, PredicateEvaluator([]))
    collector = Collector(workspace, settings, build_consumer(workspace, settings, engine=engine))
    app = create_app(collector)

    async def main() -> Any:
        async with app.router.lifespan_context(app):
            # raise_app_exceptions=False: a crash is the 500 a client would get, not a raise.
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await body(client, collector)

    return asyncio.run(main())


async def settled(collector: Collector, applied: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while collector.consumer.stats.applied < applied and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


def error(reply: httpx.Response) -> str:
    assert reply.headers["content-type"] == "application/json", reply.text
    message: str = reply.json()["message"]
    return message


def logged(workspace: Workspace) -> list[dict[str, Any]]:
    raw = b"".join(p.read_bytes() for p in sorted(events_dir(workspace).glob("events-*")))
    return [orjson.loads(line) for line in raw.splitlines()]


def nested(depth: int) -> Any:
    """Arrays nested ``depth`` levels deep."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def order(user: str, total: Any, **more: Any) -> dict[str, Any]:
    props = {"total": total, **more}
    return {"type": "track", "userId": user, "event": "Order Completed", "properties": props}


def test_amounts_out_of_bounds_are_refused_naming_the_field_and_never_poison(
    workspace: Workspace,
) -> None:
    good = [order("rich", 70), order("rich", 50)]

    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        refused = [
            await client.post("/v1/track", json=order("rich", 1e308), headers=AUTH),
            await client.post("/v1/track", json=order("rich", -1e308), headers=AUTH),
            await client.post(
                "/v1/batch", json={"batch": [*good, good[0], order("rich", 2e15)]}, headers=AUTH
            ),
            await client.post(
                "/v1/track",
                json=order("rich", 1, products=[{"price": 3}, {"price": 1e16}]),
                headers=AUTH,
            ),
            await client.post(
                "/v1/track", content=b'{"userId": "rich", "event": "e", "x": 1e400}', headers=AUTH
            ),
        ]
        accepted = await client.post("/v1/batch", json={"batch": good}, headers=AUTH)
        await settled(collector, 2)
        await asyncio.sleep(0.1)
        profile = await client.get("/v1/profiles/rich", headers=basic(READ_KEY))
        return refused, accepted, profile, collector.consumer.stats

    refused, accepted, profile, stats = serve(workspace, body)
    assert [r.status_code for r in refused] == [400] * 5
    messages = [error(r) for r in refused]
    assert messages[0].startswith("body.properties.total: 1e+308 is out of range")
    assert "within ±1e+15" in messages[0]
    assert messages[1].startswith("body.properties.total: -1e+308 is out of range")
    assert messages[2].startswith("batch[3].properties.total: 2e+15 is out of range")
    assert messages[3].startswith("body.properties.products[1].price: 1e+16 is out of range")
    assert "beyond the range of a 64-bit float" in messages[4]
    assert "line 1, column" in messages[4] and "send finite numbers" in messages[4]
    assert accepted.status_code == 200
    assert (stats.applied, stats.dead) == (2, 0)
    assert profile.status_code == 200
    assert profile.json()["profile"]["rfm"]["monetary"] == 120


def test_a_profile_whose_sum_overflowed_before_reads_and_updates(workspace: Workspace) -> None:
    """Profiles stored before the bounds could hold a sum that overflowed, stored as null."""

    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        await client.post("/v1/track", json=order("old", 10), headers=AUTH)
        await settled(collector, 1)
        store = collector.consumer.store
        assert isinstance(store, SqliteProfileStore)
        with sqlite3.connect(store.path) as con:
            (data,) = con.execute("SELECT data FROM profiles").fetchone()
            profile = orjson.loads(data)
            profile["rfm"].update(monetary=None, gross=None)
            profile["engagement"]["score"] = None
            con.execute("UPDATE profiles SET data = ?", (orjson.dumps(profile),))
        read_before = await client.get("/v1/profiles/old", headers=basic(READ_KEY))
        await client.post("/v1/track", json=order("old", 5), headers=AUTH)
        await client.post("/v1/page", json={"userId": "old"}, headers=AUTH)
        await settled(collector, 3)
        read_after = await client.get("/v1/profiles/old", headers=basic(READ_KEY))
        return read_before, read_after, collector.consumer.stats

    before, after, stats = serve(workspace, body)
    assert before.status_code == 200
    assert before.json()["profile"]["rfm"]["monetary"] == 0
    assert (stats.applied, stats.dead) == (3, 0)
    rfm = after.json()["profile"]["rfm"]
    assert (rfm["monetary"], rfm["gross"], rfm["frequency"]) == (5, 5, 2)


def test_implausible_times_are_recorded_at_the_time_received_and_flagged(
    workspace: Workspace,
) -> None:
    now = datetime.now(UTC)
    soon = (now + timedelta(hours=12)).isoformat()
    events = {
        "year-1 sentAt": {"userId": "t1", "sentAt": "0001-01-01T00:00:00Z", "timestamp": soon},
        "far future": {"userId": "t2", "timestamp": "2999-01-01T00:00:00Z"},
        "before 1970": {"userId": "t3", "timestamp": "1969-12-31T23:59:59Z"},
        "year 1 +05:00": {"userId": "t4", "timestamp": "0001-01-01T00:00:00+05:00"},
        "half a day ahead": {"userId": "t5", "timestamp": soon},
    }

    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        replies = [
            await client.post("/v1/page", json=event, headers=AUTH) for event in events.values()
        ]
        await settled(collector, len(events))
        await asyncio.sleep(0.1)
        profile = await client.get("/v1/profiles/t1", headers=basic(READ_KEY))
        return replies, profile

    replies, profile = serve(workspace, body)
    assert [r.status_code for r in replies] == [200] * len(events)
    by_user = {e["userId"]: e for e in logged(workspace)}
    for user in ("t1", "t2", "t3", "t4"):
        event = by_user[user]
        assert event["timestamp"] == event["receivedAt"], user
        assert (
            "recorded at the time received" in event["context"]["audience"]["timestamp_rejected"]
        ), user
    assert "after the time received" in by_user["t1"]["context"]["audience"]["timestamp_rejected"]
    assert by_user["t1"]["sentAt"] == "0001-01-01T00:00:00.000Z"
    assert "before 1970-01-01" in by_user["t3"]["context"]["audience"]["timestamp_rejected"]
    assert "context" not in by_user["t5"]
    assert by_user["t5"]["timestamp"] > by_user["t5"]["receivedAt"]
    last_seen = datetime.fromisoformat(profile.json()["profile"]["last_seen"])
    assert last_seen < now + timedelta(days=1)


def test_timestamp_bounds_are_settings(workspace: Workspace) -> None:
    server = ServerSettings(timestamp_floor="2000-01-01T00:00:00", timestamp_max_future_seconds=0)
    assert server.timestamp_floor == datetime(2000, 1, 1, tzinfo=UTC)
    from audience.realtime.events import parse_single
    from audience.realtime.input_checks import InputLimits

    limits = InputLimits.of(server)
    received = datetime(2026, 3, 1, tzinfo=UTC)
    early = parse_single(
        b'{"userId": "u", "timestamp": "1999-01-01T00:00:00Z"}', "page", received, limits
    )
    late = parse_single(
        b'{"userId": "u", "timestamp": "2026-03-01T00:00:01Z"}', "page", received, limits
    )
    assert "before 2000-01-01T00:00:00.000Z" in early["context"]["audience"]["timestamp_rejected"]
    assert "more than 0 s after" in late["context"]["audience"]["timestamp_rejected"]


@pytest.mark.parametrize(
    ("value", "what"),
    [
        (True, "a boolean"),
        (False, "a boolean"),
        ({"id": 1}, "an object"),
        ([1], "an array"),
        (4.2, "the number 4.2"),
    ],
)
def test_ids_that_are_not_strings_or_whole_numbers_are_refused(value: Any, what: str) -> None:
    from audience.realtime.events import parse_batch, parse_single

    received = datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(Exception, match=rf"^body\.userId: an id is a string .*not {what};"):
        parse_single(orjson.dumps({"userId": value, "event": "e"}), "track", received)
    batch = {
        "batch": [{"type": "page", "userId": "u"}] * 2 + [{"type": "page", "anonymousId": value}]
    }
    with pytest.raises(
        Exception, match=r"^batch\[2\]\.anonymousId: .*send the id as a JSON string"
    ):
        parse_batch(orjson.dumps(batch), received)


def test_ids_over_http_whole_numbers_become_decimal_text(workspace: Workspace) -> None:
    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        replies = [
            await client.post("/v1/page", json={"userId": True}, headers=AUTH),
            await client.post("/v1/page", content=b'{"userId": 42}', headers=AUTH),
            await client.post("/v1/page", content=b'{"userId": 42.0}', headers=AUTH),
            await client.post("/v1/page", content=b'{"anonymousId": -7}', headers=AUTH),
        ]
        await settled(collector, 3)
        return replies, await collector.profile("42")

    replies, profile = serve(workspace, body)
    assert [r.status_code for r in replies] == [400, 200, 200, 200]
    assert error(replies[0]).startswith("body.userId: an id is a string")
    assert profile["identities"]["user_id"] == ["42"] and profile["events_total"] == 2
    assert [e.get("userId", e.get("anonymousId")) for e in logged(workspace)] == ["42", "42", "-7"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1700000000, "a time is a string, not the number 1700000000"),
        ("yesterday", "'yesterday' is not an ISO 8601 time"),
        ("2026-13-01T00:00:00Z", "is not a valid time (month must be in 1..12)"),
        ("2026-01-01T00:00:00+24:00", "offset +24:00 is not between"),
        ("2026-01-01", "is not an ISO 8601 time"),
    ],
)
def test_times_that_are_not_iso_8601_are_refused(value: Any, message: str) -> None:
    from audience.errors import RequestRejectedError
    from audience.realtime.events import parse_single

    body = orjson.dumps({"userId": "u", "event": "e", "timestamp": value})
    with pytest.raises(RequestRejectedError, match=r"^body\.timestamp: ") as caught:
        parse_single(body, "track", datetime(2026, 3, 1, tzinfo=UTC))
    assert message in str(caught.value) and "such as 2026-03-01T12:00:00.000Z" in str(caught.value)


def test_times_iso_8601_forms_clients_send_are_read() -> None:
    from audience.realtime.events import parse_single

    received = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for text, expected in [
        ("2026-03-01T10:00:00.123456789Z", "2026-03-01T10:00:00.123Z"),
        ("2026-03-01T10:00:00", "2026-03-01T10:00:00.000Z"),  # no offset: UTC
        ("2026-03-01t11:00:00+01:00", "2026-03-01T10:00:00.000Z"),
        ("2026-03-01T09:59:60Z", "2026-03-01T10:00:00.000Z"),  # a leap second
    ]:
        body = orjson.dumps({"userId": "u", "timestamp": text})
        assert parse_single(body, "page", received)["timestamp"] == expected, text


def _pixel_data(payload: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode()


def deep(depth: int) -> bytes:
    """JSON arrays nested ``depth`` levels deep (orjson writes no more than 254)."""
    return b"[" * depth + b"]" * depth


def test_nesting_deeper_than_storable_is_refused_on_every_route(workspace: Workspace) -> None:
    def signed(body: bytes) -> dict[str, str]:
        stamp = int(time.time())
        return {
            "webhook-id": "m1",
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign_standard(SECRET, "m1", stamp, body),
        }

    def pixel(payload: bytes) -> dict[str, str]:
        return {"data": base64.urlsafe_b64encode(payload).decode()}

    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        found: dict[int, list[int]] = {}
        messages: list[str] = []
        for depth in (64, 65, 255, 300, 1024, 1100):
            # The body is level 1, properties level 2, x holds the rest; a batch adds 2 levels.
            x = deep(depth - 2)
            track = b'{"userId": "deep", "event": "e", "properties": {"x": ' + x + b"}}"
            batch = (
                b'{"batch": [{"type": "track", "userId": "d", "event": "e", "properties": {"x": '
            )
            batch += deep(depth - 4) + b"}}]}"
            hook = b'{"id": "deep", "x": ' + deep(depth - 1) + b"}"
            data = b'{"writeKey": "' + WRITE_KEY.encode() + b'", ' + track[1:]
            replies = [
                await client.post("/v1/track", content=track, headers=AUTH),
                await client.post("/v1/batch", content=batch, headers=AUTH),
                await client.post("/v1/webhooks/crm", content=hook, headers=signed(hook)),
            ]
            gif = await client.get("/v1/pixel/track", params=pixel(data))
            found[depth] = [r.status_code for r in replies]
            found[depth].append(int(gif.headers["x-audience-accepted"]))
            if depth == 300:
                messages = [error(r) for r in replies] + [gif.headers["x-audience-error"]]
        return found, messages

    found, (track, batch, hook, gif) = serve(workspace, body)
    assert found[64] == [200, 200, 200, 1]
    for depth in (65, 255, 300, 1024, 1100):
        assert found[depth] == [400, 400, 400, 0], depth
    assert track.startswith("body.properties.x[0][0][0][0][0][0]… (56 levels more): ")
    assert track.endswith("nested more than 64 levels deep; flatten the data (the body is level 1)")
    assert batch.startswith("batch[0].properties.x[0][0]")
    assert hook.startswith("body.x[0][0]")
    assert gif.startswith("data.properties.x[0][0]")


def test_the_pixel_answers_its_gif_to_a_write_key_that_is_not_text(workspace: Workspace) -> None:
    payloads = [
        {"writeKey": 5, "userId": "p", "event": "E"},
        {"writeKey": {"key": WRITE_KEY}, "userId": "p", "event": "E"},
        {"writeKey": [WRITE_KEY], "userId": "p", "event": "E"},
        {"writeKey": True, "userId": "p", "event": "E"},
        {"writeKey": WRITE_KEY, "userId": True, "event": "E"},
        {"writeKey": WRITE_KEY, "userId": "p", "event": "E", "properties": {"a\r\nb": nested(70)}},
    ]

    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        return [
            await client.get("/v1/pixel/track", params={"data": _pixel_data(p)}) for p in payloads
        ]

    replies = serve(workspace, body)
    for reply in replies:
        assert reply.status_code == 200 and reply.content.startswith(b"GIF89a")
        assert reply.headers["content-type"] == "image/gif"
        assert reply.headers["x-audience-accepted"] == "0"
    errors = [r.headers["x-audience-error"] for r in replies]
    assert errors[0] == "the pixel's data.writeKey must be a JSON string holding a write key"
    assert errors[1] == errors[2] == errors[3] == errors[0]
    assert errors[4].startswith("data.userId: an id is a string")
    assert errors[5].startswith("data.properties.a??b[0]")


@pytest.mark.parametrize(
    ("stamp", "status", "message"),
    [
        ("²".encode("latin-1"), 400, "is not a time; send whole seconds since 1970-01-01 UTC"),
        ("¹²³".encode("latin-1"), 400, "in ASCII digits"),
        (b"9" * 400, 400, "at most 12"),
        (b"-5", 400, "is not a time"),
        (b"1e9", 400, "is not a time"),
        (b"1", 401, "more than 300s away from the server's clock"),
        (b"", 401, "missing webhook-id, webhook-timestamp or webhook-signature"),
    ],
)
def test_webhook_timestamps_are_ascii_digits_within_range(
    workspace: Workspace, stamp: bytes, status: int, message: str
) -> None:
    headers = {"webhook-id": "m", "webhook-timestamp": stamp, "webhook-signature": "v1,eA=="}

    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        return await client.post("/v1/webhooks/crm", content=b'{"id": "c"}', headers=headers)

    reply = serve(workspace, body)
    assert reply.status_code == status
    assert message in error(reply)


def test_a_whsec_secret_that_is_not_base64_refuses_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUDIENCE_SERVER__WEBHOOKS__CRM__SECRET", "whsec_!!!!notbase64!!!!")
    with pytest.raises(ValidationError) as caught:
        Settings()
    (problem,) = caught.value.errors(include_input=False)
    assert problem["loc"] == ("server", "webhooks", "crm", "secret")
    assert "not base64" in problem["msg"] and "without the 'whsec_' prefix" in problem["msg"]
    assert "!!!!" not in problem["msg"]
    with pytest.raises(ValidationError, match="not base64"):
        WebhookSource(secret="whsec_")
    assert WebhookSource(secret=SECRET).secret == SECRET
    assert WebhookSource(secret="!!!! a plain secret !!!!").secret.startswith("!!!!")


def test_profile_updates_are_total() -> None:
    """Whatever a queued event holds (even one that never met the collector), it folds in."""
    rules = ProfileRules()
    at = "2026-03-01T12:00:00.000Z"
    profile = new_profile("user_id:u")
    for n, props in enumerate(
        (
            {"total": 1e308},
            {"total": 1e308},
            {"total": "1e308", "discount": "inf"},
            {"total": "nan"},
            {"total": True},
            {"total": [1]},
            {"total": 10**400},
            {"total": 1e15, "discount": -1e15},
            {"total": "12.5"},
        )
    ):
        event: Any = {
            "type": "track",
            "messageId": f"m{n}",
            "userId": "u",
            "event": "Order Completed",
            "properties": props,
            "timestamp": at,
            "receivedAt": at,
        }
        apply_event(profile, event, rules)
    odd_context: Any = {
        "type": "page",
        "messageId": "m2",
        "userId": "u",
        "timestamp": at,
        "receivedAt": at,
        "context": {"device": "phone", "consent": "yes", "traits": 3},
        "traits": {"consent_email": True},
    }
    apply_event(profile, odd_context, rules)
    rfm = profile["rfm"]
    assert rfm["frequency"] == 9
    assert (rfm["monetary"], rfm["discount"], rfm["gross"]) == (1e15 + 12.5, 1e15, 2e15 + 12.5)
    legacy: Any = orjson.loads(orjson.dumps(profile))
    legacy["rfm"]["monetary"] = None
    legacy["engagement"]["visits"] = None
    del legacy["live_orders"]  # stored before orders were kept by id
    shown = view(legacy, datetime(2026, 3, 2, tzinfo=UTC), rules)
    assert shown["rfm"]["monetary"] == 0 and shown["features"]["avg_basket"] == 0
    assert legacy["rfm"]["monetary"] is None  # a view repairs a copy
    merge(profile, legacy, rules)
    assert profile["rfm"]["monetary"] == 1e15 + 12.5
    assert profile["rfm"]["frequency"] == 18


def test_webhook_times_given_as_numbers_since_1970_are_read_as_seconds_or_milliseconds() -> None:
    from audience.realtime.inbound_webhooks import epoch_time

    assert epoch_time(1767225600) == "2026-01-01T00:00:00.000Z"
    assert epoch_time(1767225600000) == "2026-01-01T00:00:00.000Z"
    assert epoch_time("2026-01-01T00:00:00Z") == "2026-01-01T00:00:00Z"
    assert epoch_time(True) is True  # left for validation to refuse
    assert epoch_time(1e300) == 1e300
