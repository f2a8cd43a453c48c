"""The measured promise: a person planted in every store is found nowhere after ``forget``,
her new events are dropped, everyone else stays, and the receipt lists every store."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import pytest

from audience.config.settings import (
    PrivacySettings,
    ProfileStoreSettings,
    QueueSettings,
    Settings,
)
from audience.model.identifiers import PersonQuery
from audience.pipelines.privacy import RegulationRequest, forget
from audience.realtime.runtime import Collector, build_consumer, run_worker
from audience.store.workspace import Workspace
from tests.privacy.conftest import KEY
from tests.privacy.planting import event, exemplars, held, plant

EXPECTED_STORES = {
    "warehouse:events",
    "warehouse:customers",
    "warehouse:order_lines",
    "warehouse:identities",
    "warehouse:profiles",
    "warehouse:features",
    "warehouse:consents",
    "warehouse:quarantine",
    "warehouse:deliveries",
    "warehouse:dead_letters",
    "warehouse:segment_runs.model_points",
    "suppression_list",
    "queue_dead_letters",
    "event_logs",
    "exports",
    "reports",
    "mlflow_artefacts",
}


def settings_for(kind: str, request: pytest.FixtureRequest) -> Settings:
    if kind == "embedded":
        return Settings(privacy=PrivacySettings(key=KEY))
    prefix = request.getfixturevalue("redis_prefix")
    return Settings(
        privacy=PrivacySettings(key=KEY),
        profiles=ProfileStoreSettings(url=request.getfixturevalue("redis_url"), prefix=prefix),
        queue=QueueSettings(
            url=request.getfixturevalue("rabbit_url"), name=request.getfixturevalue("queue_name")
        ),
    )


@pytest.mark.parametrize(
    "kind", ["embedded", pytest.param("services", marks=[pytest.mark.redis, pytest.mark.rabbitmq])]
)
def test_a_forgotten_person_is_held_nowhere(
    kind: str, cleaned: Workspace, request: pytest.FixtureRequest
) -> None:
    settings = settings_for(kind, request)
    ws = Workspace(cleaned.root, cleaned.config, settings, cleaned.clock)
    planted = plant(ws, settings)
    forms = planted.forms()
    before = held(ws, settings, forms)
    assert {"warehouse:events", "reports/members.html"} <= set(before)
    assert planted.point in _exemplars(ws)
    assert any(place.startswith(("profiles.sqlite", "redis:")) for place in before)

    receipt = forget(ws, RegulationRequest([PersonQuery("email", planted.email.upper())]))

    assert receipt.status == "finished" and receipt.persons == 1
    done = {s.store: s for s in receipt.stores}
    assert set(done) >= EXPECTED_STORES
    for store in EXPECTED_STORES - {"queue_dead_letters"}:
        assert done[store].deleted > 0, store
    live = "live:redis" if settings.profiles.url else "live:embedded"
    assert done[live].deleted > 0
    # Her message waiting in RabbitMQ cannot be searched: it is dropped when consumed (below,
    # where the consumer runs and her profile must stay absent).
    assert held(ws, settings, forms) == []
    assert planted.point not in _exemplars(ws) and len(_exemplars(ws)) > 10
    with ws.warehouse(read_only=True) as warehouse:  # the export's row count follows its file
        assert warehouse.con.execute("SELECT n_rows FROM exports").fetchall() == [(1,)]
    _others_survive(ws, settings, planted.other, planted.other_email)
    _her_new_events_are_dropped(ws, settings, planted.user_ids[0], planted.email, planted.other)
    assert held(ws, settings, forms) == []


def _exemplars(ws: Workspace) -> set[tuple[float, ...]]:
    with ws.warehouse(read_only=True) as warehouse:
        return exemplars(warehouse.con)


def _others_survive(ws: Workspace, settings: Settings, other: str, other_email: str) -> None:
    places = held(ws, settings, {other_email})
    for place in ("warehouse:profiles", "warehouse:quarantine", "exports/vip.csv"):
        assert place in places
    assert (ws.reports_dir / "summary.html").exists()
    assert (ws.root / "mlruns" / "1" / "r1" / "artifacts" / "model" / "MLmodel").exists()


def _her_new_events_are_dropped(
    ws: Workspace, settings: Settings, user: str, email: str, other: str
) -> None:
    async def main() -> dict[str, Any]:
        collector = Collector(ws, settings, build_consumer(ws, settings))
        await collector.start()
        stop = asyncio.Event()
        consumer = build_consumer(ws, settings) if settings.queue.url else collector.consumer
        worker = (  # with RabbitMQ the consumer is a worker of its own
            asyncio.create_task(run_worker(ws, settings, stop, consumer))
            if settings.queue.url
            else None
        )
        try:
            mine = event(user, None, 9, email=email)
            someone = {**event(f"new-{uuid.uuid4().hex[:6]}", None, 9), "traits": {}}
            await collector.accept([mine, someone])
            # A message for her already queued (by a server before the regulation):
            await collector.publisher.publish([orjson.dumps(event(user, None, 10))])
            for _ in range(400):
                if await collector.store.get(someone["userId"]) is not None:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            return {
                "someone": await collector.store.get(someone["userId"]),
                "her": await collector.store.get(user),
                "health": collector.health(),
                "consumer_dropped": consumer.suppression.dropped if consumer.suppression else 0,
            }
        finally:
            stop.set()
            if worker is not None:
                await worker
            await collector.stop()

    found = asyncio.run(main())
    assert found["someone"] is not None
    assert found["her"] is None
    assert found["health"]["suppressed"] >= 1  # dropped at the collector, answered 200
    assert found["consumer_dropped"] >= 1  # already queued: dropped when consumed
