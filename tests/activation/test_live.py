"""The live API: one profile, traces, group priorities, and what a profile must carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from audience.config.activation import ActivationSettings
from audience.rules.live_evaluator import LiveEvaluator, counter_key
from audience.rules.loading import plan_from_settings

NOW = datetime(2026, 11, 25, 12, 0, 0)


def evaluator(
    segments: list[dict[str, object]], groups: list[dict[str, object]] | None = None
) -> LiveEvaluator:
    settings = ActivationSettings.model_validate({"segments": segments, "groups": groups or []})
    return LiveEvaluator(plan_from_settings(settings))


def order(days_ago: float, total: float) -> dict[str, object]:
    return {
        "event": "Order Completed",
        "timestamp": NOW - timedelta(days=days_ago),
        "properties": {"total": total},
    }


def test_exclusive_group_keeps_the_highest_priority_match() -> None:
    live = evaluator(
        [
            {"name": "vip", "when": {"field": "monetary", "gte": 1000}},
            {"name": "active", "when": {"field": "frequency", "gte": 2}},
            {"name": "mobile", "when": {"field": "mobile_share", "gt": 0.5}},
        ],
        [{"name": "lifecycle", "segments": ["vip", "active"]}],
    )
    both = {"monetary": 1500, "frequency": 5, "mobile_share": 0.9}
    assert live.matches(both, NOW) == ["rule:vip", "rule:mobile"]  # mobile is in no group
    assert live.matches({"monetary": 10, "frequency": 5}, NOW) == ["rule:active"]
    assert live.matches({}, NOW) == []


def test_trace_shows_every_leaf_with_the_values_seen() -> None:
    live = evaluator(
        [
            {
                "name": "big_recent",
                "when": {
                    "all": [
                        {"field": "monetary", "gte": 500},
                        {
                            "any": [
                                {"field": "city", "eq": "Paris"},
                                {"not": {"field": "email", "exists": True}},
                            ]
                        },
                        {
                            "performed": "Order Completed",
                            "at_least": 2,
                            "within": "30d",
                            "where": [{"property": "total", "gt": 50}],
                        },
                    ]
                },
            }
        ]
    )
    profile = {
        "monetary": 812.5,
        "city": "Lyon",
        "events": [order(3, 60), order(10, 80), order(45, 90)],
    }
    traces = live.evaluate(profile, NOW)
    trace = traces["rule:big_recent"]
    seen = {leaf.path: (leaf.value, leaf.matched) for leaf in trace.leaves}
    assert seen == {
        "when.all.0": (812.5, True),
        "when.all.1.any.0": ("Lyon", False),
        "when.all.1.any.1.not": (None, False),  # no email: exists is false, so not(...) holds
        "when.all.2": (2, True),  # the 45-day-old order is outside the window
    }
    assert "total > 50" in trace.leaves[3].condition
    assert live.evaluate({**profile, "email": "a@b.fr"}, NOW) == {}


def test_event_counts_given_by_the_consumer_win_over_events() -> None:
    live = evaluator(
        [{"name": "twice", "when": {"performed": "Order Completed", "at_least": 2, "within": "7d"}}]
    )
    (counter,) = live.counters
    key = counter_key(counter)
    assert key == "performed 'Order Completed' at least 1 time(s) in the last 1w"
    assert live.matches({"event_counts": {key: 2}}, NOW) == ["rule:twice"]
    assert live.matches({"event_counts": {key: 1}, "events": [order(1, 5)] * 3}, NOW) == []
    assert live.event_names == frozenset({"Order Completed"})
    assert live.event_horizon == timedelta(days=7)


def test_time_alone_moves_people_out() -> None:
    live = evaluator([{"name": "new", "when": {"field": "signup_at", "within_last": "30d"}}])
    profile = {"signup_at": NOW - timedelta(days=29)}
    assert live.matches(profile, NOW) == ["rule:new"]
    assert live.matches(profile, NOW + timedelta(days=2)) == []


def test_aware_times_are_compared_in_utc() -> None:
    live = evaluator([{"name": "new", "when": {"field": "signup_at", "within_last": "1h"}}])
    paris = timezone(timedelta(hours=1))
    signed_up = datetime(2026, 11, 25, 12, 30, tzinfo=paris)  # 11:30 UTC
    assert live.matches({"signup_at": signed_up}, NOW) == ["rule:new"]
    assert live.matches({"signup_at": signed_up.isoformat()}, NOW.replace(tzinfo=UTC)) == [
        "rule:new"
    ]
    assert live.matches({"signup_at": signed_up}, NOW + timedelta(hours=1)) == []


def test_rule_references_and_stored_segments() -> None:
    live = evaluator(
        [
            {"name": "buyers", "when": {"field": "frequency", "gte": 1}},
            {
                "name": "loyal_champions",
                "when": {"all": [{"in_segment": "buyers"}, {"in_segment": "Champions"}]},
            },
        ]
    )
    assert live.required_fields == {"frequency": "number"}
    assert live.matches({"frequency": 3, "segments": ["Champions"]}, NOW) == [
        "rule:buyers",
        "rule:loyal_champions",
    ]
    assert live.matches({"frequency": 3, "segments": ["run-1:0"]}, NOW) == ["rule:buyers"]
    assert live.matches({"frequency": 0, "segments": ["Champions"]}, NOW) == []
    assert live.event_horizon == timedelta(0)
