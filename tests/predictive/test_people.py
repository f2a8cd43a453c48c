"""Scores count persons: after cleaning, no record merged into another person is scored.

The generated demo plants duplicate CRM records with orders under both; `audience clean`
merges them. Churn, CLV, cohorts and the bands must then see one customer per profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from audience.ingest.demo.generate import GeneratedFiles
from audience.ingest.importer import import_file
from audience.predictive.churn import ChurnRun, run_churn
from audience.predictive.clv import ClvOptions, ClvRun, run_clv
from audience.predictive.cohorts import cohort_table
from audience.quality.clean import clean_workspace
from audience.store.clock import SYSTEM_CLOCK
from audience.store.workspace import Workspace


@dataclass
class Cleaned:
    ws: Workspace
    churn: ChurnRun
    clv: ClvRun
    merged_away: set[str]


@pytest.fixture(scope="module")
def cleaned(demo_files: GeneratedFiles, tmp_path_factory: pytest.TempPathFactory) -> Cleaned:
    ws = Workspace.init(tmp_path_factory.mktemp("people") / "ws")
    for kind, path in (
        ("customers", demo_files.customers),
        ("orders", demo_files.orders),
        ("events", demo_files.events),
    ):
        import_file(ws, kind, path)
    now = SYSTEM_CLOCK.now()
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        clean_workspace(con, ws.config, now)
        churn = run_churn(con, ws.config, "90d", now=now)
        clv = run_clv(con, ws.config, ClvOptions.from_settings(ws.config.predictive), now)
        merged = con.execute(
            "SELECT record_id FROM profile_members WHERE record_id <> profile_id"
        ).fetchall()
    return Cleaned(ws, churn, clv, {r[0] for r in merged})


def test_cleaning_merged_records_that_had_orders(cleaned: Cleaned) -> None:
    with cleaned.ws.warehouse(read_only=True) as warehouse:
        with_orders = warehouse.con.execute(
            "SELECT count(DISTINCT customer_id) FROM order_lines WHERE customer_id IN "
            "(SELECT record_id FROM profile_members WHERE record_id <> profile_id)"
        ).fetchall()[0][0]
    assert len(cleaned.merged_away) > 50
    assert with_orders > 20  # otherwise the tests below would prove nothing


def test_no_merged_away_record_gets_a_score_or_a_membership(cleaned: Cleaned) -> None:
    with cleaned.ws.warehouse(read_only=True) as warehouse:
        scored = {
            r[0] for r in warehouse.con.execute("SELECT customer_id FROM predictions").fetchall()
        }
        members = {
            r[0]
            for r in warehouse.con.execute(
                """SELECT m.customer_id FROM memberships m JOIN segment_runs r USING (run_id)
                   WHERE r.method IN ('churn_bands', 'clv_tiers')"""
            ).fetchall()
        }
    assert scored and members
    assert not scored & cleaned.merged_away
    assert not members & cleaned.merged_away


def test_each_population_counts_persons_and_says_so(cleaned: Cleaned) -> None:
    ws = cleaned.ws
    with ws.warehouse(read_only=True) as warehouse:
        con = warehouse.con
        profiles = con.execute("SELECT count(*) FROM profiles").fetchall()[0][0]
        known = con.execute(
            """SELECT count(*) FROM (SELECT profile_id FROM profiles
               UNION SELECT customer_id FROM person_order_lines
               UNION SELECT customer_id FROM person_events WHERE customer_id IS NOT NULL)"""
        ).fetchall()[0][0]
        buyers = con.execute(
            "SELECT count(DISTINCT customer_id) FROM person_order_lines"
        ).fetchall()[0][0]
        records_with_orders = con.execute(
            "SELECT count(DISTINCT customer_id) FROM order_lines"
        ).fetchall()[0][0]
        cohorts = cohort_table(con, ws.config.timezone)
    assert cleaned.churn.population == known == profiles
    assert cleaned.clv.population == buyers == cohorts["population"] < records_with_orders
    for result in (cleaned.churn.to_dict(), cleaned.clv.to_dict(), cohorts):
        assert isinstance(result["population"], int)
        assert "persons" in result["population_definition"]


def test_demo_data_fit_every_model_and_churn_beats_the_base_rate(cleaned: Cleaned) -> None:
    spend = cleaned.clv.spend_model
    assert spend["convergence"].startswith("CONVERGENCE") and not spend["warnings"]
    assert 1 < spend["parameters"]["p"]["estimate"] < 50
    assert spend["parameters"]["q"]["estimate"] > 1
    m = cleaned.churn.metrics
    assert m["beats_base_rate"] and cleaned.churn.bands_written
    assert m["brier_skill_score"] > 0.2
    assert m["log_loss"] < m["log_loss_base_rate"]
    assert 0.7 < m["calibration"]["slope"] < 1.4
    bins = m["calibration"]["reliability"]
    assert sum(b["n"] for b in bins) == m["n_customers"]
    assert all(abs(b["mean_predicted"] - b["observed"]) < 0.25 for b in bins if b["n"] >= 100)


def test_next_purchase_dates_stay_within_the_horizon(cleaned: Cleaned) -> None:
    run = cleaned.clv
    with cleaned.ws.warehouse(read_only=True) as warehouse:
        latest, none_expected = warehouse.con.execute(
            "SELECT max(next_purchase_on), count(*) FILTER (WHERE next_purchase_on IS NULL) "
            "FROM predictions WHERE run_id = ?",
            [run.run_id],
        ).fetchall()[0]
        last_day = warehouse.con.execute(
            "SELECT as_of FROM prediction_runs WHERE run_id = ?", [run.run_id]
        ).fetchall()[0][0]
    assert latest <= last_day + timedelta(days=run.options.horizon_days)
    assert run.next_purchase == {
        "within_horizon": run.population - none_expected,
        "none_expected": none_expected,
    }
    assert none_expected > 0  # the dormant persona is not expected back within a year
