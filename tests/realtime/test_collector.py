"""The collector over HTTP (in-process, embedded queue): auth, limits, errors, pixel, webhooks,
profiles, and that a refused request never reaches the queue."""

from __future__ import annotations

import asyncio
import base64
import gzip
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import orjson

from audience.api.app import create_app
from audience.config.settings import ServerSettings, Settings, WebhookSource
from audience.realtime.eventlog import events_dir
from audience.realtime.inbound_webhooks import sign_hex, sign_standard
from audience.realtime.live_segments import PredicateEvaluator, PredicateRule
from audience.realtime.runtime import Collector, build_consumer, build_engine
from audience.store.workspace import Workspace
from tests.realtime.conftest import READ_KEY, WRITE_KEY, basic

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
CRM = WebhookSource(
    secret=SECRET,
    type="identify",
    user_id="contact.id",
    traits={"email": "contact.email", "plan": "contact.plan"},
)
SHOP = WebhookSource(
    secret="a-long-shared-secret-for-shop",
    scheme="hex",
    signature_header="x-shop-signature",
    type="track",
    items="orders",
    event="=Order Completed",
    user_id="customer",
    properties={"total": "amount"},
    message_id="id",
)
VIP = PredicateRule("vip", lambda p: p["rfm"]["monetary"] >= 100, "spent 100 or more")
Body = Callable[[httpx.AsyncClient, Collector], Coroutine[Any, Any, Any]]


def serve(workspace: Workspace, body: Body) -> Any:
    settings = Settings(server=ServerSettings(webhooks={"crm": CRM, "shop": SHOP}))
    engine = build_engine(workspace, PredicateEvaluator([VIP]))
    collector = Collector(workspace, settings, build_consumer(workspace, settings, engine=engine))
    app = create_app(collector)

    async def main() -> Any:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await body(client, collector)

    return asyncio.run(main())


