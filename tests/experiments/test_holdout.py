"""Segment holdouts: defined in the rules YAML, left out by the consent filter (the one place
activation chooses who is sent), and measured by the lift sums."""

from __future__ import annotations

from pathlib import Path

from audience.activation.consent_filter import suppression_sql
from audience.experiments.holdout import SegmentHoldout, lift_stats, record_holdouts
from audience.model.bucketing import in_segment_holdout
from audience.rules.loading import load_activation
from audience.store.warehouse import Warehouse
from tests.experiments.segment_data import NOW


def test_rules_yaml_holdout_is_read(tmp_path: Path) -> None:
    (tmp_path / "audience.yaml").write_text("name: t\n", encoding="utf-8")
    (tmp_path / "segments").mkdir()
    (tmp_path / "segments" / "s.yaml").write_text(
        "segments:\n"
        "  - {name: vip, holdout: 5%, when: {field: frequency, gte: 5}}\n"
        "  - {name: all, when: {field: frequency, gte: 0}}\n",
        encoding="utf-8",
    )
    plan = load_activation(tmp_path, traits={})
    holdouts = {d.name: d.holdout for d in plan.definitions}
    assert holdouts == {"vip": 5.0, "all": 0.0}


def test_held_out_members_are_suppressed_for_every_purpose(warehouse: Warehouse) -> None:
    con = warehouse.con
    con.execute(
        "INSERT INTO consents SELECT unnest(?::VARCHAR[]), 'email', 'granted', ?, 'test', 'i'",
        [[f"p{i}" for i in range(2000)], NOW],
    )
    record_holdouts(con, {"rule:Buyers": SegmentHoldout("rule:Buyers", 10.0)}, NOW, "rule:")
    members = "SELECT customer_id, segment_id FROM memberships WHERE valid_to IS NULL"
    rows = con.execute(
        f"SELECT customer_id, segment_id, suppressed FROM ({suppression_sql(members, 'email')})"
    ).fetchall()
    buyers = {c: s for c, seg, s in rows if seg == "rule:Buyers"}
    held = {c for c, s in buyers.items() if s == "holdout"}
    assert held == {c for c in buyers if in_segment_holdout("rule:Buyers", c, 0.10)}
    assert 120 < len(held) < 280
    assert all(s is None for c, s in buyers.items() if c not in held)  # granted, targeted
    assert all(s is None for _, seg, s in rows if seg == "rule:VIP")  # no holdout there
    record_holdouts(con, {}, NOW, "rule:")  # the holdout removed from the definition
    rows = con.execute(f"SELECT suppressed FROM ({suppression_sql(members, 'email')})").fetchall()
    assert {r[0] for r in rows} == {None}


def test_lift_sums_split_holdout_and_targeted(warehouse: Warehouse) -> None:
    con = warehouse.con
    holdout = SegmentHoldout("rule:Buyers", 20.0, 30)
    stats = lift_stats(con, holdout, "revenue")
    held, targeted = stats.variants
    assert (held.name, targeted.name) == ("holdout", "targeted")
    assert held.n == sum(in_segment_holdout("rule:Buyers", f"p{i}", 0.2) for i in range(2000))
    assert held.n + targeted.n == 2000
    revenue = con.execute(
        """SELECT sum(total) FROM person_orders o JOIN memberships m USING (customer_id)
           WHERE m.segment_id = 'rule:Buyers' AND o.ordered_at >= m.valid_from
             AND o.ordered_at < m.valid_from + INTERVAL 30 DAY"""
    ).fetchone()
    assert revenue is not None
    assert abs(held.sum + targeted.sum - float(revenue[0])) < 1e-6


def test_cluster_runs_keep_the_configured_holdout(warehouse: Warehouse) -> None:
    from audience.experiments.holdout import record_run_holdouts
    from tests.experiments.segment_data import add_segment

    con = warehouse.con
    record_holdouts(con, {"rule:VIP": SegmentHoldout("rule:VIP", 5.0)}, NOW, "rule:")
    add_segment(con, "run-a:0", "Cluster A", ["p1", "p2"])
    add_segment(con, "run-b:0", "Cluster B", ["p3"])
    con.execute("UPDATE segments SET run_id = 'run-b' WHERE segment_id = 'run-b:0'")
    record_run_holdouts(con, "run-run-a:0", 10.0, NOW)
    rows = con.execute("SELECT segment_id, percent FROM segment_holdouts ORDER BY 1").fetchall()
    assert rows == [("rule:VIP", 5.0), ("run-a:0", 10.0)]
    record_run_holdouts(con, "run-b", 0.0, NOW)  # a new run without holdout: none for clusters
    rows = con.execute("SELECT segment_id FROM segment_holdouts").fetchall()
    assert rows == [("rule:VIP",)]
