"""CLV and churn per segment, and rule segment sizes, as the run report reads them."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from audience.report.predictions import predictive_sections
from audience.store.workspace import Workspace

NOW = datetime(2025, 6, 1, 12)
RUN = "run-1"


def _segment_run(con: duckdb.DuckDBPyConnection, run_id: str, method: str) -> None:
    con.execute(
        """INSERT INTO segment_runs (run_id, created_at, method, params, features, preprocessing,
               metrics, selection, model, n_customers)
           VALUES (?, ?, ?, '{}', '[]', '{}', '{}', '[]', '{}', 6)""",
        [run_id, NOW, method],
    )


def _segmentation(con: duckdb.DuckDBPyConnection) -> None:
    """Two segments: A holds c1..c4, B holds c5 and c6 (c6 never bought, so no CLV)."""
    _segment_run(con, RUN, "kmeans")
    for label, name, members in ((0, "A", ["c1", "c2", "c3", "c4"]), (1, "B", ["c5", "c6"])):
        con.execute(
            "INSERT INTO segments VALUES (?, ?, ?, ?, '', ?, '{}')",
            [f"{RUN}:{label}", RUN, label, name, len(members)],
        )
        for customer in members:
            con.execute(
                "INSERT INTO memberships VALUES (?, ?, ?, NULL, ?, NULL)",
                [customer, f"{RUN}:{label}", RUN, NOW],
            )


def _prediction_run(con: duckdb.DuckDBPyConnection, run_id: str, kind: str, n: int) -> None:
    metrics = '{"auc": 0.8, "brier": 0.1, "brier_base_rate": 0.2, "beats_base_rate": true}'
    con.execute(
        "INSERT INTO prediction_runs VALUES (?, ?, ?, DATE '2025-05-31', '{}', '{}', ?, ?, true)",
        [run_id, kind, NOW, metrics if kind == "churn" else "{}", n],
    )


@pytest.fixture
def con(workspace: Workspace) -> duckdb.DuckDBPyConnection:
    warehouse = workspace.warehouse()
    _segmentation(warehouse.con)
    return warehouse.con


def test_nothing_but_the_segmentation_gives_empty_sections(con: duckdb.DuckDBPyConnection) -> None:
    sections = predictive_sections(con, RUN, ["A", "B"])
    assert sections.clv_run is None and sections.clv == [] and sections.clv_chart is None
    assert sections.churn_run is None and sections.churn == []
    assert sections.rule_segments == [] and sections.failures == []


def test_clv_per_segment_counts_members_and_only_scores_the_scored(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _prediction_run(con, "clv-1", "clv", 5)
    for customer, clv in (("c1", 10.0), ("c2", 20.0), ("c3", 30.0), ("c4", 40.0), ("c5", 500.0)):
        con.execute(
            "INSERT INTO predictions (run_id, customer_id, kind, clv) VALUES ('clv-1', ?, 'clv', ?)",
            [customer, clv],
        )
    sections = predictive_sections(con, RUN, ["A", "B"], ["churn not computed: on purpose"])
    a, b = sections.clv
    assert (a.segment, a.members, a.scored, a.mean, a.total) == ("A", 4, 4, 25.0, 100.0)
    assert a.quantiles[2] == pytest.approx(25.0)  # the median of 10, 20, 30, 40
    assert a.quantiles[0] == pytest.approx(13.0)  # p10, linear interpolation
    assert (b.members, b.scored, b.mean) == (2, 1, 500.0)
    assert sections.clv_chart is None  # no segment has the 5 scored members a box needs
    assert sections.failures == ["churn not computed: on purpose"]


def test_churn_per_segment_gives_the_share_of_members_in_each_current_band(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _prediction_run(con, "churn-1", "churn", 6)
    probabilities = {"c1": 0.9, "c2": 0.8, "c3": 0.1, "c4": 0.2, "c5": 0.5, "c6": 0.95}
    for customer, p in probabilities.items():
        con.execute(
            "INSERT INTO predictions (run_id, customer_id, kind, churn_probability) "
            "VALUES ('churn-1', ?, 'churn', ?)",
            [customer, p],
        )
    _segment_run(con, "bands-1", "churn_bands")
    for label, name in ((0, "High"), (1, "Low")):
        con.execute(
            "INSERT INTO segments VALUES (?, 'bands-1', ?, ?, '', 0, '{}')",
            [f"bands-1:{label}", label, name],
        )
    for customer, p in probabilities.items():
        band = "bands-1:0" if p >= 0.5 else "bands-1:1"
        con.execute(
            "INSERT INTO memberships VALUES (?, ?, 'bands-1', NULL, ?, NULL)", [customer, band, NOW]
        )
    # A closed band membership of an earlier run counts for nothing.
    con.execute(
        "INSERT INTO memberships VALUES ('c3', 'bands-1:0', 'bands-0', NULL, ?, ?)", [NOW, NOW]
    )
    sections = predictive_sections(con, RUN, ["A", "B"])
    assert sections.churn_run is not None and sections.churn_run.metrics["auc"] == 0.8
    assert sections.churn_bands == ["High", "Low"]
    a, b = sections.churn
    assert a.mean == pytest.approx(0.5) and a.bands == {"High": 0.5, "Low": 0.5}
    assert b.bands == {"High": 1.0}


def test_rule_segments_are_the_current_rule_memberships(con: duckdb.DuckDBPyConnection) -> None:
    for customer in ("c1", "c2", "c3"):
        con.execute(
            "INSERT INTO memberships VALUES (?, 'rule:vip', 'rules-1', NULL, ?, NULL)",
            [customer, NOW],
        )
    con.execute(
        "INSERT INTO memberships VALUES ('c4', 'rule:vip', 'rules-0', NULL, ?, ?)", [NOW, NOW]
    )
    con.execute(
        "INSERT INTO memberships VALUES ('c5', 'rule:lapsed', 'rules-1', NULL, ?, NULL)", [NOW]
    )
    assert predictive_sections(con, RUN, ["A", "B"]).rule_segments == [
        {"segment": "vip", "members": 3},
        {"segment": "lapsed", "members": 1},
    ]
