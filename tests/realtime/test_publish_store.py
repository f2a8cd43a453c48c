"""Publishing warehouse state into each live store: merged with what the live path counted,
idempotent by hash, published memberships sticky, the person's live profiles merged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from audience.model.live_records import Event, PersonState, Profile
from audience.realtime.batch_state import digest
from audience.realtime.engine import LiveEngine
from audience.realtime.events import iso
from audience.realtime.live_segments import PredicateEvaluator, PredicateRule
from audience.realtime.stores import Outcome, ProfileStore
from audience.realtime.stores.redis import RedisProfileStore
from audience.realtime.stores.sqlite import SqliteProfileStore
from audience.store.clock import FixedClock

T0 = datetime(2026, 3, 1, tzinfo=UTC)
StoreFactory = Callable[[], ProfileStore]


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    if request.param == "sqlite":
        return lambda: SqliteProfileStore(tmp_path / "profiles.sqlite", dedupe_days=1)
    prefix = request.getfixturevalue("redis_prefix")
    url = request.getfixturevalue("redis_url")
    return lambda: RedisProfileStore(url, prefix, dedupe_days=1)


def state(orders: int, spend: float, **changes: Any) -> PersonState:
    found: PersonState = {
        "customer_id": "C1",
        "keys": ["user_id:C1", "user_id:C1-dup", "anonymous_id:a1"],
        "as_of": iso(T0 - timedelta(hours=1)),
        "traits": {"email": "c1@example.fr", "city": "Lyon"},
        "consents": {
            "email": {
                "status": "granted",
                "changed_at": iso(T0 - timedelta(days=9)),
                "message_id": "w",
            }
        },
        "rfm": {
            "frequency": orders,
            "monetary": spend,
            "discount": 0.0,
            "gross": spend,
            "first_order_at": iso(T0 - timedelta(days=300)),
            "last_order_at": iso(T0 - timedelta(days=3)),
        },
        "order_ids": [],
        "features": {"frequency": float(orders), "monetary": spend},
        "segments": {
            "rfm:champions": {"name": "Champions", "run_id": "r-rfm"},
            "rule:big": {"name": "big", "run_id": None},
        },
        "scores": {"clv": 410.5, "churn_probability": 0.08},
        "hash": "",
        **changes,  # type: ignore[typeddict-item]
    }
    found["hash"] = digest(found)
    return found


def event(type_: str, n: int, **fields: Any) -> Event:
    at = iso(T0 + timedelta(minutes=n))
    found: dict[str, Any] = {
        "type": type_,
        "messageId": f"e{n}",
        "timestamp": at,
        "receivedAt": at,
        **fields,
    }
    return found  # type: ignore[return-value]


def engine() -> LiveEngine:
    # "rule:big" is decided live; "rfm:champions" is not: it stays as published.
    big = PredicateRule("rule:big", lambda p: p["rfm"]["monetary"] >= 1000, "spent 1000")
    return LiveEngine(evaluator=PredicateEvaluator([big]), clock=FixedClock(T0))


def run(make_store: StoreFactory, *steps: Callable[[ProfileStore], Any]) -> list[Any]:
    async def main() -> list[Any]:
        store = make_store()
        await store.start()
        try:
            return [await step(store) for step in steps]
        finally:
            await store.close()

    return asyncio.run(main())


def test_publish_merges_with_live_and_is_idempotent(make_store: StoreFactory) -> None:
    live = engine()

    def apply(*events: Event) -> Callable[[ProfileStore], Any]:
        return lambda store: store.apply(list(events), live)

    def publish(s: PersonState) -> Callable[[ProfileStore], Any]:
        return lambda store: store.publish([s], live)

    def get(store: ProfileStore) -> Any:
        return store.get("C1")

    first, second = state(3, 300.0), state(5, 600.0)
    # The loader has loaded the live order (event e1, no order id): the warehouse holds it.
    loaded = state(6, 650.0, order_ids=["evt:e1"])
    out = run(
        make_store,
        # Before any publish: a visitor, and the same person under a merged record's id.
        apply(event("page", 0, anonymousId="a1")),
        apply(
            event("track", 1, userId="C1-dup", event="Order Completed", properties={"total": 50})
        ),
        publish(first),
        get,
        publish(first),
        apply(event("page", 2, userId="C1")),
        get,
        publish(second),
        get,
        publish(loaded),
        get,
    )
    published: Profile = out[3]
    # One profile: the visitor's and the record's merged in, keyed as the store found them.
    assert sorted(published["identities"]["user_id"]) == ["C1", "C1-dup"]
    assert published["identities"]["anonymous_id"] == ["a1"]
    # Warehouse orders, plus the order the live path counted (not in the order files).
    assert published["rfm"]["frequency"] == 4 and published["rfm"]["monetary"] == 350.0
    assert published["traits"]["city"] == "Lyon"
    assert published["consents"]["email"]["status"] == "granted"
    assert set(published["segments"]) == {"rfm:champions"}  # rule:big is decided live: out
    assert published["segments"]["rfm:champions"]["why"]["published"] == "Champions"
    assert [o.status for o in out[4]] == ["unchanged"]
    after_view: Profile = out[6]
    assert "rfm:champions" in after_view["segments"]  # sticky through a page view
    applied: list[Outcome] = out[5]
    assert not [c for c in applied[0].changes if c["type"] == "segment.exited"]
    assert [o.status for o in out[7]] == ["applied"]
    final: Profile = out[8]
    assert final["rfm"]["frequency"] == 6 and final["rfm"]["monetary"] == 650.0
    assert final["published"]["scores"]["clv"] == 410.5
    # Once the warehouse holds the order the live path counted, it is counted once.
    settled: Profile = out[10]
    assert settled["rfm"]["frequency"] == 6 and settled["rfm"]["monetary"] == 650.0
    assert settled["live_orders"] == {}


def test_a_live_consent_newer_than_the_warehouse_stands(make_store: StoreFactory) -> None:
    live = engine()
    withdrawn = event("identify", 5, userId="C1", traits={"consent_email": False})
    out = run(
        make_store,
        lambda store: store.publish([state(1, 10.0)], live),
        lambda store: store.apply([withdrawn], live),
        lambda store: store.publish([state(2, 20.0)], live),
        lambda store: store.get("C1"),
    )
    assert out[3]["consents"]["email"]["status"] == "withdrawn"


def test_live_engagement_restarts_only_with_new_features(make_store: StoreFactory) -> None:
    live = engine()
    rescored = state(3, 300.0, scores={"clv": 999.0})
    recomputed = state(3, 300.0, as_of=iso(T0))

    def page(n: int) -> Callable[[ProfileStore], Any]:
        return lambda store: store.apply([event("page", n, userId="C1")], live)

    def publish(s: PersonState) -> Callable[[ProfileStore], Any]:
        return lambda store: store.publish([s], live)

    def visits(store: ProfileStore) -> Any:
        async def read() -> float:
            found = await store.get("C1")
            assert found is not None
            return found["engagement"]["visits"]

        return read()

    out = run(
        make_store,
        page(0),
        publish(state(3, 300.0)),  # the page view is in the warehouse's features: restart
        visits,
        page(1),
        publish(rescored),  # the same features, new scores: the live view stands
        visits,
        publish(recomputed),  # features computed anew hold it: restart
        visits,
    )
    assert out[2] == 0 and out[5] == pytest.approx(1.0, rel=1e-3) and out[7] == 0
