"""``ProfileStore.forget`` on both stores: the profile, every identity key naming it and its
changes waiting in the outbox go; other profiles stay."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from audience.realtime.engine import LiveEngine
from audience.realtime.live_segments import PredicateEvaluator, PredicateRule
from audience.realtime.stores import ProfileStore
from audience.realtime.stores.redis import RedisProfileStore
from audience.realtime.stores.sqlite import SqliteProfileStore
from tests.realtime.test_stores import event


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ProfileStore:
    if request.param == "sqlite":
        return SqliteProfileStore(tmp_path / "profiles.sqlite", dedupe_days=1)
    return RedisProfileStore(
        request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix"), 1
    )


def test_forget_removes_the_profile_its_keys_and_its_changes(store: ProfileStore) -> None:
    rule = PredicateRule("buyers", lambda profile: profile["rfm"]["frequency"] >= 1, "bought")
    engine = LiveEngine(evaluator=PredicateEvaluator([rule]))

    async def main() -> dict[str, Any]:
        await store.start()
        try:
            await store.apply(
                [
                    event(
                        "track", anonymousId="a-1", event="Order Completed", properties={"total": 5}
                    ),
                    event("identify", userId="u-1", anonymousId="a-1"),
                    event("track", userId="u-2", event="Order Completed", properties={"total": 1}),
                ],
                engine,
            )
            pending_before = len(await store.pending_changes(100))
            deleted = await store.forget(["user_id:u-1"])
            return {
                "deleted": deleted,
                "her": [await store.get(i) for i in ("u-1", "a-1")],
                "other": await store.get("u-2"),
                "pending": [c["profile_id"] for _, c in await store.pending_changes(100)],
                "pending_before": pending_before,
                "again": await store.forget(["user_id:u-1"]),
            }
        finally:
            await store.close()

    found = asyncio.run(main())
    assert found["her"] == [None, None] and found["other"] is not None
    assert found["deleted"] >= 3  # profile, user id key, anonymous id key (+ her change)
    assert found["pending_before"] > len(found["pending"]) > 0
    assert set(found["pending"]) == {found["other"]["profile_id"]}
    assert found["again"] == 0
