"""Recalibration: the promotion rule (parsed, never eval'd), a refit compared with the
champion, the decision recorded, the schedule (every / cron) and the drift trigger."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.errors import InputError
from audience.mlops import registry
from audience.mlops.promote_rule import DEFAULT_RULE, evaluate_rule, parse_rule
from audience.pipelines.recalibrate import (
    Recalibration,
    crontab_line,
    parse_interval,
    recalibrate,
    run_every,
)
from tests.mlops.registry.conftest import first_run, open_ws

runner = CliRunner()

VALUES = {"silhouette": 0.40, "champion.silhouette": 0.41, "ari": 0.7, "k": 4.0}


def test_the_rule_language() -> None:
    verdict = evaluate_rule("silhouette >= champion.silhouette - 0.02 and ari >= 0.6", VALUES)
    assert verdict.holds
    assert verdict.reasons == [
        "silhouette >= champion.silhouette - 0.02: 0.4 >= 0.39 is true",
        "ari >= 0.6: 0.7 >= 0.6 is true",
    ]
    assert not evaluate_rule("not (ari > 0.5) or k * 2 < 8", VALUES).holds
    assert evaluate_rule("-ari < -0.5 and (k == 4 or k == 5)", VALUES).holds
    nan = {**VALUES, "champion.silhouette": math.nan}
    assert not evaluate_rule("silhouette >= champion.silhouette", nan).holds


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("__import__('os').system('true')", "unexpected"),
        ("silhouette >=", "ends too early"),
        ("(ari > 0.5", "not closed"),
        ("ari > 0.5 garbage", "unexpected"),
        ("", "empty"),
        ("lift > 2", "unknown metric(s) lift"),
    ],
)
def test_a_bad_rule_is_a_clear_error(rule: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate_rule(rule, VALUES)


def test_the_default_rule_parses() -> None:
    parse_rule(DEFAULT_RULE)


def test_a_no_change_refit_keeps_names_and_is_not_promoted(ws_root: Path) -> None:
    ws = open_ws(ws_root)
    champion = first_run(ws)
    with ws.warehouse(read_only=True) as warehouse:
        names = sorted(
            r[0]
            for r in warehouse.con.execute(
                "SELECT name FROM segments WHERE run_id = ?", [champion]
            ).fetchall()
        )
    result = recalibrate(ws)
    assert not result.promoted, (result.reason, result.comparison)
    assert result.champion_run == champion and result.candidate_run != champion
    assert result.comparison["ari"] > 0.95
    assert result.comparison["champion.silhouette"] == pytest.approx(
        result.comparison["silhouette"], abs=0.02
    )
    assert "is false" in result.reason
    with ws.warehouse(read_only=True) as warehouse:
        con = warehouse.con
        refit = sorted(
            r[0]
            for r in con.execute(
                "SELECT name FROM segments WHERE run_id = ?", [result.candidate_run]
            ).fetchall()
        )
        assert registry.champion_run(con).run_id == champion
        open_runs = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT run_id FROM memberships WHERE valid_to IS NULL"
            ).fetchall()
        }
        recorded = con.execute("SELECT promoted, reason, comparison FROM recalibrations").fetchall()
    assert refit == names
    assert open_runs == {champion}  # the champion keeps assigning
    assert len(recorded) == 1 and recorded[0][0] is False and recorded[0][1] == result.reason
    assert json.loads(recorded[0][2])["ari"] == result.comparison["ari"]


def test_a_rule_that_holds_promotes_the_refit(ws_root: Path) -> None:
    result = runner.invoke(
        app, ["recalibrate", "--promote-if", "ari >= 0", "-w", str(ws_root), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    done = json.loads(result.stdout)
    assert done["promoted"] is True
    with open_ws(ws_root).warehouse(read_only=True) as warehouse:
        entry = registry.champion(warehouse.con, registry.SEGMENTS_MODEL)
    assert (
        entry is not None
        and entry.run_id == done["candidate_run"]
        and entry.action == "recalibrate"
    )
    assert entry.reason == done["reason"] and entry.reason.startswith("ari >= 0: ")


def test_every_runs_on_an_injected_sleep() -> None:
    slept: list[float] = []
    results: list[Recalibration] = []
    calls = iter(range(10))

    def once() -> Recalibration:
        return Recalibration("a", f"b{next(calls)}", "r", False, "why")

    assert run_every(parse_interval("30d"), once, slept.append, results.append, iterations=3) == 3
    assert slept == [30 * 86400.0, 30 * 86400.0]
    assert [r.candidate_run for r in results] == ["b0", "b1", "b2"]
    assert parse_interval("12h") == 43200.0
    with pytest.raises(InputError, match="--every 'monthly'"):
        parse_interval("monthly")


def test_cron_prints_the_crontab_line(tmp_path: Path) -> None:
    line = crontab_line("0 3 1 * *", tmp_path / "my ws", "ari >= 0.6", if_drift=True)
    assert line.startswith("0 3 1 * * ")
    assert (
        "audience recalibrate --workspace" in line or "audience.cli recalibrate --workspace" in line
    )
    assert f"'{tmp_path / 'my ws'}'" in line and "'ari >= 0.6'" in line and "--if-drift" in line
    with pytest.raises(InputError, match="5 fields"):
        crontab_line("0 3 1 *", tmp_path, "ari >= 0.6")


def test_if_drift_refits_only_when_the_champions_data_drifted(ws_root: Path) -> None:
    unchanged = recalibrate(open_ws(ws_root), if_drift=True)
    assert unchanged.skipped is not None and "no dataset drift" in unchanged.skipped
    assert unchanged.candidate_run is None
    with open_ws(ws_root).warehouse(read_only=True) as warehouse:
        assert warehouse.con.execute("SELECT count(*) FROM segment_runs").fetchone() == (1,)
    # Prices up 80 % and a third of the customers gone quiet: the data set drifts.
    with open_ws(ws_root).warehouse() as warehouse:
        warehouse.con.execute("UPDATE order_lines SET amount = amount * 1.8")
        warehouse.con.execute("DELETE FROM order_lines WHERE hash(customer_id) % 3 = 0")
        warehouse.con.execute("DELETE FROM events WHERE hash(user_id) % 3 = 0")
    drifted = recalibrate(open_ws(ws_root), if_drift=True)
    assert drifted.skipped is None and drifted.candidate_run is not None


def test_recalibration_pins_an_implicit_champion(ws_root: Path) -> None:
    ws = open_ws(ws_root)
    deployed = first_run(ws)  # never promoted: deployed as the latest run
    result = recalibrate(ws, "ari < 0")  # never holds
    with ws.warehouse(read_only=True) as warehouse:
        assert registry.champion_run(warehouse.con).run_id == deployed != result.candidate_run
        listed = [e.reason for e in registry.history(warehouse.con)]
    assert listed == ["deployed when recalibration started"]
