"""Merge protection: the public write key cannot pull a known user's profile into another's.

``alias {userId: attacker, previousId: victim}`` under the default policy ``refuse`` changes
nothing and is dead-lettered with the reason ``merge_refused: …``; aliasing or identifying an
anonymous-only profile still merges it, as the Segment Spec says.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest

from audience.config.settings import ProfileStoreSettings, Settings
from audience.errors import MergeRefusedError
from audience.pipelines.live import live_consumer
from audience.realtime.consumer import Consumer
from audience.realtime.engine import LiveEngine
from audience.realtime.events import iso
from audience.realtime.stores import ProfileStore
from audience.realtime.stores.redis import RedisProfileStore
from audience.realtime.stores.sqlite import SqliteProfileStore
from audience.store.clock import SYSTEM_CLOCK
from audience.store.workspace import Workspace
from tests.realtime.test_engine import Memory

_ids = itertools.count()
VICTIM_EMAIL = "victim@example.fr"


def event(type_: str, **fields: Any) -> dict[str, Any]:
    now = iso(SYSTEM_CLOCK.now())
    return {
        "type": type_,
        "messageId": f"mp{next(_ids)}",
        "timestamp": now,
        "receivedAt": now,
        **fields,
    }


def victim_identify() -> dict[str, Any]:
    return event(
        "identify",
        userId="victim",
        anonymousId="victim-device",
        traits={"email": VICTIM_EMAIL, "phone": "+33612345678"},
    )


def attack() -> dict[str, Any]:
    return event("alias", userId="attacker", previousId="victim", anonymousId="attacker-device")


class Changes:
    def __init__(self) -> None:
        self.seen: list[Mapping[str, Any]] = []

    async def emit(self, change: Mapping[str, Any]) -> None:
        self.seen.append(change)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ProfileStore:
    if request.param == "sqlite":
        return SqliteProfileStore(tmp_path / "profiles.sqlite", dedupe_days=1)
    prefix = request.getfixturevalue("redis_prefix")
    return RedisProfileStore(request.getfixturevalue("redis_url"), prefix, dedupe_days=1)


def test_the_engine_refuses_to_merge_two_known_users(caplog: pytest.LogCaptureFixture) -> None:
    memory = Memory(LiveEngine())
    memory.send(victim_identify())
    memory.send(event("identify", userId="attacker", traits={"email": "me@evil.example"}))
    before = {pid: dict(p) for pid, p in memory.profiles.items()}
    with (
        caplog.at_level(logging.WARNING, logger="audience.realtime.engine"),
        pytest.raises(MergeRefusedError, match=r"^merge_refused: alias .* user_id:victim"),
    ):
        memory.send(attack())
    assert memory.profiles == before
    assert any("merge_refused" in message for message in caplog.messages)  # the attempt, logged


def test_an_anonymous_only_profile_still_merges() -> None:
    memory = Memory(LiveEngine())
    memory.send(event("page", anonymousId="a1", name="Home"))
    memory.send(event("alias", userId="u1", previousId="a1"))
    memory.send(event("page", anonymousId="a2", name="Home"))
    memory.send(event("identify", userId="u1", anonymousId="a2", traits={"email": "u1@x.fr"}))
    assert list(memory.profiles) == ["user_id:u1"]
    assert memory.of("anonymous_id:a1") is memory.of("anonymous_id:a2")
    assert memory.of("user_id:u1")["events_total"] == 4


def test_the_allow_policy_merges_as_the_segment_spec_says() -> None:
    memory = Memory(LiveEngine(merge_policy="allow"))
    memory.send(victim_identify())
    memory.send(attack())
    assert memory.of("user_id:victim")["profile_id"] == "user_id:attacker"


def test_a_refused_alias_is_rejected_by_the_store_and_changes_nothing(
    store: ProfileStore,
) -> None:
    engine = LiveEngine()

    async def main() -> Any:
        await store.start()
        try:
            await store.apply([victim_identify()], engine)
            victim_before = await store.get("victim")
            outcomes = await store.apply([attack()], engine)
            return (
                outcomes,
                victim_before,
                await store.get("victim"),
                await store.get("attacker"),
                await store.get("attacker-device"),
            )
        finally:
            await store.close()

    outcomes, before, after, attacker, by_device = asyncio.run(main())
    assert [o.status for o in outcomes] == ["rejected"]
    assert "merge_refused: alias" in outcomes[0].reason
    assert before == after and after["traits"]["email"] == VICTIM_EMAIL
    assert attacker is None and by_device is None  # nothing of the alias was written


def test_the_consumer_dead_letters_a_refused_alias(tmp_path: Path) -> None:
    store = SqliteProfileStore(tmp_path / "profiles.sqlite", dedupe_days=1)
    consumer = Consumer(store, LiveEngine(), Changes())

    async def main() -> Any:
        await consumer.start()
        try:
            await consumer([orjson.dumps(victim_identify())])
            attacker_own = event("identify", userId="attacker", traits={"email": "me@evil.ex"})
            letters = await consumer([orjson.dumps([attacker_own, attack()])])
            return letters, await store.get("attacker"), await store.get("victim")
        finally:
            await store.close()

    letters, attacker, victim = asyncio.run(main())
    assert len(letters) == 1 and len(letters[0]) == 1
    assert orjson.loads(letters[0][0].body)["type"] == "alias"
    assert "merge_refused: " in letters[0][0].reason
    assert attacker["traits"] == {"email": "me@evil.ex"}
    assert "phone" not in attacker["traits"] and attacker["identities"]["user_id"] == ["attacker"]
    assert victim["traits"]["email"] == VICTIM_EMAIL and victim["profile_id"] == "user_id:victim"
    assert consumer.stats.dead == 1


def test_the_policy_comes_from_the_settings(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ProfileStoreSettings().merge_policy == "refuse"
    monkeypatch.setenv("AUDIENCE_PROFILES__MERGE_POLICY", "allow")
    settings = Settings()
    assert settings.profiles.merge_policy == "allow"
    assert live_consumer(workspace, settings).engine.merge_policy == "allow"
    refuse = Settings(profiles=ProfileStoreSettings(merge_policy="refuse"))
    assert live_consumer(workspace, refuse).engine.merge_policy == "refuse"
