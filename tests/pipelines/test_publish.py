"""``audience publish``: live profiles start from the warehouse, and the live path builds on
them (issue 13, point 1): a batch segment survives a page view, consent imported in the CRM
is honoured live, a second publish writes nothing, live clusters carry the run's names."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.ingest.demo.generate import generate
from audience.model.live_records import Event, Profile
from audience.pipelines.live import WebhookChanges, live_consumer
from audience.pipelines.publish import publish_if_stale, publish_is_stale, publish_live_profiles
from audience.realtime.consumer import Consumer
from audience.realtime.events import iso
from audience.realtime.stores import Outcome
from audience.rules.loading import load_activation
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from tests.conftest import SECRET, Receiver

DEMO_END = datetime(2026, 11, 25).date()
HOOK = "http://127.0.0.1:9/hook"
_ids = itertools.count()


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


@dataclass
class Batch:
    root: Path
    as_of: datetime
    clusters: dict[str, tuple[str, str]]  # person -> (segment id, name) of the clustering run
    orders: dict[str, int]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    """400 generated customers imported, cleaned and segmented (k = 4), with one rule
    segment ("buyers": an order within 30 days) whose workflow sends e-mail by webhook."""
    tmp = tmp_path_factory.mktemp("publish")
    files = generate(400, tmp / "data", seed=11, end=DEMO_END)
    root = tmp / "ws"
    invoke("init", str(root))
    with (root / "audience.yaml").open("a", encoding="utf-8") as handle:
        handle.write(
            f"""
activation:
  segments:
    - name: buyers
      when: {{performed: Order Completed, at_least: 1, within: 30d}}
  destinations:
    - {{name: crm, type: webhook, purpose: email, url: "{HOOK}", secret: {SECRET},
       allow_networks: [loopback], backoff_seconds: 0.01, max_attempts: 2}}
  workflows:
    - {{segment: buyers, destination: crm, channel: email, template: welcome}}
"""
        )
    for kind, path in (
        ("customers", files.customers),
        ("orders", files.orders),
        ("events", files.events),
    ):
        invoke("import", kind, str(path), "-w", str(root), "--json")
    invoke("clean", "-w", str(root))
    run = json.loads(invoke("segment", "-w", str(root), "--k", "4", "--json"))
    ws = Workspace.open(root)
    with ws.warehouse(read_only=True) as warehouse:
        con = warehouse.con
        as_of = con.execute("SELECT max(as_of) FROM features").fetchone()[0]  # type: ignore[index]
        rows = con.execute(
            """SELECT m.customer_id, s.segment_id, s.name FROM memberships m
               JOIN segments s USING (segment_id)
               WHERE m.valid_to IS NULL AND s.run_id = ?""",
            [run["run_id"]],
        ).fetchall()
        orders = dict(
            con.execute("SELECT customer_id, count(*) FROM person_orders GROUP BY ALL").fetchall()
        )
    return Batch(root, as_of, {str(p): (str(s), str(n)) for p, s, n in rows}, orders)


def workspace(batch: Batch, tmp_path: Path, at: datetime) -> Workspace:
    """The batch workspace, its live store of this test's own, on a clock standing at ``at``."""
    ws = Workspace.open(batch.root, clock=FixedClock(at))
    (ws.root / "realtime").mkdir(exist_ok=True)
    for name in (
        "profiles.sqlite",
        "profiles.sqlite-wal",
        "profiles.sqlite-shm",
        "last_publish.json",
    ):
        (ws.root / "realtime" / name).unlink(missing_ok=True)
    return ws


def publish(ws: Workspace) -> dict[str, object]:
    return asyncio.run(publish_live_profiles(ws, ws.settings)).to_dict()


def send(ws: Workspace, events: list[dict[str, Any]]) -> tuple[list[Outcome], Consumer]:
    consumer = live_consumer(ws, ws.settings)

    async def main() -> list[Outcome]:
        await consumer.store.start()
        try:
            return await consumer.store.apply([Event(**e) for e in events], consumer.engine)  # type: ignore[typeddict-item]
        finally:
            await consumer.store.close()

    return asyncio.run(main()), consumer


def profiles(ws: Workspace, persons: list[str]) -> list[Profile]:
    consumer = live_consumer(ws, ws.settings)

    async def main() -> list[Profile]:
        await consumer.store.start()
        try:
            found = [await consumer.store.get(person) for person in persons]
        finally:
            await consumer.store.close()
        assert None not in found
        return [p for p in found if p is not None]

    return asyncio.run(main())


def profile(ws: Workspace, person: str) -> Profile:
    return profiles(ws, [person])[0]


