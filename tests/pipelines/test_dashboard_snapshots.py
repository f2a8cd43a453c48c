"""Records the demo keeps for the dashboard's slow pages: the pages read them and show the same
figures as computing them now; a change to what they summarise makes the pages compute again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from audience.pipelines import dashboard_segment, dashboard_views
from audience.pipelines.dashboard_refresh import refresh_page_snapshots
from audience.pipelines.demo import run_demo
from audience.store.workspace import Workspace
from tests.conftest import DEMO_END

pytestmark = pytest.mark.slow


@contextmanager
def _quiet(description: str) -> Iterator[Any]:
    yield lambda *args, **kwargs: None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("snapshots") / "demo"
    run_demo(root, 800, _quiet, seed=5, end=DEMO_END)
    return Workspace.open(root)


def _computing_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any page that computes instead of reading its snapshot raises."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("computed, not read from the snapshot")

    for name in ("cohort_grid", "map_of_run", "predictions_of_run", "exposures_now"):
        monkeypatch.setattr(dashboard_views, name, refuse)
    monkeypatch.setattr(dashboard_segment, "reach_by_segment", refuse)


def _largest_segment(demo: Workspace) -> str:
    with demo.warehouse(read_only=True) as warehouse:
        return str(
            warehouse.con.execute(
                "SELECT segment_id FROM memberships WHERE valid_to IS NULL "
                "GROUP BY segment_id ORDER BY count(*) DESC, segment_id LIMIT 1"
            ).fetchall()[0][0]
        )


def test_pages_read_the_kept_records_with_the_figures_computed_now(
    demo: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    tz, currency, segment = demo.config.timezone, demo.config.currency, _largest_segment(demo)
    with demo.warehouse(read_only=True) as warehouse:
        con = warehouse.con
        kept = {
            r[0].split(":")[0] for r in con.execute("SELECT name FROM page_snapshots").fetchall()
        }
        assert kept == {"cohorts", "map", "predictions", "reach", "exposures"}
        run = dashboard_views.clustering_run(con, None)
        assert run is not None
        now = {
            "cohorts": [dashboard_views.cohort_grid(con, tz, m) for m in ("retention", "revenue")],
            "map": dashboard_views.map_of_run(con, run),
            "predictions": dashboard_views.predictions_of_run(con, currency, run.run_id),
            "reach": dashboard_segment.reach_by_segment(con, [segment])[segment],
            "exposures": dashboard_views.exposures_now(con),
        }
        _computing_fails(monkeypatch)
        read = {
            "cohorts": [dashboard_views.cohorts(con, tz, m) for m in ("retention", "revenue")],
            "map": dashboard_views.segment_map(con),
            "predictions": dashboard_views.predictions_by_segment(con, currency),
            "reach": dashboard_segment.reach(con, segment),
            "exposures": getattr(dashboard_views.experiments(con), "exposures", None),
        }
    assert read == now
    assert now["reach"] and sum(now["cohorts"][0].sizes) > 0  # not trivially equal
    assert read["map"] is not None and len(read["map"].points) > 3


def test_a_change_to_orders_or_consents_makes_the_page_compute_again(
    demo: Workspace, tmp_path: Path
) -> None:
    tz, segment = demo.config.timezone, _largest_segment(demo)
    with demo.warehouse(read_only=True) as warehouse:
        before = dashboard_views.cohorts(warehouse.con, tz, "orders")
        reach_before = dashboard_segment.reach(warehouse.con, segment)
    assert before is not None
    with demo.warehouse() as warehouse, warehouse.transaction() as con:
        member = con.execute(
            "SELECT customer_id FROM memberships WHERE segment_id = ? AND valid_to IS NULL "
            "AND customer_id NOT IN (SELECT customer_id FROM current_consents "
            "WHERE purpose = 'email' AND status = 'granted') LIMIT 1",
            [segment],
        ).fetchall()[0][0]
        con.execute(  # a grant later than any other change: it is the current status
            "INSERT INTO consents (customer_id, purpose, status, changed_at, source) "
            "VALUES (?, 'email', 'granted', '2099-01-01', 'test')",
            [member],
        )
        con.execute(
            "INSERT INTO order_lines SELECT 'T-1', 1, ?, '2026-11-24 12:00', NULL, NULL, NULL, "
            "1, 10, 10, 0, 'EUR', NULL, 'test'",
            [member],
        )
    with demo.warehouse(read_only=True) as warehouse:
        after = dashboard_views.cohorts(warehouse.con, tz, "orders")
        reach_after = dashboard_segment.reach(warehouse.con, segment)
    assert after is not None
    total = lambda grid: sum(v or 0 for row in grid.values for v in row)  # noqa: E731
    assert total(after) == total(before) + 1
    email = {r.purpose: r for r in reach_before}["email"]
    assert {r.purpose: r for r in reach_after}["email"].granted == email.granted + 1
    with demo.warehouse() as warehouse, warehouse.transaction() as con:
        assert refresh_page_snapshots(con, demo.config, demo.clock.now()) > 0
        names = {r[0] for r in con.execute("SELECT name FROM page_snapshots").fetchall()}
        # an activation refreshes the reach alone; the others stay
        refresh_page_snapshots(con, demo.config, demo.clock.now(), ["reach"])
        assert {r[0] for r in con.execute("SELECT name FROM page_snapshots").fetchall()} == names
    with demo.warehouse(read_only=True) as warehouse:
        assert dashboard_views.cohorts(warehouse.con, tz, "orders") == after
