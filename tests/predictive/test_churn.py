"""Churn propensity on generated data: time split, calibrated scores, bands, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audience.errors import InputError, ModelError
from audience.ingest.demo.generate import GeneratedFiles
from audience.ingest.importer import import_file
from audience.predictive.churn import churn_horizon_days, lift_top_decile, run_churn
from audience.store.clock import SYSTEM_CLOCK
from audience.store.workspace import Workspace
from tests.conftest import write


@pytest.fixture(scope="module")
def demo_ws(demo_files: GeneratedFiles, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace.init(tmp_path_factory.mktemp("churn") / "ws")
    import_file(ws, "customers", demo_files.customers)
    import_file(ws, "orders", demo_files.orders)
    import_file(ws, "events", demo_files.events)
    return ws


def test_scores_every_profile_and_beats_the_base_rate(demo_ws: Workspace) -> None:
    with demo_ws.warehouse() as warehouse, warehouse.transaction() as con:
        run = run_churn(con, demo_ws.config, "90d", now=SYSTEM_CLOCK.now())
        profiles = con.execute(
            """SELECT count(*) FROM (SELECT customer_id FROM customers
               UNION SELECT customer_id FROM order_lines)"""
        ).fetchall()[0][0]
        scored = con.execute(
            "SELECT count(*), min(churn_probability), max(churn_probability) "
            "FROM customer_predictions WHERE churn_probability IS NOT NULL"
        ).fetchall()[0]
        bands = con.execute(
            """SELECT sum(s.size) FROM segments s JOIN segment_runs r USING (run_id)
               WHERE r.method = 'churn_bands'"""
        ).fetchall()[0][0]
    m = run.metrics
    assert run.cutoffs["train"] < run.cutoffs["holdout"] < run.cutoffs["scoring"]
    assert m["auc"] > 0.7
    assert m["brier"] < m["brier_base_rate"]  # calibrated scores beat predicting the rate
    assert m["lift_top_decile"] > 1.2
    assert abs(m["mean_predicted"] - m["churn_rate"]) < 0.1  # calibration in the large
    assert scored[0] == run.n_scored >= profiles
    assert 0 <= scored[1] < scored[2] <= 1
    assert bands == run.n_scored
    assert run.importances[0]["feature"] in {
        "recency_days",
        "overdue_ratio",
        "purchases_90d",
        "purchases_365d",
        "days_since_last_event",
    }


def test_lift_of_a_perfect_ranking_is_the_inverse_base_rate() -> None:
    y = np.array([1] * 20 + [0] * 80)
    assert lift_top_decile(y, y + 0.0) == pytest.approx(5.0)
    assert lift_top_decile(y, np.ones(100) * 0.5) == pytest.approx(5.0)  # ties: stable order
    assert lift_top_decile(y, -y + 0.0) == pytest.approx(0.0)


def test_horizon_must_be_a_duration() -> None:
    assert churn_horizon_days("90d") == 90
    assert churn_horizon_days("2w") == 14
    with pytest.raises(InputError, match="'90' is not a duration"):
        churn_horizon_days("90")


def test_too_short_a_history_is_a_clear_error(workspace: Workspace, tmp_path: Path) -> None:
    write(tmp_path / "o.csv", "customer_id,ordered_at,amount\nA,2026-01-01,10\nB,2026-02-01,5\n")
    import_file(workspace, "orders", tmp_path / "o.csv", one_order_per_line=True)
    with (
        workspace.warehouse() as warehouse,
        warehouse.transaction() as con,
        pytest.raises(InputError, match="needs more than 180 days of history"),
    ):
        run_churn(con, workspace.config, "90d", now=SYSTEM_CLOCK.now())
    with (
        workspace.warehouse() as warehouse,
        warehouse.transaction() as con,
        pytest.raises(ModelError, match="too few of one class"),
    ):
        run_churn(con, workspace.config, "7d", now=SYSTEM_CLOCK.now())