def event(type_: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "messageId": f"live-{next(_ids)}",
        "timestamp": iso(at),
        "receivedAt": iso(at),
        **fields,
    }


def test_publish_twice_writes_nothing_the_second_time(batch: Batch, tmp_path: Path) -> None:
    ws = workspace(batch, tmp_path, batch.as_of + timedelta(hours=1))
    assert publish_is_stale(ws)
    first = publish(ws)
    assert first["persons"] == first["written"] and first["written"] >= len(batch.clusters)
    assert first["unchanged"] == 0
    assert not publish_is_stale(ws)
    assert publish_if_stale(ws, ws.settings) is None  # serve / worker start: nothing to do
    second = publish(ws)
    assert second["written"] == 0 and second["unchanged"] == first["persons"]
    # The command says the same, and its default action is publishing.
    out = invoke("publish", "-w", str(ws.root), "--json")
    assert json.loads(out)["written"] == 0


def test_a_batch_champion_stays_after_a_page_view(batch: Batch, tmp_path: Path) -> None:
    now = batch.as_of + timedelta(hours=1)
    ws = workspace(batch, tmp_path, now)
    publish(ws)
    # The most frequent buyer with a batch cluster: the "Champion" of the issue.
    champion = max(batch.clusters, key=lambda p: batch.orders.get(p, 0))
    segment_id, name = batch.clusters[champion]
    before = profile(ws, champion)
    assert before["rfm"]["frequency"] == batch.orders[champion]
    assert segment_id in before["segments"]
    outcomes, _ = send(ws, [event("page", now, userId=champion)])
    assert outcomes[0].status == "applied"
    assert not [c for c in outcomes[0].changes if c["type"] == "segment.exited"]
    after = profile(ws, champion)
    assert segment_id in after["segments"]
    # Live cluster memberships carry the run's segment id and name, never "cluster:<n>".
    why = after["segments"][segment_id]["why"]
    assert why["name"] == name
    assert not [s for s in after["segments"] if s.startswith("cluster:")]
    assert after["rfm"]["frequency"] == batch.orders[champion]  # the page view added no order


def test_every_unchanged_person_keeps_the_batch_cluster(batch: Batch, tmp_path: Path) -> None:
    """The deployed model, on the published features, gives each person her batch segment."""
    now = batch.as_of + timedelta(hours=1)
    ws = workspace(batch, tmp_path, now)
    publish(ws)
    consumer = live_consumer(ws, ws.settings)
    assert consumer.engine.assigner is not None
    agree = 0
    persons = list(batch.clusters)
    for person, stored in zip(persons, profiles(ws, persons), strict=True):
        segment_id = batch.clusters[person][0]
        live = consumer.engine.view(stored, consumer.engine.now())
        label = consumer.engine.assigner.predict_one(live["features"])
        assert consumer.engine.clusters is not None
        agree += consumer.engine.clusters.segments[label][0] == segment_id
    assert agree == len(batch.clusters)


def test_consent_imported_is_honoured_live(
    batch: Batch, tmp_path: Path, receiver: Receiver
) -> None:
    now = batch.as_of + timedelta(hours=1)
    ws = workspace(batch, tmp_path, now)
    publish(ws)
    with ws.warehouse(read_only=True) as warehouse:
        granted = warehouse.con.execute(
            """SELECT customer_id FROM current_consents
               WHERE purpose = 'email' AND status = 'granted' ORDER BY customer_id LIMIT 1"""
        ).fetchone()
    assert granted is not None
    person = str(granted[0])
    assert profile(ws, person)["consents"]["email"]["status"] == "granted"
    order = event("track", now, userId=person, event="Order Completed", properties={"total": 20})
    outcomes, _ = send(ws, [order])
    entered = [c for c in outcomes[0].changes if c["segment_id"] == "rule:buyers"]
    assert [c["type"] for c in entered] == ["segment.entered"]
    assert entered[0]["consents"]["email"] == "granted"
    plan = load_activation(ws.root)
    text = (ws.root / "audience.yaml").read_text(encoding="utf-8")
    (ws.root / "audience.yaml").write_text(text.replace(HOOK, receiver.url), encoding="utf-8")
    try:
        plan = load_activation(ws.root)
        sink = WebhookChanges(plan, tmp_path / "deliveries")
        asyncio.run(sink.emit(entered[0]))
    finally:
        (ws.root / "audience.yaml").write_text(text, encoding="utf-8")
    assert len(receiver.requests) == 1  # delivered, not suppressed for want of consent
    assert sink.sink.suppressed.get("email", 0) == 0