async def settled(collector: Collector, applied: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while collector.consumer.stats.applied < applied and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


def test_events_land_in_the_profile_with_segments_and_why(workspace: Workspace) -> None:
    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        auth = basic(WRITE_KEY)
        batch = {
            "batch": [
                {
                    "type": "track",
                    "userId": "u1",
                    "event": "Order Completed",
                    "properties": {"total": 70},
                },
                {
                    "type": "track",
                    "userId": "u1",
                    "event": "Order Completed",
                    "properties": {"total": 50},
                },
                {"type": "page", "userId": "u1", "name": "Home"},
            ]
        }
        replies = [
            await client.post("/v1/batch", json=batch, headers=auth),
            await client.post(
                "/v1/identify", json={"userId": "u1", "traits": {"plan": "pro"}}, headers=auth
            ),
        ]
        await settled(collector, 4)
        return replies, await client.get("/v1/profiles/u1", headers=basic(READ_KEY))

    replies, profile = serve(workspace, body)
    assert [r.status_code for r in replies] == [200, 200]
    assert replies[0].json() == {"success": True, "events": 3}
    data = profile.json()
    assert data["profile"]["counters"] == {"Order Completed": 2}
    assert data["profile"]["traits"] == {"plan": "pro"}
    assert data["segments"][0]["segment_id"] == "vip"
    assert data["segments"][0]["why"] == "spent 100 or more"


def test_refused_requests_never_reach_the_queue(workspace: Workspace) -> None:
    big = {"userId": "u", "event": "e", "properties": {"blob": "x" * 33_000}}
    huge_batch = {
        "batch": [
            {"type": "track", "userId": "u", "event": "e", "properties": {"blob": "x" * 20_000}}
        ]
        * 30
    }

    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        ok, wrong = basic(WRITE_KEY), basic("not-a-key")
        replies = {
            "missing key": await client.post("/v1/track", json={"userId": "u", "event": "e"}),
            "wrong key": await client.post(
                "/v1/track", json={"userId": "u", "event": "e"}, headers=wrong
            ),
            "event > 32 KB": await client.post("/v1/track", json=big, headers=ok),
            "batch > 500 KB": await client.post("/v1/batch", json=huge_batch, headers=ok),
            "malformed": await client.post(
                "/v1/track", content=b'{"userId": "u", "event": ', headers=ok
            ),
            "no identity": await client.post("/v1/track", json={"event": "e"}, headers=ok),
        }
        sentinel = await client.post("/v1/track", json={"userId": "s", "event": "ok"}, headers=ok)
        await settled(collector, 1)
        await asyncio.sleep(0.2)
        return replies, sentinel, collector.consumer.stats

    replies, sentinel, stats = serve(workspace, body)
    status = {name: r.status_code for name, r in replies.items()}
    assert status == {
        "missing key": 401,
        "wrong key": 401,
        "event > 32 KB": 413,
        "batch > 500 KB": 413,
        "malformed": 400,
        "no identity": 400,
    }
    assert {name: r.json()["code"] for name, r in replies.items()} == {
        "missing key": "unauthorized",
        "wrong key": "unauthorized",
        "event > 32 KB": "payload_too_large",
        "batch > 500 KB": "payload_too_large",
        "malformed": "invalid_request",
        "no identity": "invalid_request",
    }
    assert all(r.json()["success"] is False for r in replies.values())
    assert "line 1, column" in replies["malformed"].json()["message"]
    assert "32768-byte limit" in replies["event > 32 KB"].json()["message"]
    assert replies["missing key"].headers["www-authenticate"].startswith("Basic")
    assert sentinel.status_code == 200
    assert (stats.applied, stats.dead, stats.duplicates) == (1, 0, 0)
    logged = b"".join(p.read_bytes() for p in events_dir(workspace).glob("events-*"))
    assert [orjson.loads(line)["userId"] for line in logged.splitlines()] == ["s"]


def test_gzip_bodies_and_write_key_in_the_body_are_accepted(workspace: Workspace) -> None:
    payload = orjson.dumps(
        {"writeKey": WRITE_KEY, "batch": [{"type": "track", "anonymousId": "z", "event": "Zipped"}]}
    )

    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        reply = await client.post(
            "/v1/batch", content=gzip.compress(payload), headers={"Content-Encoding": "gzip"}
        )
        await settled(collector, 1)
        return reply, await collector.profile("z")

    reply, profile = serve(workspace, body)
    assert reply.status_code == 200 and profile["counters"] == {"Zipped": 1}


def test_the_pixel_always_answers_an_uncacheable_gif(workspace: Workspace) -> None:
    good = (
        base64.urlsafe_b64encode(
            orjson.dumps({"writeKey": WRITE_KEY, "userId": "p1", "event": "Email Opened"})
        )
        .decode()
        .rstrip("=")
    )
    bad_key = base64.b64encode(orjson.dumps({"writeKey": "nope", "userId": "p1", "event": "E"}))

    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        replies = [
            await client.get("/v1/pixel/track", params={"data": d})
            for d in (good, bad_key.decode(), "%%%not base64")
        ]
        replies.append(await client.get("/v1/pixel/track"))
        await settled(collector, 1)
        await asyncio.sleep(0.1)
        return replies, await collector.profile("p1"), collector.consumer.stats.applied

    replies, profile, applied = serve(workspace, body)
    for reply in replies:
        assert reply.status_code == 200 and reply.content.startswith(b"GIF89a")
        assert reply.headers["content-type"] == "image/gif"
        assert "no-store" in reply.headers["cache-control"]
    assert [r.headers["x-audience-accepted"] for r in replies] == ["1", "0", "0", "0"]
    assert applied == 1 and profile["counters"] == {"Email Opened": 1}


def test_signed_webhooks_become_events_and_a_resend_changes_nothing(workspace: Workspace) -> None:
    crm_body = orjson.dumps({"contact": {"id": "c7", "email": "c7@x.fr", "plan": "gold"}})
    stamp = int(time.time())
    crm_headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign_standard(SECRET, "msg_1", stamp, crm_body),
    }
    shop_body = orjson.dumps(
        {
            "orders": [
                {"id": "o1", "customer": "c7", "amount": 80},
                {"id": "o2", "customer": "c7", "amount": 30},
            ]
        }
    )
    shop_headers = {"x-shop-signature": sign_hex(SHOP.secret, shop_body)}

    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        replies = [
            await client.post("/v1/webhooks/crm", content=crm_body, headers=crm_headers),
            await client.post("/v1/webhooks/crm", content=crm_body, headers=crm_headers),
            await client.post("/v1/webhooks/shop", content=shop_body, headers=shop_headers),
            await client.post(
                "/v1/webhooks/crm",
                content=crm_body,
                headers={**crm_headers, "webhook-signature": "v1,Zm9v"},
            ),
            await client.post("/v1/webhooks/shop", content=shop_body + b" ", headers=shop_headers),
            await client.post("/v1/webhooks/nobody", content=b"{}"),
        ]
        await settled(collector, 3)
        await asyncio.sleep(0.2)
        return replies, await collector.profile("c7"), collector.consumer.stats

    replies, profile, stats = serve(workspace, body)
    assert [r.status_code for r in replies] == [200, 200, 200, 401, 401, 404]
    assert profile["traits"] == {"email": "c7@x.fr", "plan": "gold"}
    assert profile["rfm"]["monetary"] == 110 and profile["counters"] == {"Order Completed": 2}
    assert (stats.applied, stats.duplicates) == (3, 1)
    assert "vip" in profile["segments"]


def test_profiles_need_a_read_key_and_unknown_ids_are_404(workspace: Workspace) -> None:
    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        return [
            await client.get("/v1/profiles/nobody", headers=basic(READ_KEY)),
            await client.get("/v1/profiles/nobody", headers=basic(WRITE_KEY)),
        ]

    missing, wrong_key = serve(workspace, body)
    assert missing.status_code == 404 and "nobody" in missing.json()["message"]
    assert wrong_key.status_code == 401


def test_openapi_publishes_stable_operation_ids(workspace: Workspace) -> None:
    async def body(client: httpx.AsyncClient, collector: Collector) -> Any:
        return (await client.get("/openapi.json")).json()

    schema = serve(workspace, body)
    ids = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert ids == {
        "track",
        "identify",
        "page",
        "screen",
        "group",
        "alias",
        "batch",
        "pixel_track",
        "webhook_receive",
        "profile_get",
        "experiment_assignment_get",
        "health",
        "regulation_create",
        "regulation_get",
    }
    batch = schema["paths"]["/v1/batch"]["post"]
    assert batch["security"] == [{"writeKey": []}]
    ref = batch["requestBody"]["content"]["application/json"]["schema"]["properties"]["batch"]
    assert ref["items"]["allOf"][0]["$ref"] == "#/components/schemas/SegmentEvent"
    assert "SegmentEvent" in schema["components"]["schemas"]
