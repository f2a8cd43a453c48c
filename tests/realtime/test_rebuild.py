"""Live profiles rebuilt from the event log: by the consumer when its store lost its data, and
by ``audience publish --rebuild``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from audience.api.app import create_app
from audience.cli import app
from audience.config.settings import Settings
from audience.realtime.engine import LiveEngine
from audience.realtime.eventlog import EventLog
from audience.realtime.events import iso
from audience.realtime.queue.embedded import hold_consumer_lock
from audience.realtime.rebuild import CHUNK_EVENTS, REBUILDING, ensure_generation
from audience.realtime.runtime import Collector, build_consumer, queue_path, realtime_dir
from audience.realtime.stores import ProfileStore
from audience.realtime.stores.redis import RedisProfileStore
from audience.realtime.stores.sqlite import SqliteProfileStore
from audience.store.clock import SYSTEM_CLOCK
from audience.store.workspace import Workspace
from tests.realtime.conftest import READ_KEY, WRITE_KEY, basic

ORDERS = [
    {"type": "identify", "userId": "u1", "traits": {"email": "a@b.fr"}},
    {"type": "track", "userId": "u1", "event": "Order Completed", "properties": {"total": 30}},
    {"type": "track", "anonymousId": "a9", "event": "Product Viewed"},
    {"type": "group", "userId": "u1", "groupId": "g1", "traits": {"name": "Acme"}},
    {"type": "track", "userId": "u1", "event": "Order Completed", "properties": {"total": 12}},
]
ORDERS = [{**event, "messageId": f"m{i}"} for i, event in enumerate(ORDERS)]


def serve_events(workspace: Workspace) -> dict[str, Any]:
    """Send the events through a real collector, wait until applied; the profile of u1."""
    settings = Settings()
    collector = Collector(workspace, settings, build_consumer(workspace, settings))
    api = create_app(collector)

    async def main() -> dict[str, Any]:
        async with api.router.lifespan_context(api):
            transport = httpx.ASGITransport(app=api)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                await client.post("/v1/batch", json={"batch": ORDERS}, headers=basic(WRITE_KEY))
                deadline = time.monotonic() + 10
                while collector.consumer.stats.applied < 5 and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                reply = await client.get("/v1/profiles/u1", headers=basic(READ_KEY))
                return dict(reply.json()["profile"])

    return asyncio.run(main())


def stored(workspace: Workspace, identifier: str) -> Any:
    async def read() -> Any:
        store = SqliteProfileStore(realtime_dir(workspace) / "profiles.sqlite", 1)
        await store.start()
        try:
            return await store.get(identifier), await store.generation()
        finally:
            await store.close()

    return asyncio.run(read())


KEPT = ("identities", "traits", "counters", "event_types", "events_total", "rfm", "groups")


def kept(profile: dict[str, Any]) -> dict[str, Any]:
    """What the events made of a profile (not what a view adds as of now: recency)."""
    out = {k: profile[k] for k in KEPT}
    out["rfm"] = {k: v for k, v in out["rfm"].items() if k != "recency_days"}
    return out


def test_a_consumer_rebuilds_a_store_that_lost_its_data(workspace: Workspace) -> None:
    before = serve_events(workspace)
    _, generation = stored(workspace, "u1")
    (realtime_dir(workspace) / "profiles.sqlite").unlink()  # the store is lost
    after = serve_events(workspace)  # the client resends the same events: duplicates now
    rebuilt, new_generation = stored(workspace, "u1")
    assert kept(rebuilt) == kept(before) == kept(after)
    assert rebuilt["groups"] == {"g1": {"name": "Acme"}}
    assert new_generation and new_generation != generation


def test_publish_rebuild_replays_the_log_and_refuses_while_a_consumer_runs(
    workspace: Workspace,
) -> None:
    before = serve_events(workspace)
    (realtime_dir(workspace) / "profiles.sqlite").unlink()
    ws = ["-w", str(workspace.root)]
    held = hold_consumer_lock(queue_path(workspace))
    refused = CliRunner().invoke(app, ["publish", "--rebuild", *ws])
    held.close()
    assert refused.exit_code == 75 and "another consumer" in refused.stderr
    result = CliRunner().invoke(app, ["publish", "--rebuild", "--json", *ws])
    assert result.exit_code == 0, result.stderr
    assert '"applied": 5' in result.stdout and '"rejected": 0' in result.stdout
    rebuilt, _ = stored(workspace, "u1")
    assert kept(rebuilt) == kept(before)
    assert stored(workspace, "a9")[0]["counters"] == {"Product Viewed": 1}


StoreFactory = Callable[[], ProfileStore]


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    if request.param == "sqlite":
        return lambda: SqliteProfileStore(tmp_path / "profiles.sqlite", dedupe_days=1)
    prefix = request.getfixturevalue("redis_prefix")
    url = request.getfixturevalue("redis_url")
    return lambda: RedisProfileStore(url, prefix, dedupe_days=1)


def ticks(start: int, stop: int) -> list[dict[str, Any]]:
    now = iso(SYSTEM_CLOCK.now())
    return [
        {"type": "track", "userId": "u1", "event": "Tick", "messageId": f"t{i}", "timestamp": now}
        for i in range(start, stop)
    ]


def test_a_rebuild_reads_a_log_file_sealed_while_it_runs(
    make_store: StoreFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The consumer's rotation task seals its ``.part`` file while the rebuild, in the same
    consumer, replays the files before it: the rebuild reads the sealed file instead."""
    directory = tmp_path / "events"

    async def main() -> tuple[str, Any, str | None]:
        log = EventLog(directory)
        await log.append(ticks(0, CHUNK_EVENTS + 5))
        await log.seal()
        await log.append(ticks(CHUNK_EVENTS + 5, CHUNK_EVENTS + 10))  # .part, its writer alive
        store = make_store()
        await store.start()
        apply = store.apply

        async def rotating(*args: Any, **kwargs: Any) -> Any:
            await log.seal()  # what rotate_if_due does once the file is max_seconds old
            return await apply(*args, **kwargs)

        monkeypatch.setattr(store, "apply", rotating)
        try:
            generation = await ensure_generation(store, LiveEngine(), directory)
            profile = await store.get("u1")
            assert profile is not None
            return generation, profile["counters"], await store.generation()
        finally:
            await store.close()
            await log.close()

    generation, counters, marker = asyncio.run(main())
    assert counters == {"Tick": CHUNK_EVENTS + 10}
    assert marker == generation and not generation.startswith(REBUILDING)


