"""Batch evaluation over the generated customers: sizes, history, priorities, live agreement."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from audience.config.activation import ActivationSettings
from audience.errors import ConfigError, InputError
from audience.model.activation_plan import ActivationPlan
from audience.pipelines.why import why
from audience.rules.evaluate import evaluate
from audience.rules.history import members, overlap
from audience.rules.live_evaluator import LiveEvaluator
from audience.rules.loading import plan_from_settings
from audience.store.warehouse import Warehouse
from tests.activation.conftest import NOW

RECENT = {"name": "recent", "when": {"field": "last_order_at", "within_last": "30d"}}
BIG = {"name": "big", "when": {"field": "monetary", "gte": 300}}
REPEAT = {
    "name": "repeat",
    "when": {
        "performed": "Order Completed",
        "at_least": 2,
        "within": "60d",
        "where": [{"property": "total", "gt": 20}],
    },
}
SILENT = {
    "name": "silent",
    "when": {
        "all": [
            {"field": "frequency", "gte": 1},
            {"did_not_perform": "Email Opened", "within": "30d"},
        ]
    },
}


def plan(*segments: dict[str, Any], groups: list[dict[str, Any]] | None = None) -> ActivationPlan:
    settings = {"segments": list(segments), "groups": groups or []}
    return plan_from_settings(ActivationSettings.model_validate(settings))


def run(root: Path, p: ActivationPlan, now: datetime = NOW) -> Any:
    with Warehouse(root / "warehouse.duckdb") as warehouse:
        warehouse.migrate()
        with warehouse.transaction() as con:
            return evaluate(con, p, now)


def query(root: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with Warehouse(root / "warehouse.duckdb") as warehouse:
        return warehouse.con.execute(sql, params or []).fetchall()


def current(root: Path, segment_id: str) -> set[str]:
    with Warehouse(root / "warehouse.duckdb") as warehouse:
        return {m.customer_id for m in members(warehouse.con, segment_id)}


def test_sizes_match_an_independent_count(ws_root: Path) -> None:
    result = run(ws_root, plan(RECENT, REPEAT))
    buyers = query(
        ws_root,
        """
        SELECT count(DISTINCT customer_id) FROM person_order_lines
        WHERE ordered_at BETWEEN ? AND TIMESTAMP '2026-11-25 00:00:00'""",  # features as of
        [NOW - timedelta(days=30)],
    )[0][0]
    repeaters = query(
        ws_root,
        """
        SELECT count(*) FROM (SELECT customer_id FROM person_events
            WHERE event = 'Order Completed' AND "timestamp" BETWEEN ? AND ?
              AND json_extract(properties, '$.total')::DOUBLE > 20
            GROUP BY customer_id HAVING count(*) >= 2)""",
        [NOW - timedelta(days=60), NOW],
    )[0][0]
    assert result.sizes == {"rule:recent": buyers, "rule:repeat": repeaters}
    assert 0 < buyers < result.n_people and repeaters > 0
    assert result.entered == result.sizes and result.exited == {}


def test_live_and_batch_agree_on_real_people(ws_root: Path) -> None:
    """Profiles built from the warehouse rows go through the live engine: same segments."""
    p = plan(RECENT, BIG, REPEAT, SILENT, groups=[{"name": "g", "segments": ["big", "recent"]}])
    run(ws_root, p)
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        frame = warehouse.con.execute("""
            SELECT customer_id, monetary, frequency,
                   as_of - to_microseconds(CAST(round(recency_days * 86400000000) AS BIGINT))
                     AS last_order_at
            FROM features ORDER BY customer_id LIMIT 400""").df()
        events: dict[str, list[dict[str, Any]]] = {}
        for cid, name, at, props in warehouse.con.execute("""
                SELECT customer_id, event, "timestamp", properties::VARCHAR FROM person_events
                WHERE customer_id IN (SELECT customer_id FROM features ORDER BY 1 LIMIT 400)
                  AND event IN ('Order Completed', 'Email Opened')""").fetchall():
            events.setdefault(cid, []).append(
                {"event": name, "timestamp": at, "properties": json.loads(props or "null")}
            )
        batch: dict[str, set[str]] = {}
        for cid, sid in warehouse.con.execute(
            "SELECT customer_id, segment_id FROM memberships WHERE valid_to IS NULL"
        ).fetchall():
            batch.setdefault(cid, set()).add(sid)
    live = LiveEvaluator(p)
    rows = frame.to_dict("records")
    assert len(rows) == 400
    compared: dict[str, set[str]] = {}
    for row in rows:
        profile = {k: (None if v != v else v) for k, v in row.items()}  # NaN / NaT -> missing
        if profile["last_order_at"] is not None:
            profile["last_order_at"] = profile["last_order_at"].to_pydatetime()
        profile["events"] = events.get(row["customer_id"], [])
        compared[row["customer_id"]] = set(live.matches(profile, NOW))
        assert compared[row["customer_id"]] == batch.get(row["customer_id"], set())
    # Not vacuous: every segment has members among these people, and not everyone is in all.
    reached = set().union(*compared.values())
    assert reached == {"rule:recent", "rule:big", "rule:repeat", "rule:silent"}
    assert any(not found for found in compared.values())


def test_time_alone_makes_people_exit_and_history_answers_as_of(ws_root: Path) -> None:
    p = plan(RECENT)
    first = run(ws_root, p)
    before = current(ws_root, "rule:recent")
    later = NOW + timedelta(days=20)
    second = run(ws_root, p, later)  # no new data, only the clock moved
    after = current(ws_root, "rule:recent")
    assert after < before and second.exited["rule:recent"] == len(before - after)
    assert second.entered.get("rule:recent", 0) == 0
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        then = {
            m.customer_id for m in members(warehouse.con, "rule:recent", NOW + timedelta(days=1))
        }
        now_ = {m.customer_id for m in members(warehouse.con, "rule:recent", later)}
        gone = members(warehouse.con, "rule:recent", NOW - timedelta(seconds=1))
    assert then == before and now_ == after and gone == []
    closed = query(ws_root, "SELECT DISTINCT valid_to FROM memberships WHERE valid_to IS NOT NULL")
    assert closed == [(later,)]
    assert first.sizes["rule:recent"] == len(before)


def test_exclusive_group_assigns_the_higher_priority_segment(ws_root: Path) -> None:
    twins = plan(BIG, RECENT)  # the same segments with no group: they overlap
    run(ws_root, twins)
    both = current(ws_root, "rule:big") & current(ws_root, "rule:recent")
    assert both, "the data should hold people in both"
    only_recent = current(ws_root, "rule:recent") - current(ws_root, "rule:big")
    grouped = plan(BIG, RECENT, groups=[{"name": "lifecycle", "segments": ["big", "recent"]}])
    result = run(ws_root, grouped, NOW + timedelta(seconds=1))
    assert current(ws_root, "rule:big") & current(ws_root, "rule:recent") == set()
    assert current(ws_root, "rule:recent") == only_recent
    assert result.exited["rule:recent"] == len(both)  # they left the lower priority segment
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        matrix = overlap(warehouse.con)
    names = [s["name"] for s in matrix["segments"]]
    i, j = names.index("big"), names.index("recent")
    assert matrix["matrix"][i][j] == 0 and matrix["matrix"][i][i] == result.sizes["rule:big"]


def test_overlap_matrix_counts_shared_members(ws_root: Path) -> None:
    run(ws_root, plan(BIG, RECENT, SILENT))
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        result = overlap(warehouse.con)
    ids = [s["segment_id"] for s in result["segments"]]
    assert ids == ["rule:big", "rule:recent", "rule:silent"], ids
    sizes = {a: len(current(ws_root, a)) for a in ids}
    assert all(sizes.values()), sizes  # each segment has members to count
    assert current(ws_root, "rule:big") & current(ws_root, "rule:recent")  # and some overlap
    for a, row in zip(ids, result["matrix"], strict=True):
        for b, n in zip(ids, row, strict=True):
            assert n == len(current(ws_root, a) & current(ws_root, b))


def test_entries_carry_their_trace(ws_root: Path) -> None:
    run(ws_root, plan({"name": "big_recent", "when": {"all": [BIG["when"], RECENT["when"]]}}))
    person = sorted(current(ws_root, "rule:big_recent"))[0]
    with Warehouse(ws_root / "warehouse.duckdb") as warehouse:
        explained = why(warehouse.con, person)
        monetary = warehouse.con.execute(
            "SELECT monetary FROM features WHERE customer_id = ?", [person]
        ).fetchall()[0][0]
    (segment,) = explained["segments"]
    assert segment["segment_id"] == "rule:big_recent" and segment["method"] == "rules"
    leaves = segment["conditions"]
    assert [leaf["path"] for leaf in leaves] == ["when.all.0", "when.all.1"]
    assert all(leaf["matched"] for leaf in leaves)
    assert leaves[0]["value"] == pytest.approx(monetary)
    assert leaves[0]["condition"] == "monetary ≥ 300"


def test_removed_definitions_are_closed_and_time_only_moves_forward(ws_root: Path) -> None:
    run(ws_root, plan(BIG, RECENT))
    size = len(current(ws_root, "rule:recent"))
    result = run(ws_root, plan(BIG), NOW + timedelta(hours=1))
    assert current(ws_root, "rule:recent") == set()
    assert result.exited == {"rule:recent": size}
    with pytest.raises(InputError, match="before the last evaluation"):
        run(ws_root, plan(BIG), NOW)


def test_unknown_stored_segment_is_refused_before_running(ws_root: Path) -> None:
    with pytest.raises(ConfigError, match="in_segment 'Champs' names no rule"):
        run(ws_root, plan({"name": "x", "when": {"in_segment": "Champs"}}))
    assert query(ws_root, "SELECT count(*) FROM memberships WHERE segment_id LIKE 'rule:%'") == [
        (0,)
    ]


def test_rules_over_clusters_and_why_of_a_cluster(segmented_root: Path) -> None:
    # The clustering run's smallest segment, whatever name the labelling gave it (the
    # fixture's run makes 4 segments on fixed data, so it is always there).
    segments = query(
        segmented_root,
        "SELECT segment_id, name FROM segments WHERE segment_id NOT LIKE 'rule:%' "
        "ORDER BY size, segment_id",
    )
    assert len(segments) == 4, segments
    mobile = {
        c
        for (c,) in query(
            segmented_root, "SELECT customer_id FROM features WHERE mobile_share > 0.3"
        )
    }

    def members_of(segment_id: str) -> set[str]:
        sql = "SELECT customer_id FROM memberships WHERE segment_id = ? AND valid_to IS NULL"
        return {c for (c,) in query(segmented_root, sql, [segment_id])}

    # A segment the rule splits: some of its members mobile, not all.
    name, members_ = next(
        (n, m) for s, n in segments if (m := members_of(s)) and m & mobile and not m <= mobile
    )
    run(
        segmented_root,
        plan(
            {
                "name": "mobile_members",
                "when": {"all": [{"in_segment": name}, {"field": "mobile_share", "gt": 0.3}]},
            }
        ),
    )
    inside = current(segmented_root, "rule:mobile_members")
    expected = mobile & members_
    assert inside == expected and inside and inside != members_  # the rule keeps some, not all
    person = sorted(inside)[0]
    with Warehouse(segmented_root / "warehouse.duckdb") as warehouse:
        explained = why(warehouse.con, person)
    cluster = next(s for s in explained["segments"] if s["method"] != "rules")
    distances = [d["distance"] for d in cluster["distances"]]
    assert len(distances) == 4
    assert cluster["name"] == name
    assert (
        cluster["nearest_segment"]
        == name
        == cluster["distances"][distances.index(min(distances))]["segment"]
    )
    # The stored score is 1 - nearest / second nearest distance.
    first, second = sorted(distances)[:2]
    assert cluster["score"] == pytest.approx(1 - first / second, abs=2e-3)
