"""Outages the collector must live through without losing or dead-lettering an event.

A Redis that keeps nothing on disk comes back empty: the consumer sees its generation marker
gone and rebuilds the profiles from the event log before it goes on.

Real components: a private Redis (its own port, nothing on disk) stopped and started again
under the test, and the embedded queue's consumer lock held by someone else.
"""

from __future__ import annotations

import asyncio
import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from audience.api.app import create_app
from audience.config.settings import ProfileStoreSettings, Settings
from audience.realtime.runtime import Collector, build_consumer, queue_path
from audience.store.workspace import Workspace
from tests import procs
from tests.realtime.conftest import READ_KEY, WRITE_KEY, basic, free_port

pytestmark = pytest.mark.redis


@contextmanager
def private_redis(port: int, log: Path) -> Iterator[None]:
    """A Redis of this test's own, keeping nothing on disk (like the one in production may)."""
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(log.parent)]

    def answers(proc: Any) -> None:
        client = redis.Redis(port=port)
        procs.wait_for(lambda: _pings(client), proc, 10, what=f"redis on {port}")

    with procs.running(argv, log=log, ready=answers):
        yield


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


async def until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return check()


def run_app(collector: Collector, body: Callable[[httpx.AsyncClient], Any]) -> Any:
    app = create_app(collector)

    async def main() -> Any:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await body(client)

    return asyncio.run(main())


TRACK = {"userId": "u1", "event": "Order Completed", "properties": {"total": 10}}


def test_a_held_queue_lock_degrades_health_then_the_consumer_starts(workspace: Workspace) -> None:
    settings = Settings()
    collector = Collector(workspace, settings, build_consumer(workspace, settings))
    lock_path = queue_path(workspace).with_suffix(".consumer.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    holder = lock_path.open("ab")
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another consumer, as far as it knows

    async def body(client: httpx.AsyncClient) -> Any:
        accepted = await client.post("/v1/track", json=TRACK, headers=basic(WRITE_KEY))
        await until(lambda: collector.consumer_down is not None)
        degraded = (await client.get("/health")).json()
        applied_while_held = collector.consumer.stats.applied
        holder.close()  # the other consumer goes away
        recovered = await until(lambda: collector.consumer.stats.applied == 1, timeout=20)
        return accepted, degraded, applied_while_held, recovered, (await client.get("/health"))

    accepted, degraded, applied_while_held, recovered, health = run_app(collector, body)
    assert accepted.status_code == 200
    assert degraded["status"] == "degraded"
    assert "another consumer" in degraded["reason"] and "restarting" in degraded["reason"]
    assert applied_while_held == 0 and recovered
    assert health.json()["status"] == "ok"


def test_redis_down_pauses_consumption_and_profile_reads_answer_503(
    workspace: Workspace, tmp_path: Path
) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    settings = Settings(profiles=ProfileStoreSettings(url=url, prefix="outage"))
    log = tmp_path / "redis.log"
    seen: dict[str, Any] = {}

    with private_redis(port, log):
        collector = Collector(workspace, settings, build_consumer(workspace, settings))

        async def body(client: httpx.AsyncClient) -> Any:
            write, read = basic(WRITE_KEY), basic(READ_KEY)
            await client.post("/v1/track", json=TRACK, headers=write)
            await until(lambda: collector.consumer.stats.applied == 1)
            redis.Redis(port=port).shutdown(nosave=True)  # the outage
            seen["read"] = await client.get("/v1/profiles/u1", headers=read)
            seen["accepted"] = await client.post(
                "/v1/track", json=TRACK | {"messageId": "m2"}, headers=write
            )
            await until(lambda: collector.consumer.queue_status.paused is not None)
            seen["health"] = (await client.get("/health")).json()
            with private_redis(port, log):  # back, empty: rebuilt from the event log
                await until(lambda: collector.consumer.queue_status.paused is None, timeout=40)
                seen["status"] = collector.consumer.queue_status
                seen["profile"] = (await client.get("/v1/profiles/u1", headers=read)).json()

        run_app(collector, body)

    assert seen["read"].status_code == 503 and seen["read"].headers["retry-after"]
    assert "Redis" in seen["read"].json()["message"]
    assert seen["accepted"].status_code == 200
    assert seen["health"]["status"] == "degraded" and "paused" in seen["health"]["reason"]
    # Both orders are in the profile: the one Redis lost with its data (rebuilt from the event
    # log) and the one accepted during the outage (applied once, not dead-lettered).
    assert seen["profile"]["profile"]["counters"] == {"Order Completed": 2}
    assert seen["profile"]["profile"]["rfm"]["monetary"] == 20
    assert seen["status"].dead == 0 and seen["status"].crashes == 0
    assert seen["status"].retries >= 1 and seen["status"].paused is None