def test_a_failed_rebuild_gives_back_its_claim(
    make_store: StoreFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Otherwise every consumer, this one included, waits for ever on a claim no one holds."""
    directory = tmp_path / "events"

    async def main() -> tuple[str | None, Any]:
        log = EventLog(directory)
        await log.append(ticks(0, 10))
        await log.close()
        store = make_store()
        await store.start()
        apply = store.apply

        async def crashing(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("the engine crashed")

        try:
            monkeypatch.setattr(store, "apply", crashing)
            with pytest.raises(RuntimeError, match="the engine crashed"):
                await ensure_generation(store, LiveEngine(), directory)
            after_failure = await store.generation()
            monkeypatch.setattr(store, "apply", apply)
            await asyncio.wait_for(ensure_generation(store, LiveEngine(), directory), 10)
            profile = await store.get("u1")
            assert profile is not None
            return after_failure, profile["counters"]
        finally:
            await store.close()

    after_failure, counters = asyncio.run(main())
    assert after_failure is None
    assert counters == {"Tick": 10}


def test_a_claim_is_given_back_only_by_its_holder(make_store: StoreFactory) -> None:
    async def main() -> tuple[bool, str | None, bool, str | None]:
        store = make_store()
        await store.start()
        try:
            await store.set_generation(REBUILDING + "mine")
            other = await store.release_generation(REBUILDING + "theirs")
            kept = await store.generation()
            mine = await store.release_generation(REBUILDING + "mine")
            return other, kept, mine, await store.generation()
        finally:
            await store.close()

    assert asyncio.run(main()) == (False, REBUILDING + "mine", True, None)


def test_a_claim_of_a_consumer_that_died_expires_and_a_live_one_makes_others_wait(
    workspace: Workspace,
) -> None:
    import pytest

    from audience.errors import TransientError
    from audience.realtime.eventlog import events_dir
    from audience.realtime.rebuild import REBUILD_LEASE_SECONDS

    serve_events(workspace)
    directory = events_dir(workspace)

    async def main() -> tuple[str, str]:
        store = SqliteProfileStore(realtime_dir(workspace) / "profiles.sqlite", 1)
        await store.start()
        try:
            await store.set_generation(f"{REBUILDING}{time.time():.0f}-alive")
            with pytest.raises(TransientError, match="another consumer is rebuilding"):
                await ensure_generation(store, LiveEngine(), directory)
            stale = time.time() - REBUILD_LEASE_SECONDS - 5
            await store.set_generation(f"{REBUILDING}{stale:.0f}-died")
            taken_over = await ensure_generation(store, LiveEngine(), directory)
            profile = await store.get("u1")
            assert profile is not None
            return taken_over, str(profile["counters"])
        finally:
            await store.close()

    generation, counters = asyncio.run(main())
    assert not generation.startswith(REBUILDING) and "Order Completed" in counters
