"""Assignment: deterministic, stable as the segment grows, SQL == Python, namespaces exclusive,
weights honoured, exposures recorded once."""

from __future__ import annotations

import hashlib
import math

import duckdb
import pytest

from audience.errors import ExperimentError, NotInExperimentError
from audience.experiments.assignment import assign_members, assignment_of
from audience.experiments.definitions import definition
from audience.experiments.registry import create_experiment, stop_experiment
from audience.model.bucketing import HOLDOUT, Allocation, bucket, bucket_sql
from audience.store.warehouse import Warehouse
from tests.experiments.segment_data import NOW, add_segment


def test_bucket_is_the_documented_sha256_prefix() -> None:
    digest = hashlib.sha256(b"salt:person-1").digest()
    assert bucket("salt", "person-1") == int.from_bytes(digest[:4], "big") / 2**32
    assert bucket("salt", "person-1") == bucket("salt", "person-1")
    assert bucket("salt", "person-1") != bucket("other", "person-1")


def test_sql_and_python_buckets_agree_exactly() -> None:
    ids = [f"id-{i}" for i in range(5000)] + ["é-ü", "a'b", "", "x" * 300]
    con = duckdb.connect()
    expression = bucket_sql("'s'", "u")
    rows = con.execute(f"SELECT u, {expression} FROM unnest(?::VARCHAR[]) t(u)", [ids]).fetchall()
    assert len(rows) == len(ids)
    for unit, value in rows:
        assert value == bucket("s", unit)  # exact, not approximate


def test_sql_and_python_assignments_agree_exactly() -> None:
    allocation = Allocation(
        "e", "seg", "salt-1", "ns", 0.1, 0.85, 0.07, (("c", 1 / 3), ("t1", 1 / 3), ("t2", 1 / 3))
    )
    ids = [f"u{i}" for i in range(20000)]
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT u, {allocation.assign_sql('u')} FROM unnest(?::VARCHAR[]) t(u)", [ids]
    ).fetchall()
    mismatches = [(u, v) for u, v in rows if v != allocation.assign(u)]
    assert mismatches == []
    seen = {v for _, v in rows}
    assert seen == {None, HOLDOUT, "c", "t1", "t2"}


def test_weights_are_honoured_within_tolerance() -> None:
    allocation = Allocation("e", "s", "e", "e", 0.0, 1.0, 0.1, (("c", 0.2), ("t", 0.8)))
    n = 100_000
    counts: dict[str | None, int] = {}
    for i in range(n):
        v = allocation.assign(f"person-{i}")
        counts[v] = counts.get(v, 0) + 1
    expected = {HOLDOUT: 0.1, "c": 0.9 * 0.2, "t": 0.9 * 0.8}
    for name, share in expected.items():
        sd = math.sqrt(share * (1 - share) / n)
        assert abs(counts[name] / n - share) < 5 * sd, (name, counts[name])
    assert None not in counts


def test_same_variant_when_the_segment_grows(warehouse: Warehouse) -> None:
    con = warehouse.con
    experiment = create_experiment(con, definition("grow", "Buyers", "c:50,t:50"), NOW)
    before = dict(
        con.execute(
            "SELECT user_id, properties->>'variation_id' FROM events "
            "WHERE event = 'Experiment Viewed'"
        ).fetchall()
    )
    assert before == {}
    report = assign_members(con, experiment, NOW)
    assert report.members == 2000 and report.new_exposures == 2000
    first = dict(
        con.execute(
            "SELECT customer_id, variant FROM experiment_exposures WHERE experiment = 'grow'"
        ).fetchall()
    )
    add_segment(con, "rule:Buyers", "Buyers", [f"new{i}" for i in range(500)], NOW)
    again = assign_members(con, experiment, NOW)
    assert again.members == 2500 and again.new_exposures == 500  # the first 2000 not twice
    second = dict(
        con.execute(
            "SELECT customer_id, variant FROM experiment_exposures WHERE experiment = 'grow'"
        ).fetchall()
    )
    assert {k: second[k] for k in first} == first
    assert all(second[p] == experiment.allocation().assign(p) for p in second)


def test_namespaces_are_mutually_exclusive(warehouse: Warehouse) -> None:
    con = warehouse.con
    a = create_experiment(
        con, definition("a", "Buyers", "c:50,t:50", namespace="home", traffic=40), NOW
    )
    b = create_experiment(
        con, definition("b", "Buyers", "c:50,t:50", namespace="home", traffic=60), NOW
    )
    assert (a.range_start, a.range_end) == (0.0, 0.4)
    assert (b.range_start, b.range_end) == (0.4, 1.0)
    ra, rb = assign_members(con, a, NOW), assign_members(con, b, NOW)
    assert ra.new_exposures > 600 and rb.new_exposures > 1000
    shared = con.execute(
        """SELECT count(*) FROM experiment_exposures x JOIN experiment_exposures y
           USING (customer_id) WHERE x.experiment = 'a' AND y.experiment = 'b'"""
    ).fetchone()
    assert shared == (0,)
    assert ra.new_exposures + rb.new_exposures == 2000  # together they cover everyone
    with pytest.raises(ExperimentError, match="namespace 'home' has 0% free"):
        create_experiment(con, definition("c", "Buyers", "c:50,t:50", namespace="home"), NOW)
    stop_experiment(con, "a", NOW)
    c = create_experiment(
        con, definition("c", "Buyers", "c:50,t:50", namespace="home", traffic=40), NOW
    )
    assert (c.range_start, c.range_end) == (0.0, 0.4)


def test_holdout_is_not_exposed(warehouse: Warehouse) -> None:
    con = warehouse.con
    experiment = create_experiment(con, definition("h", "Buyers", "c:50,t:50", holdout="10%"), NOW)
    report = assign_members(con, experiment, NOW)
    assert 120 < report.holdout < 280
    assert report.new_exposures == 2000 - report.holdout
    assert sum(report.variants.values()) == report.new_exposures


def test_person_outside_the_segment_is_refused(warehouse: Warehouse) -> None:
    con = warehouse.con
    experiment = create_experiment(con, definition("o", "VIP", "c:50,t:50"), NOW)
    assert assignment_of(con, experiment, "p1") == experiment.allocation().assign("p1")
    with pytest.raises(NotInExperimentError, match="not in segment 'VIP'"):
        assignment_of(con, experiment, "p1999")


def test_stopped_experiment_assigns_no_one(warehouse: Warehouse) -> None:
    con = warehouse.con
    create_experiment(con, definition("s", "Buyers", "c:50,t:50"), NOW)
    stopped = stop_experiment(con, "s", NOW)
    assert stopped.status == "stopped"
    with pytest.raises(ExperimentError, match="stopped"):
        assign_members(con, stopped, NOW)
