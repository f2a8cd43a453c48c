"""``audience predict`` and ``audience cohorts`` through Typer, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from audience.cli import predict
from audience.store.workspace import Workspace

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test entry point."""

    predict.register(app)
    return app


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def test_predict_clv_json_holds_parameters_and_outputs(
    cdnow_copy: Workspace, tmp_path: Path
) -> None:
    code, out, err = invoke(
        "predict",
        "clv",
        "-w",
        str(cdnow_copy.root),
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        "--plot",
        str(tmp_path / "t.png"),
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    params = data["transaction_model"]["parameters"]
    assert set(params) == {"r", "alpha", "a", "b"}
    assert all(p["se"] > 0 for p in params.values())
    assert data["transaction_model"]["log_likelihood"] < 0
    assert data["n_customers"] == data["transaction_model"]["n_customers"] == 2357
    assert data["spend_model"]["n_customers"] == 946
    assert {"mean", "median", "p90"} <= set(data["outputs"]["clv"])
    assert data["validation"]["holdout_length"] == 39
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"


def test_predict_clv_table_and_day_unit(cdnow_copy: Workspace) -> None:
    code, out, err = invoke(
        "predict",
        "clv",
        "-w",
        str(cdnow_copy.root),
        "--model",
        "pnbd",
        "--time-unit",
        "day",
        "--horizon",
        "365",
        "--discount-rate",
        "0.05",
    )
    assert code == 0, err
    assert "Pareto/NBD" in out
    assert "Top CLV" in out


def test_bad_options_are_one_line_errors(cdnow: Workspace) -> None:
    for args, message in (
        (("--model", "xgb"), "--model 'xgb' is not one of bgnbd, pnbd"),
        (("--calibration-end", "30/09/1997"), "is not a date"),
        (("--horizon", "later"), "is not a duration"),
    ):
        code, _, err = invoke("predict", "clv", "-w", str(cdnow.root), *args)
        assert code == 2
        assert message in err
        assert len(err.strip().splitlines()) <= 2
    code, _, err = invoke("predict", "churn", "-w", str(cdnow.root), "--horizon", "ninety")
    assert code == 2
    assert "not a duration" in err


def test_cohorts_json_and_heatmap(cdnow: Workspace, tmp_path: Path) -> None:
    code, out, err = invoke(
        "cohorts",
        "-w",
        str(cdnow.root),
        "--by",
        "month",
        "--metric",
        "retention",
        "--json",
        "--plot",
        str(tmp_path / "h.png"),
    )
    assert code == 0, err
    data = json.loads(out)
    assert [c["cohort"] for c in data["cohorts"]] == ["1997-01", "1997-02", "1997-03"]
    assert sum(c["size"] for c in data["cohorts"]) == 2357
    assert all(c["values"][0] == 1.0 for c in data["cohorts"])
    assert (tmp_path / "h.png").exists()
    code, out, _ = invoke("cohorts", "-w", str(cdnow.root), "--metric", "orders")
    assert code == 0
    assert "1997-01" in out
    code, _, err = invoke("cohorts", "-w", str(cdnow.root), "--by", "year")
    assert code == 2
    assert "--by 'year'" in err
