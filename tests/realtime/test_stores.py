"""Both live profile stores: exactly-once application, stitching, outbox, concurrency."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from audience.realtime.engine import LiveEngine
from audience.realtime.events import iso
from audience.realtime.live_segments import PredicateEvaluator, PredicateRule
from audience.realtime.stores import ProfileStore
from audience.realtime.stores.redis import RedisProfileStore
from audience.realtime.stores.sqlite import SqliteProfileStore
from audience.store.clock import SYSTEM_CLOCK

_ids = itertools.count()
StoreFactory = Callable[[], ProfileStore]


def event(type_: str = "track", **fields: Any) -> dict[str, Any]:
    now = iso(SYSTEM_CLOCK.now())
    return {
        "type": type_,
        "messageId": f"s{next(_ids)}",
        "timestamp": now,
        "receivedAt": now,
        **fields,
    }


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    if request.param == "sqlite":
        return lambda: SqliteProfileStore(tmp_path / "profiles.sqlite", dedupe_days=1)
    prefix = request.getfixturevalue("redis_prefix")
    url = request.getfixturevalue("redis_url")
    return lambda: RedisProfileStore(url, prefix, dedupe_days=1)


def run(factory: StoreFactory, body: Callable[[ProfileStore], Coroutine[Any, Any, Any]]) -> Any:
    async def main() -> Any:
        store = factory()
        await store.start()
        try:
            return await body(store)
        finally:
            await store.close()

    return asyncio.run(main())


def test_a_resent_event_changes_nothing(make_store: StoreFactory) -> None:
    engine = LiveEngine()
    order = event(userId="u", event="Order Completed", properties={"total": 10})

    async def body(store: ProfileStore) -> Any:
        first = await store.apply([order, order], engine)
        again = await store.apply([order], engine)
        return [o.status for o in first + again], await store.get("u")

    statuses, profile = run(make_store, body)
    assert statuses == ["applied", "duplicate", "duplicate"]
    assert profile["counters"] == {"Order Completed": 1} and profile["rfm"]["monetary"] == 10
    # A new store object on the same data still knows the id (it is persisted, not cached).
    again = run(make_store, lambda store: store.apply([order], engine))
    assert again[0].status == "duplicate"


def test_stitching_is_visible_under_every_identity(make_store: StoreFactory) -> None:
    engine = LiveEngine()

    async def body(store: ProfileStore) -> Any:
        await store.apply(
            [event("page", anonymousId="a9"), event("identify", userId="u9", anonymousId="a9")],
            engine,
        )
        return await store.get("a9"), await store.get("u9"), await store.get("user_id:u9")

    by_anon, by_user, by_pid = run(make_store, body)
    assert by_anon == by_user == by_pid
    assert by_user["profile_id"] == "user_id:u9" and by_user["events_total"] == 2


def test_changes_wait_in_the_outbox_until_acknowledged(make_store: StoreFactory) -> None:
    rule = PredicateRule("active", lambda p: p["events_total"] >= 1, "one event or more")
    engine = LiveEngine(evaluator=PredicateEvaluator([rule]))

    async def body(store: ProfileStore) -> Any:
        await store.apply([event(userId="x", event="Signed Up")], engine)
        first = await store.pending_changes(10)
        again = await store.pending_changes(10)  # not acknowledged: delivered again
        await store.ack_changes([i for i, _ in first])
        return first, again, await store.pending_changes(10)

    first, again, after = run(make_store, body)
    assert [c["segment_id"] for _, c in first] == ["active"]
    assert [i for i, _ in again] == [i for i, _ in first]
    assert after == []


def test_a_rejected_event_does_not_stop_the_others(make_store: StoreFactory) -> None:
    engine = LiveEngine()
    bad = event(userId="y", event="E")
    bad["timestamp"] = "not a time"

    async def body(store: ProfileStore) -> Any:
        outcomes = await store.apply([bad, event(userId="y", event="E")], engine)
        return outcomes, await store.get("y")

    outcomes, profile = run(make_store, body)
    assert [o.status for o in outcomes] == ["rejected", "applied"]
    assert "not a time" in outcomes[0].reason or "isoformat" in outcomes[0].reason
    assert profile["events_total"] == 1


@pytest.mark.redis
def test_concurrent_writers_on_one_profile_lose_no_update(
    redis_url: str, redis_prefix: str
) -> None:
    engine = LiveEngine()
    per_writer = 60

    async def writer(store: RedisProfileStore) -> None:
        for _ in range(per_writer):
            await store.apply([event(userId="hot", event="Tick")], engine)

    async def main() -> Any:
        stores = [RedisProfileStore(redis_url, redis_prefix, 1) for _ in range(4)]
        for store in stores:
            await store.start()
        await asyncio.gather(*(writer(s) for s in stores))
        profile = await stores[0].get("hot")
        for store in stores:
            await store.close()
        return profile

    assert asyncio.run(main())["counters"]["Tick"] == 4 * per_writer


def test_a_mixed_batch_applies_each_person_in_order_once(make_store: StoreFactory) -> None:
    # Many persons at once (the Redis store applies them in pipelined waves), one of them
    # stitched mid-batch, one event sent twice: each counted once, the last trait wins.
    engine = LiveEngine()
    batch = []
    for round_ in range(5):
        for person in range(40):
            batch.append(event(userId=f"p{person}", event="Tick", properties={"n": round_}))
        batch.append(event("identify", userId=f"p{round_}", traits={"round": round_}))
    batch.append(event("identify", anonymousId="anon-1", userId="p7"))
    batch.append(event(anonymousId="anon-1", event="Tick"))
    batch.append(batch[0])  # the same message again

    async def body(store: ProfileStore) -> Any:
        outcomes = await store.apply(batch, engine)
        return outcomes, [await store.get(f"p{p}") for p in range(40)], await store.get("anon-1")

    outcomes, profiles, stitched = run(make_store, body)
    assert [o.status for o in outcomes].count("duplicate") == 1
    assert outcomes[-1].status == "duplicate"
    assert [p["counters"]["Tick"] for p in profiles] == [5] * 7 + [6] + [5] * 32
    assert stitched["profile_id"] == profiles[7]["profile_id"]
    assert [profiles[r]["traits"]["round"] for r in range(5)] == list(range(5))


@pytest.mark.redis
@pytest.mark.parametrize("seed", range(4))
def test_a_batch_leaves_redis_as_its_events_one_by_one_do(
    redis_url: str, redis_prefix: str, seed: int
) -> None:
    # The batch path reads a person once and plans her next events from what it planned:
    # it must end where applying the events one at a time ends, stitching and all.
    import random

    from audience.store.clock import FixedClock

    rng = random.Random(seed)
    at = SYSTEM_CLOCK.now()
    users, anons = ["u1", "u2", "u3"], ["a1", "a2"]
    events: list[dict[str, Any]] = []
    for _ in range(60):
        kind = rng.choice(["track", "track", "track", "identify", "page"])
        ids = rng.choice([{"userId": rng.choice(users)}, {"anonymousId": rng.choice(anons)}])
        if kind == "identify" and rng.random() < 0.3:
            ids = {"userId": rng.choice(users), "anonymousId": rng.choice(anons)}
        fields = {"event": "Tick", "properties": {"total": rng.randint(1, 9)}}
        if kind != "track":
            fields = {"traits": {"n": rng.randint(0, 99)}} if kind == "identify" else {}
        events.append(event(kind, **ids, **fields))
    events.append(events[5])  # a message delivered twice

    async def main() -> Any:
        states = []
        for prefix, batches in ((redis_prefix, [events]), (f"{redis_prefix}:one", events)):
            engine = LiveEngine(clock=FixedClock(at))
            store = RedisProfileStore(redis_url, prefix, 1)
            await store.start()
            statuses = []
            for batch in batches:
                found = await store.apply(batch if isinstance(batch, list) else [batch], engine)
                statuses += [o.status for o in found]
            profiles = {i: await store.get(i) for i in users + anons}
            states.append((statuses, profiles))
            await store.close()
        return states

    (batched, batched_profiles), (alone, alone_profiles) = asyncio.run(main())
    assert batched == alone
    assert batched_profiles == alone_profiles


@pytest.mark.redis
def test_scripts_lost_by_a_restarted_redis_are_loaded_again(
    redis_url: str, redis_prefix: str
) -> None:
    # A restarted Redis forgets its scripts; the pipelined waves call them by sha.
    engine = LiveEngine()

    async def main() -> Any:
        store = RedisProfileStore(redis_url, redis_prefix, 1)
        await store.start()
        store._read.sha = "0" * 40  # what a restart leaves: a sha Redis does not know
        store._commit_many.sha = "1" * 40
        outcomes = await store.apply([event(userId=f"n{i}", event="E") for i in range(3)], engine)
        profile = await store.get("n2")
        await store.close()
        return outcomes, profile

    outcomes, profile = asyncio.run(main())
    assert [o.status for o in outcomes] == ["applied"] * 3
    assert profile["events_total"] == 1
