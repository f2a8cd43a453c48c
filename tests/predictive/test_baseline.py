"""A churn model that does not beat the constant base rate says so and writes no bands."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.ingest.importer import import_file
from audience.predictive.baseline import calibration, compare_with_base_rate
from audience.predictive.churn import run_churn
from audience.store.clock import SYSTEM_CLOCK
from audience.store.workspace import Workspace


def test_a_constant_does_not_beat_itself_and_a_perfect_score_does() -> None:
    y = np.array([0, 1] * 50 + [1] * 20, dtype=np.int64)
    constant = compare_with_base_rate(y, np.full(len(y), y.mean()))
    assert not constant.beats_base_rate
    assert constant.brier_skill_score == pytest.approx(0)
    assert "no better than always predicting the base rate 58.3%" in constant.verdict()
    perfect = compare_with_base_rate(y, np.where(y == 1, 0.99, 0.01))
    assert perfect.beats_base_rate and perfect.brier_skill_score > 0.9
    assert perfect.verdict() == ""


def test_calibration_of_calibrated_and_overconfident_scores() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 20_000)
    y = (rng.random(len(p)) < p).astype(np.int64)
    fair = calibration(y, p)
    assert fair["slope"] == pytest.approx(1, abs=0.08)
    assert fair["intercept"] == pytest.approx(0, abs=0.08)
    assert all(abs(b["mean_predicted"] - b["observed"]) < 0.03 for b in fair["reliability"])
    overconfident = calibration(y, np.where(p > 0.5, 0.99, 0.01))
    assert overconfident["slope"] < 0.5


@pytest.fixture
def memoryless(tmp_path: Path) -> Workspace:
    """Everyone buys at the same steady rate: the past says nothing of the next 90 days."""
    rng = np.random.default_rng(3)
    start, days = date(2024, 1, 1), 730
    rows = ["order_id,customer_id,ordered_at,amount"]
    for c in range(500):
        when = np.sort(rng.uniform(0, days, max(1, rng.poisson(days / 120))))
        rows += [
            f"{c}-{k},C{c:04d},{start + timedelta(days=float(t))},{rng.gamma(3, 15):.2f}"
            for k, t in enumerate(when)
        ]
    (tmp_path / "orders.csv").write_text("\n".join(rows) + "\n")
    ws = Workspace.init(tmp_path / "ws")
    import_file(ws, "orders", tmp_path / "orders.csv")
    return ws


def _band_memberships(ws: Workspace) -> int:
    with ws.warehouse(read_only=True) as warehouse:
        return int(
            warehouse.con.execute(
                """SELECT count(*) FROM memberships m JOIN segment_runs r USING (run_id)
                   WHERE r.method = 'churn_bands' AND m.valid_to IS NULL"""
            ).fetchall()[0][0]
        )


def test_no_bands_from_a_model_no_better_than_the_base_rate(memoryless: Workspace) -> None:
    with memoryless.warehouse() as warehouse, warehouse.transaction() as con:
        run = run_churn(con, memoryless.config, "90d", now=SYSTEM_CLOCK.now())
    assert not run.metrics["beats_base_rate"]
    assert (
        run.metrics["brier_skill_score"] <= 0
        or run.metrics["auc"] <= 0.5
        or (run.metrics["log_loss"] >= run.metrics["log_loss_base_rate"])
    )
    assert run.bands is None and not run.bands_written
    assert "not better than a constant" in run.warnings[0]
    assert "--force" in run.warnings[0]
    assert _band_memberships(memoryless) == 0
    assert run.population == 500


def test_force_writes_the_bands_and_still_warns(memoryless: Workspace) -> None:
    result = CliRunner().invoke(
        app, ["predict", "churn", "-w", str(memoryless.root), "--force", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["bands_written"] and out["bands"]["segments"]
    assert out["population"] == 500 and "persons" in out["population_definition"]
    assert "written with --force" in out["warnings"][0]
    assert _band_memberships(memoryless) == 500
