"""Webhooks against a real local HTTP server: signatures, consent, retries, 410, replay."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from standardwebhooks import Webhook

from audience.activation.destinations.netguard import address_kind, check_url
from audience.activation.live_delivery import WebhookSink
from audience.activation.payloads import delivery_id
from audience.activation.workflows import retry_dead_letters
from audience.config.activation import ActivationSettings
from audience.errors import ConfigError
from audience.model.activation_plan import ActivationPlan
from audience.pipelines.activate import activate
from audience.privacy.consent import set_consent
from audience.rules.loading import plan_from_settings
from audience.store.clock import SYSTEM_CLOCK, FixedClock
from audience.store.warehouse import Warehouse
from tests.activation.conftest import NOW, closed_port_url
from tests.conftest import SECRET, Receiver


def top_spenders(root: Path, share: float = 0.97) -> float:
    with Warehouse(root / "warehouse.duckdb") as warehouse:
        return float(
            warehouse.con.execute(
                "SELECT quantile_cont(monetary, ?) FROM features", [share]
            ).fetchall()[0][0]
        )


def webhook_plan(url: str, threshold: float, **options: Any) -> ActivationPlan:
    destination = {
        "name": "crm",
        "type": "webhook",
        "purpose": "email",
        "url": url,
        "secret": SECRET,
        "allow_networks": ["loopback"],
        "max_attempts": 3,
        "backoff_seconds": 0.01,
        "backoff_max_seconds": 0.05,
        **options,
    }
    return plan_from_settings(
        ActivationSettings.model_validate(
            {
                "segments": [
                    {"name": "vip", "when": {"field": "monetary", "gte": threshold}},
                    {
                        "name": "recent",
                        "when": {
                            "all": [
                                {"field": "monetary", "gte": threshold},
                                {"field": "last_order_at", "within_last": "30d"},
                            ]
                        },
                    },
                ],
                "destinations": [destination],
                "workflows": [
                    {
                        "segment": "vip",
                        "destination": "crm",
                        "channel": "email",
                        "template": "vip-welcome",
                        "fields": ["email", "first_name", "monetary"],
                    }
                ],
            }
        )
    )


def state(root: Path) -> dict[str, int]:
    with Warehouse(root / "warehouse.duckdb") as warehouse:
        rows = warehouse.con.execute(
            "SELECT status, count(*) FROM deliveries GROUP BY ALL"
        ).fetchall()
    return {str(s): int(n) for s, n in rows}


def members_by_consent(root: Path) -> Counter[str]:
    with Warehouse(root / "warehouse.duckdb") as warehouse:
        rows = warehouse.con.execute("""
            SELECT coalesce(c.status, 'no_consent') FROM memberships m
            LEFT JOIN current_consents c ON c.customer_id = m.customer_id AND c.purpose = 'email'
            WHERE m.segment_id = 'rule:vip' AND m.valid_to IS NULL""").fetchall()
    return Counter(str(r[0]) for r in rows)


def test_signed_webhooks_verify_and_consent_is_enforced(ws_root: Path, receiver: Receiver) -> None:
    p = webhook_plan(receiver.url, top_spenders(ws_root))
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        warehouse.migrate()
        people = [
            c
            for (c,) in warehouse.con.execute(
                "SELECT customer_id FROM features WHERE monetary >= ? ORDER BY 1",
                [top_spenders(ws_root)],
            ).fetchall()
        ]
        with warehouse.transaction() as con:  # one grant withdrawn, one never asked
            set_consent(con, people[0], "email", "withdrawn", at=SYSTEM_CLOCK.now())
            con.execute("DELETE FROM consents WHERE customer_id = ?", [people[1]])
        report = activate(warehouse, p, ws_root, clock=FixedClock(NOW))
    expected = members_by_consent(ws_root)
    assert expected["withdrawn"] == 1 and expected["no_consent"] == 1 and expected["granted"] > 0
    (item,) = report.workflows
    assert item.delivery is not None
    assert item.delivery.delivered == expected["granted"] == len(receiver.requests)
    assert item.delivery.suppressed == {k: v for k, v in expected.items() if k != "granted"}
    verifier = Webhook(SECRET)
    sent_to = set()
    for headers, body in receiver.requests:
        with time_machine.travel(NOW, tick=False):  # the receiver's clock is the sender's
            data = verifier.verify(body, headers)  # raises unless the signature is valid
        assert headers["webhook-id"].startswith("msg_")
        assert data["type"] == "segment.entered" and data["data"]["segment_id"] == "rule:vip"
        assert data["data"]["workflow"]["template"] == "vip-welcome"
        assert data["data"]["fields"]["monetary"] >= top_spenders(ws_root)
        (leaf,) = data["data"]["reason"].values()  # one leaf: path "when", text merged in
        assert leaf["matched"] is True and leaf["condition"].startswith("monetary ≥")
        assert leaf["value"] == data["data"]["fields"]["monetary"]
        sent_to.add(data["data"]["customer_id"])
    assert people[0] not in sent_to and people[1] not in sent_to
    with pytest.raises(Exception, match="signature"), time_machine.travel(NOW, tick=False):
        Webhook("whsec_" + "A" * 40).verify(receiver.requests[0][1], receiver.requests[0][0])


def test_5xx_retries_then_dead_letters_and_replay_delivers(
    ws_root: Path, receiver: Receiver
) -> None:
    receiver.default = 503
    p = webhook_plan(receiver.url, top_spenders(ws_root, 0.99))
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        warehouse.migrate()
        report = activate(warehouse, p, ws_root, clock=FixedClock(NOW))
    summary = report.workflows[0].delivery
    assert summary is not None and summary.dead > 0 and summary.delivered == 0
    assert len(receiver.requests) == 3 * summary.dead  # max_attempts tries each
    ids = Counter(h["webhook-id"] for h, _ in receiver.requests)
    assert set(ids.values()) == {3}  # every retry keeps its webhook-id
    assert state(ws_root) == {"dead": summary.dead, "suppressed": sum(summary.suppressed.values())}
    receiver.default, receiver.requests = 204, []
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        replay = retry_dead_letters(warehouse, p, FixedClock(NOW))
        open_letters = warehouse.con.execute(
            "SELECT count(*) FROM dead_letters WHERE resolved_at IS NULL"
        ).fetchall()[0][0]
    assert replay["crm"].delivered == summary.dead and open_letters == 0
    assert {h["webhook-id"] for h, _ in receiver.requests} == set(ids)
    assert state(ws_root)["delivered"] == summary.dead


def test_receiver_down_dead_letters_nothing_lost(ws_root: Path) -> None:
    p = webhook_plan(closed_port_url(), top_spenders(ws_root, 0.99), max_attempts=2)
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        warehouse.migrate()
        report = activate(warehouse, p, ws_root, clock=FixedClock(NOW))
        errors = warehouse.con.execute("SELECT DISTINCT error FROM dead_letters").fetchall()
    summary = report.workflows[0].delivery
    assert summary is not None and summary.dead == summary.queued - sum(summary.suppressed.values())
    assert summary.dead > 0
    assert len(errors) == 1 and errors[0][0].startswith("ConnectError")


def test_410_disables_the_endpoint_until_enabled(ws_root: Path, receiver: Receiver) -> None:
    receiver.statuses = [204, 410]
    p = webhook_plan(receiver.url, top_spenders(ws_root), concurrency=1)
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        warehouse.migrate()
        first = activate(warehouse, p, ws_root, clock=FixedClock(NOW)).workflows[0].delivery
    assert first is not None and first.delivered == 1 and first.disabled
    assert "410" in first.disabled and first.held > 0 and first.dead == 0
    assert len(receiver.requests) == 2
    assert state(ws_root)["pending"] == first.held  # held, not lost
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        second = (
            activate(warehouse, p, ws_root, clock=FixedClock(NOW + timedelta(hours=1)))
            .workflows[0]
            .delivery
        )
        assert second is not None and second.disabled and second.held == first.held
        assert len(receiver.requests) == 2  # nothing sent to a disabled endpoint
        from audience.activation.deliveries import set_endpoint_state

        with warehouse.transaction() as con:
            set_endpoint_state(con, "crm", "active", "test", NOW)
        third = (
            activate(warehouse, p, ws_root, clock=FixedClock(NOW + timedelta(hours=2)))
            .workflows[0]
            .delivery
        )
    assert third is not None and third.delivered == first.held and not third.disabled
    assert "pending" not in state(ws_root)


def test_exits_are_sent_after_time_moves(ws_root: Path, receiver: Receiver) -> None:
    threshold = top_spenders(ws_root, 0.9)
    p = webhook_plan(receiver.url, threshold)
    settings = ActivationSettings.model_validate(
        {
            "segments": [
                {
                    "name": d.name,
                    "when": {
                        "all": [
                            {"field": "monetary", "gte": threshold},
                            {"field": "last_order_at", "within_last": "30d"},
                        ]
                    },
                }
                for d in p.definitions[1:]
            ],
            "destinations": [p.destinations["crm"].model_dump()],
            "workflows": [{"segment": "recent", "destination": "crm"}],
        }
    )
    p = plan_from_settings(settings)
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        warehouse.migrate()
        activate(warehouse, p, ws_root, clock=FixedClock(NOW))
        entered = len(receiver.requests)
        later = activate(warehouse, p, ws_root, clock=FixedClock(NOW + timedelta(days=25)))
    exits = receiver.bodies()[entered:]
    assert later.evaluation.exited["rule:recent"] > 0
    assert {b["type"] for b in exits} == {"segment.exited"}
    assert len(exits) == later.workflows[0].delivery.delivered  # type: ignore[union-attr]


def test_private_and_loopback_urls_are_refused_unless_allowed(ws_root: Path) -> None:
    import ipaddress

    assert address_kind(ipaddress.ip_address("127.0.0.1")) == "loopback"
    assert address_kind(ipaddress.ip_address("10.1.2.3")) == "private"
    assert address_kind(ipaddress.ip_address("169.254.169.254")) == "private"
    assert address_kind(ipaddress.ip_address("::ffff:192.168.1.1")) == "private"
    assert address_kind(ipaddress.ip_address("0.0.0.0")) == "reserved"
    assert address_kind(ipaddress.ip_address("8.8.8.8")) == "public"
    with pytest.raises(ConfigError, match="loopback address"):
        check_url("http://localhost:9/x", [], "crm")
    check_url("http://localhost:9/x", ["loopback"], "crm")
    with pytest.raises(ConfigError, match=r"private address 10\.0\.0\.7"):
        check_url("http://10.0.0.7/x", ["loopback"], "crm")
    p = webhook_plan("http://127.0.0.1:9/x", 0.0, allow_networks=[])
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        warehouse.migrate()
        with pytest.raises(ConfigError, match="refused"):
            activate(warehouse, p, ws_root, clock=FixedClock(NOW))
        runs = warehouse.con.execute("SELECT count(*) FROM segment_runs WHERE method = 'rules'")
        assert runs.fetchall() == [(0,)]  # refused before anything ran


def test_live_sink_sends_the_same_message_id_as_batch(receiver: Receiver) -> None:
    p = webhook_plan(receiver.url, 100.0)
    change = {
        "type": "segment.entered",
        "segment_id": "rule:vip",
        "profile_id": "P1",
        "at": "2026-11-25T12:00:00Z",
        "why": None,
        "profile": {"email": "a@b.fr"},
    }
    granted = WebhookSink(p, consent=lambda customer, purpose: purpose == "email")
    outcomes = asyncio.run(granted.emit(change))
    assert [o.status for o in outcomes] == ["delivered"]
    headers, body = receiver.requests[0]
    assert Webhook(SECRET).verify(body, headers)["data"]["fields"]["email"] == "a@b.fr"
    assert headers["webhook-id"] == delivery_id("crm", "rule:vip", "P1", "segment.entered", NOW)
    refused = WebhookSink(p, consent=lambda customer, purpose: False)
    assert asyncio.run(refused.emit(change)) == [] and refused.suppressed == {"email": 1}
    assert len(receiver.requests) == 1


def test_batches_commit_as_they_go_and_stop_at_a_410(
    ws_root: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audience.activation.workflows as module

    monkeypatch.setattr(module, "BATCH", 10)
    receiver.statuses = [204] * 10 + [410]
    p = webhook_plan(receiver.url, top_spenders(ws_root), concurrency=1)
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        warehouse.migrate()
        summary = activate(warehouse, p, ws_root, clock=FixedClock(NOW)).workflows[0].delivery
    assert summary is not None and summary.delivered == 10 and summary.disabled
    assert len(receiver.requests) == 11  # the batches after the 410 are not even tried
    sendable = summary.queued - sum(summary.suppressed.values())
    assert summary.held == sendable - 10 > 10
    assert state(ws_root) == {
        "delivered": 10,
        "pending": summary.held,
        "suppressed": sum(summary.suppressed.values()),
    }
