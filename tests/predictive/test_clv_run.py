"""A CLV run end to end on the warehouse: stored scores, tiers, validation, bad input."""

from __future__ import annotations

import itertools
import json
from datetime import date
from pathlib import Path

import pytest

from audience.errors import InputError
from audience.ingest.importer import import_file
from audience.predictive.clv import ClvOptions, horizon_to_days, run_clv
from audience.store.clock import SYSTEM_CLOCK
from audience.store.workspace import Workspace
from tests.conftest import write


def _run(ws: Workspace, **options: object) -> object:
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        return run_clv(con, ws.config, ClvOptions(**options), SYSTEM_CLOCK.now())  # type: ignore[arg-type]


def test_scores_every_customer_and_puts_them_into_tiers(cdnow_copy: Workspace) -> None:
    run = _run(cdnow_copy, calibration_end=date(1997, 9, 30))
    with cdnow_copy.warehouse(read_only=True) as warehouse:
        rows = warehouse.con.execute(
            """SELECT count(*), count(DISTINCT customer_id), min(p_alive), max(p_alive),
                      bool_and(clv_low <= clv AND clv <= clv_high), bool_and(clv <= expected_spend),
                      min(next_purchase_on)
               FROM customer_predictions"""
        ).fetchall()[0]
        stored = warehouse.con.execute(
            "SELECT scored, model->>'$.transactions.model' FROM prediction_runs"
        ).fetchall()
        tiers = warehouse.con.execute(
            """SELECT s.name, count(*), min(m.score), max(m.score) FROM memberships m
               JOIN segments s USING (segment_id) JOIN segment_runs r ON r.run_id = m.run_id
               WHERE r.method = 'clv_tiers' AND m.valid_to IS NULL GROUP BY s.name, s.label
               ORDER BY s.label"""
        ).fetchall()
    n, distinct, p_min, p_max, ordered, discounted, first_next = rows
    assert n == distinct == 2357
    assert 0 <= p_min < p_max <= 1
    assert ordered
    assert discounted  # discounting lowers CLV below undiscounted spend
    assert first_next > date(1997, 9, 30)
    assert stored == [(True, "BG/NBD")]
    assert [t[0] for t in tiers] == ["Top CLV", "High CLV", "Medium CLV", "Low CLV"]
    assert sum(t[1] for t in tiers) == 2357
    assert tiers[0][1] == pytest.approx(0.1 * 2357, abs=2)
    for higher, lower in itertools.pairwise(tiers):
        assert higher[2] >= lower[3]  # tiers do not overlap
    assert run.tiers is not None  # type: ignore[attr-defined]


def test_a_new_run_closes_the_memberships_of_the_previous_one(cdnow_copy: Workspace) -> None:
    first = _run(cdnow_copy)
    second = _run(cdnow_copy, model="pnbd")
    with cdnow_copy.warehouse(read_only=True) as warehouse:
        current = warehouse.con.execute(
            "SELECT DISTINCT run_id FROM memberships WHERE valid_to IS NULL"
        ).fetchall()
        closed = warehouse.con.execute(
            "SELECT count(*) FROM memberships WHERE valid_to IS NOT NULL AND run_id = ?",
            [first.tiers["run_id"]],  # type: ignore[attr-defined]
        ).fetchall()[0][0]
        latest = warehouse.con.execute(
            "SELECT DISTINCT clv_run_id FROM customer_predictions"
        ).fetchall()
    assert current == [(second.tiers["run_id"],)]  # type: ignore[attr-defined]
    assert closed == 2357
    assert latest == [(second.run_id,)]  # type: ignore[attr-defined]


def test_holdout_run_validates_without_replacing_scores(cdnow_copy: Workspace) -> None:
    run = _run(cdnow_copy, calibration_end=date(1997, 9, 30), holdout_end=date(1998, 6, 30))
    result = run.to_dict()  # type: ignore[attr-defined]
    assert result["scored"] is False
    validation, tracking = result["validation"], result["tracking"]
    assert validation["customers"] == 2357
    assert validation["actual_total"] > 1000
    assert validation["mae"] > 0
    assert [row["frequency"] for row in validation["by_frequency"]][-1] == "7+"
    assert len(tracking["week_end"]) == 78  # 39 calibration + 39 hold-out weeks
    assert tracking["actual_cumulative"] == sorted(tracking["actual_cumulative"])
    assert tracking["holdout_cumulative_mape_pct"] < 10
    json.dumps(result, default=str)
    with cdnow_copy.warehouse(read_only=True) as warehouse:
        assert warehouse.count("predictions") == 0
        assert warehouse.count("prediction_runs") == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"calibration_end": date(1990, 1, 1)}, "before the first order"),
        (
            {"calibration_end": date(1997, 9, 30), "holdout_end": date(1997, 9, 1)},
            "must come after the calibration end",
        ),
        ({"calibration_end": date(1997, 1, 1)}, "no customer made a repeat purchase"),
    ],
)
def test_bad_dates_are_clear_errors(
    cdnow: Workspace, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError if "repeat" in message else InputError, match=message):
        _run(cdnow, **options)


def test_horizon_must_be_a_duration() -> None:
    assert horizon_to_days("52", "week") == 364
    assert horizon_to_days("90d", "week") == 90
    with pytest.raises(InputError, match="'soon' is not a duration"):
        horizon_to_days("soon", "week")
    with pytest.raises(InputError, match="must be positive"):
        horizon_to_days("-3", "day")


def _orders(ws: Workspace, tmp_path: Path, rows: str) -> None:
    write(tmp_path / "o.csv", "order_id,customer_id,ordered_at,amount\n" + rows)
    import_file(ws, "orders", tmp_path / "o.csv")


def test_negative_amounts_are_refused_unless_dropped(workspace: Workspace, tmp_path: Path) -> None:
    # A return (negative quantity) alone on its day: the import loads it, CLV refuses it.
    lines = "1,A,2026-01-01,10,1\n2,A,2026-02-01,-5,-1\n3,B,2026-01-03,8,1\n4,B,2026-03-01,9,1\n"
    write(tmp_path / "o.csv", "order_id,customer_id,ordered_at,amount,quantity\n" + lines)
    import_file(workspace, "orders", tmp_path / "o.csv")
    with pytest.raises(InputError, match=r"1 customer-day\(s\) have a negative total"):
        _run(workspace)
    with pytest.raises(InputError, match="no orders"):
        _run(Workspace.init(tmp_path / "empty"))


def test_zero_repeat_spend_is_refused_clearly(workspace: Workspace, tmp_path: Path) -> None:
    _orders(
        workspace,
        tmp_path,
        "1,A,2026-01-01,10\n2,A,2026-02-01,0\n3,B,2026-01-03,8\n4,B,2026-03-01,9\n",
    )
    with pytest.raises(InputError, match="spent 0 on average"):
        _run(workspace)
