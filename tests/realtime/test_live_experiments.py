"""The live profile carries the variant batch assignment gives the same person."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from audience.experiments.assignment import assign_members
from audience.experiments.definitions import definition
from audience.experiments.registry import create_experiment
from audience.model.bucketing import HOLDOUT
from audience.realtime.engine import LiveEngine
from audience.realtime.live_segments import PredicateEvaluator, PredicateRule
from audience.store.warehouse import Warehouse
from tests.experiments.segment_data import NOW, make_workspace
from tests.realtime.test_engine import Memory, event


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    """The experiments' small warehouse (:mod:`tests.experiments.segment_data`)."""
    with make_workspace(tmp_path / "ws").warehouse() as warehouse:
        yield warehouse


def test_live_profiles_carry_the_batch_variant(warehouse: Warehouse) -> None:
    con = warehouse.con
    experiment = create_experiment(
        con, definition("live", "VIP", "control:30,a:30,b:40", holdout=10), NOW
    )
    assign_members(con, experiment, NOW)
    batch = dict(
        con.execute(
            "SELECT customer_id, variant FROM experiment_exposures WHERE experiment = 'live'"
        ).fetchall()
    )
    # VIP, live: the persons p0..p666 (the batch segment), as a live rule on a trait.
    vip = PredicateRule("rule:VIP", lambda p: p["traits"].get("vip") is True, "vip trait")
    engine = LiveEngine(evaluator=PredicateEvaluator([vip]), experiments=[experiment.allocation()])
    store = Memory(engine)
    at = NOW.replace(tzinfo=UTC)
    seen: dict[str, str] = {}
    for i in range(0, 2000, 7):
        user = f"p{i}"
        store.send(event("identify", at, userId=user, traits={"vip": i < 2000 // 3}))
        profile = store.of(f"user_id:{user}")
        if i < 2000 // 3:
            seen[user] = profile["experiments"]["live"]
        else:
            assert "live" not in profile.get("experiments", {})  # outside the segment
    held = [u for u, v in seen.items() if v == HOLDOUT]
    assert held and len(held) < len(seen) // 3
    assert {u: v for u, v in seen.items() if v != HOLDOUT} == {
        u: batch[u] for u in seen if u in batch
    }
    assert set(held).isdisjoint(batch)  # the holdout is not exposed in batch either


def test_an_assignment_stays_when_she_leaves_the_segment() -> None:
    from audience.model.bucketing import Allocation

    allocation = Allocation("e", "rule:s", "e", "e", 0.0, 1.0, 0.0, (("c", 0.5), ("t", 0.5)))
    rule = PredicateRule("rule:s", lambda p: p["traits"].get("in") is True, "in")
    store = Memory(LiveEngine(evaluator=PredicateEvaluator([rule]), experiments=[allocation]))
    at = NOW.replace(tzinfo=UTC)
    store.send(event("identify", at, userId="u1", traits={"in": True}))
    first = store.of("user_id:u1")["experiments"]["e"]
    assert first == allocation.assign("u1")
    store.send(event("identify", at, userId="u1", traits={"in": False}))
    profile = store.of("user_id:u1")
    assert "rule:s" not in profile["segments"] and profile["experiments"] == {"e": first}
