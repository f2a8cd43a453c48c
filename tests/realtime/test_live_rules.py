"""The live path runs the rule segments of audience.yaml and sends their changes, signed."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from standardwebhooks import Webhook

from audience.pipelines.live import WebhookChanges, rule_segments
from audience.pipelines.live_deliveries import deliveries_dir, load_live_deliveries
from audience.realtime.runtime import build_engine
from audience.store.workspace import Workspace
from tests.conftest import SECRET, Receiver
from tests.realtime.test_engine import Memory, event

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def configure(root: Path, url: str) -> Workspace:
    Workspace.init(root)
    (root / "audience.yaml").write_text(
        (root / "audience.yaml").read_text(encoding="utf-8")
        + f"""
activation:
  segments:
    - name: buyers
      when: {{performed: Order Completed, at_least: 2, within: 30d,
              where: [{{property: total, gt: 50}}]}}
    - name: big_spenders
      when: {{field: monetary, gte: 300}}
  destinations:
    - {{name: crm, type: webhook, purpose: email, url: "{url}", secret: {SECRET},
       allow_networks: [loopback], backoff_seconds: 0.01, max_attempts: 2}}
  workflows:
    - {{segment: buyers, destination: crm, channel: email, template: welcome}}
""",
        encoding="utf-8",
    )
    return Workspace.open(root)


def test_rules_decide_live_membership_and_changes_reach_the_webhook(
    tmp_path: Path, receiver: Receiver
) -> None:
    workspace = configure(tmp_path / "ws", receiver.url)
    evaluator = rule_segments(load_plan(workspace))
    assert evaluator is not None
    memory = Memory(build_engine(workspace, evaluator))
    # Consent as Segment's identify sends it: a trait per purpose.
    consent = event("identify", T0, userId="u1", traits={"consent_email": True})
    memory.send(consent)
    memory.send(
        event(
            "track",
            T0 + timedelta(days=1),
            userId="u1",
            event="Order Completed",
            properties={"total": 80},
        )
    )
    assert memory.of("user_id:u1")["segments"] == {}  # one order of the two needed
    plan = memory.send(
        event(
            "track",
            T0 + timedelta(days=3),
            userId="u1",
            event="Order Completed",
            properties={"total": 240},
        )
    )
    inside = memory.of("user_id:u1")["segments"]
    assert set(inside) == {"rule:buyers", "rule:big_spenders"}
    why = inside["rule:buyers"]["why"]["conditions"][0]
    assert why["matched"] and why["value"] == 2  # two orders over 50 in 30 days
    # Forty days on, the orders fall out of the window: a new event shows the exit.
    later = memory.send(event("page", T0 + timedelta(days=45), userId="u1"))
    assert {c["segment_id"] for c in later.changes if c["type"] == "segment.exited"} == {
        "rule:buyers"
    }

    sink = WebhookChanges(load_plan(workspace), deliveries_dir(workspace))
    for change in [*plan.changes, *later.changes]:
        asyncio.run(sink.emit(change))
    assert len(receiver.requests) == 2  # buyers entered, then exited; big_spenders has no workflow
    headers, body = receiver.requests[0]
    Webhook(SECRET).verify(body, headers)  # raises if the signature is wrong
    assert json.loads(body)["type"] == "segment.entered"
    # In the warehouse's deliveries table like batch sends, with the body that was signed.
    sink.log.seal()
    assert load_live_deliveries(workspace) == 2
    assert load_live_deliveries(workspace) == 0  # recorded once
    with workspace.warehouse(read_only=True) as warehouse:
        rows = warehouse.con.execute(
            """SELECT event_type, status, attempts, last_status, segment_id, payload::VARCHAR
               FROM deliveries ORDER BY event_at"""
        ).fetchall()
    assert [row[:5] for row in rows] == [
        ("segment.entered", "delivered", 1, 204, "rule:buyers"),
        ("segment.exited", "delivered", 1, 204, "rule:buyers"),
    ]
    assert json.loads(rows[0][5]) == json.loads(body)


def test_no_consent_no_delivery(tmp_path: Path, receiver: Receiver) -> None:
    workspace = configure(tmp_path / "ws", receiver.url)
    memory = Memory(build_engine(workspace, rule_segments(load_plan(workspace))))
    for day in (1, 2):
        plan = memory.send(
            event(
                "track",
                T0 + timedelta(days=day),
                userId="u2",
                event="Order Completed",
                properties={"total": 99},
            )
        )
    sink = WebhookChanges(load_plan(workspace), deliveries_dir(workspace))
    for change in plan.changes:
        asyncio.run(sink.emit(change))
    assert receiver.requests == []
    logged = [json.loads(line) for line in sink.log.part.read_text().splitlines()]
    assert [(d["status"], d["reason"], d["attempts"]) for d in logged] == [
        ("suppressed", "no_consent:email", 0)
    ]
    sink.log.seal()
    assert load_live_deliveries(workspace) == 1
    with workspace.warehouse(read_only=True) as warehouse:
        found = warehouse.con.execute("SELECT status, reason FROM deliveries").fetchall()
    assert found == [("suppressed", "no_consent:email")]


def load_plan(workspace: Workspace):  # type: ignore[no-untyped-def]
    from audience.rules.loading import load_activation

    return load_activation(workspace.root)
