"""One person, one truth: for any stream of events, what the live profile computes equals
what the warehouse's feature computation gives from the same events once the loader loaded
them (property tests, hypothesis).

The live side is the real one in-process: the engine the server builds, on the embedded
(SQLite) profile store. The batch side is the real one too: the events go through the event
log and :func:`~audience.pipelines.sync.sync_events` (what the background loader runs),
then :func:`~audience.features.behaviour.compute_features`. Each example uses people of its
own in one shared workspace, so that an example costs one load and one feature query.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audience.features.behaviour import compute_features
from audience.model.live_records import Event
from audience.pipelines.sync import sync_events
from audience.realtime.eventlog import EventLog, events_dir
from audience.realtime.events import iso
from audience.realtime.runtime import build_engine
from audience.realtime.stores.sqlite import SqliteProfileStore
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace

# Relative to the machine's clock, so that no date is special (the suite runs time-shifted).
NOW = datetime.now(UTC).replace(microsecond=0)
EVENT_FEATURES = ("visits", "product_views", "cart_adds", "email_opens", "email_clicks")
ORDER_FEATURES = ("frequency", "monetary", "avg_basket", "recency_days", "mean_days_between")
EXAMPLES = 30

kinds = st.sampled_from(
    ["page", "Order Completed", "Product Viewed", "Product Added", "Email Opened"]
)
amounts = st.decimals(min_value="0.01", max_value="2000", places=2).map(float)
one_event = st.tuples(
    st.integers(0, 2),  # which of three people
    kinds,
    st.integers(0, 400 * 86400),  # seconds before NOW
    amounts,
)
streams = st.lists(one_event, min_size=1, max_size=25)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("parity") / "ws"
    return dataclasses.replace(Workspace.init(root), clock=FixedClock(NOW))


def events_of(stream: list[tuple[int, str, int, float]]) -> tuple[list[str], list[Event]]:
    run = uuid.uuid4().hex[:8]
    users = [f"p{run}-{i}" for i in range(3)]
    events: list[Event] = []
    for n, (who, kind, ago, amount) in enumerate(stream):
        event: dict[str, Any] = {
            "messageId": f"{run}-{n}",
            "type": "page" if kind == "page" else "track",
            "userId": users[who],
            "timestamp": iso(NOW - timedelta(seconds=ago)),
            "properties": {},
        }
        if kind == "page":
            event["name"] = "Home"
        else:
            event["event"] = kind
        if kind == "Order Completed":
            event["properties"] = {"order_id": f"o-{run}-{n}", "total": amount}
        events.append(event)  # type: ignore[arg-type]
    return users, events


def live_features(workspace: Workspace, events: list[Event]) -> dict[str, dict[str, Any]]:
    """Apply ``events`` as the consumer does; each person's live features as of NOW."""
    engine = build_engine(workspace)

    async def run() -> dict[str, dict[str, Any]]:
        store = SqliteProfileStore(workspace.root / "realtime" / "profiles.sqlite", 1)
        await store.start()
        try:
            await store.apply(events, engine)
            out = {}
            for user in {str(e["userId"]) for e in events}:
                profile = await store.get(user)
                assert profile is not None
                out[user] = dict(engine.view(profile, NOW)["features"])
            return out
        finally:
            await store.close()

    return asyncio.run(run())


def batch_features(workspace: Workspace, events: list[Event]) -> dict[str, dict[str, Any]]:
    """Log ``events``, load them as the background loader does; features as of NOW."""

    async def log() -> None:
        event_log = EventLog(events_dir(workspace))
        await event_log.append(events)
        await event_log.close()

    asyncio.run(log())
    assert sync_events(workspace).rows_new == len(events)
    users = sorted({str(e["userId"]) for e in events})
    with workspace.warehouse() as warehouse:
        compute_features(warehouse.con, workspace.config.features, now=NOW, as_of=NOW)
        cursor = warehouse.con.execute(
            "SELECT * FROM features WHERE customer_id IN (SELECT unnest(?))", [users]
        )
        names = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def close(live: Any, batch: Any) -> bool:
    if live is None or batch is None:
        return live is None and batch is None
    return bool(float(live) == pytest.approx(float(batch), rel=1e-9, abs=1e-9))


def mismatches(
    live: dict[str, dict[str, Any]], batch: dict[str, dict[str, Any]], names: tuple[str, ...]
) -> list[tuple[str, str, Any, Any]]:
    assert live.keys() == batch.keys()
    return [
        (user, name, live[user].get(name), batch[user][name])
        for user in live
        for name in names
        if not close(live[user].get(name), batch[user][name])
    ]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(stream=streams)
def test_live_engagement_and_tenure_equal_the_batch_features(
    shared: Workspace, stream: list[tuple[int, str, int, float]]
) -> None:
    _, events = events_of(stream)
    live, batch = live_features(shared, events), batch_features(shared, events)
    assert mismatches(live, batch, (*EVENT_FEATURES, "tenure_days")) == []


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(stream=streams)
def test_live_order_features_equal_the_batch_features(
    shared: Workspace, stream: list[tuple[int, str, int, float]]
) -> None:
    _, events = events_of(stream)
    live, batch = live_features(shared, events), batch_features(shared, events)
    assert mismatches(live, batch, ORDER_FEATURES) == []
