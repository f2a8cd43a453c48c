"""The live profile engine: counters, RFM, decay, identity stitching, consent, segments."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from audience.realtime.engine import LiveEngine, Plan, identity_keys
from audience.realtime.events import iso
from audience.realtime.live_profile import ProfileRules, view
from audience.realtime.live_segments import CentroidAssigner, PredicateEvaluator, PredicateRule

T0 = datetime(2026, 3, 1, tzinfo=UTC)
_ids = itertools.count()


def event(type_: str = "track", at: datetime = T0, **fields: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "messageId": f"m{next(_ids)}",
        "timestamp": iso(at),
        "receivedAt": iso(at),
        **fields,
    }


class Memory:
    """A dict-backed store that applies plans as the real stores do."""

    def __init__(self, engine: LiveEngine) -> None:
        self.engine = engine
        self.profiles: dict[str, dict[str, Any]] = {}
        self.ids: dict[str, str] = {}
        self.changes: list[dict[str, Any]] = []

    def send(self, e: dict[str, Any], now: datetime | None = None) -> Plan:
        resolved = {k: self.ids.get(k) for k in identity_keys(e)}
        pids = {*filter(None, resolved.values()), self.engine.target(e, resolved)}
        plan = self.engine.plan(
            e,
            resolved,
            {p: self.profiles.get(p) for p in pids},
            now or datetime.fromisoformat(e["timestamp"]),
        )
        self.profiles[plan.profile_id] = plan.profile
        self.ids.update(plan.identities)
        for removed in plan.removed:
            del self.profiles[removed]
        self.changes += plan.changes
        return plan

    def of(self, identity: str) -> dict[str, Any]:
        return self.profiles[self.ids[identity]]


def test_counters_rfm_and_last_seen() -> None:
    store = Memory(LiveEngine())
    store.send(event(userId="u", event="Order Completed", properties={"total": 40, "discount": 10}))
    store.send(
        event(
            at=T0 + timedelta(days=10),
            userId="u",
            event="Order Completed",
            properties={"revenue": "60.5"},
        )
    )
    store.send(event("page", at=T0 + timedelta(days=3), userId="u", name="Home"))
    p = store.of("user_id:u")
    assert p["counters"] == {"Order Completed": 2}
    assert p["event_types"] == {"track": 2, "page": 1}
    assert p["rfm"]["frequency"] == 2 and p["rfm"]["monetary"] == pytest.approx(100.5)
    assert p["last_seen"] == iso(T0 + timedelta(days=10))
    seen = view(p, T0 + timedelta(days=12), ProfileRules())
    assert seen["rfm"]["recency_days"] == pytest.approx(2.0)
    assert seen["features"]["mean_days_between"] == pytest.approx(10.0)
    assert seen["features"]["discount_share"] == pytest.approx(10 / 110.5)


def test_engagement_halves_over_one_half_life_and_late_events_weigh_less() -> None:
    rules = ProfileRules(half_life_days=10)
    store = Memory(LiveEngine(rules))
    store.send(event(userId="u", event="Email Opened"))
    p = store.of("user_id:u")
    assert view(p, T0 + timedelta(days=10), rules)["engagement"]["score"] == pytest.approx(0.5)
    store.send(event(at=T0 + timedelta(days=20), userId="u", event="Email Opened"))
    store.send(event(at=T0 + timedelta(days=10), userId="u", event="Email Opened"))  # late
    p = store.of("user_id:u")
    # As of day 20: 0.25 (day 0) + 1 (day 20) + 0.5 (day 10, arrived last).
    assert p["engagement"]["email_opens"] == pytest.approx(1.75)


def test_identify_merges_the_anonymous_profile_into_the_user() -> None:
    store = Memory(LiveEngine())
    store.send(event("page", anonymousId="a1", name="Home"))
    store.send(event(anonymousId="a1", event="Product Viewed"))
    store.send(event("identify", userId="u1", anonymousId="a1", traits={"email": "e@x.fr"}))
    assert list(store.profiles) == ["user_id:u1"]
    p = store.of("anonymous_id:a1")
    assert p["profile_id"] == "user_id:u1" and p["events_total"] == 3
    assert p["traits"] == {"email": "e@x.fr"}
    assert p["identities"] == {"user_id": ["u1"], "anonymous_id": ["a1"]}


def test_a_shared_device_does_not_merge_two_known_users() -> None:
    store = Memory(LiveEngine())
    store.send(event("identify", userId="u1", anonymousId="tablet"))
    store.send(event("identify", userId="u2", anonymousId="tablet"))
    assert set(store.profiles) == {"user_id:u1", "user_id:u2"}
    assert store.profiles["user_id:u2"]["events_total"] == 1


def test_alias_merges_the_previous_user_into_the_new_one_when_the_policy_allows() -> None:
    store = Memory(LiveEngine(merge_policy="allow"))
    store.send(event(userId="old", event="Order Completed", properties={"total": 5}))
    store.send(event(userId="new", event="Order Completed", properties={"total": 7}))
    store.send(event("alias", userId="new", previousId="old"))
    assert list(store.profiles) == ["user_id:new"]
    assert store.of("user_id:old")["rfm"]["monetary"] == 12


def test_consent_granted_then_withdrawn_and_older_news_ignored() -> None:
    store = Memory(LiveEngine())
    store.send(event("identify", userId="u", traits={"consent_email": True}))
    store.send(
        event("identify", at=T0 + timedelta(hours=2), userId="u", traits={"consent_email": False})
    )
    store.send(
        event("identify", at=T0 + timedelta(hours=1), userId="u", traits={"consent_email": True})
    )
    consent = store.of("user_id:u")["consents"]["email"]
    assert consent["status"] == "withdrawn"
    assert consent["changed_at"] == iso(T0 + timedelta(hours=2))


def test_segments_are_entered_and_exited_with_their_why() -> None:
    rules = [
        PredicateRule("buyers", lambda p: p["rfm"]["frequency"] >= 2, "2 orders or more"),
        PredicateRule("recent", lambda p: p["rfm"]["recency_days"] < 30, "ordered < 30 d"),
    ]
    store = Memory(LiveEngine(evaluator=PredicateEvaluator(rules)))
    store.send(event(userId="u", event="Order Completed"))
    store.send(event(at=T0 + timedelta(days=1), userId="u", event="Order Completed"))
    assert [(c["type"], c["segment_id"]) for c in store.changes] == [
        ("segment.entered", "recent"),
        ("segment.entered", "buyers"),
    ]
    since = store.of("user_id:u")["segments"]["recent"]["since"]
    assert since == iso(T0)
    store.send(event("page", at=T0 + timedelta(days=40), userId="u"), T0 + timedelta(days=40))
    assert store.changes[-1]["type"] == "segment.exited"
    assert store.changes[-1]["segment_id"] == "recent"
    assert set(store.of("user_id:u")["segments"]) == {"buyers"}


def test_the_deployed_model_assigns_a_cluster_that_changes_with_behaviour() -> None:
    model = CentroidAssigner(["frequency", "monetary"], [[0, 0], [5, 500]], scale=[1, 100])
    store = Memory(LiveEngine(assigner=model))
    store.send(event(userId="u", event="Product Viewed"))
    assert set(store.of("user_id:u")["segments"]) == {"cluster:0"}
    for _ in range(4):
        store.send(event(userId="u", event="Order Completed", properties={"total": 120}))
    assert set(store.of("user_id:u")["segments"]) == {"cluster:1"}
    assert [c["type"] for c in store.changes[-2:]] == ["segment.entered", "segment.exited"]


def test_a_merged_away_profile_exits_its_segments() -> None:
    rule = PredicateRule("browsers", lambda p: p["event_types"].get("page", 0) >= 1, "viewed")
    store = Memory(LiveEngine(evaluator=PredicateEvaluator([rule])))
    store.send(event("page", anonymousId="a"))
    store.send(event("identify", userId="u", anonymousId="a"))
    kinds = [(c["type"], c["profile_id"]) for c in store.changes]
    assert ("segment.exited", "anonymous_id:a") in kinds
    assert ("segment.entered", "user_id:u") in kinds
