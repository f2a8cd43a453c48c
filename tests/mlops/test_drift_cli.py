"""``audience drift``: the JSON document machines read, the table people read, bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from audience.cli import app
from tests.mlops.test_drift_workspace import AMOUNT_FEATURES, plant_price_shift

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_carries_the_verdict_beside_each_feature(ws_root: Path) -> None:
    plant_price_shift(ws_root)
    code, out, _ = invoke("drift", "--json", "--workspace", str(ws_root))
    assert code == 0
    data = json.loads(out)
    assert {
        "run_id",
        "reference_rows",
        "current_rows",
        "dataset_drift",
        "drift_share",
        "threshold",
        "features",
        "segment_sizes",
        "transitions",
    } <= set(data)
    assert data["dataset_drift"] is False and data["threshold"] == 0.5
    assert data["reference_rows"] == data["current_rows"] == 3_000
    features = {f["feature"]: f for f in data["features"]}
    assert {f for f, r in features.items() if r["drifted"]} == AMOUNT_FEATURES
    assert set(features["monetary"]) >= {
        "feature",
        "type",
        "method",
        "statistic",
        "threshold",
        "drifted",
    }
    assert "p_value" not in features["monetary"]  # a distance has none
    assert data["drift_share"] == len(AMOUNT_FEATURES) / len(features)
    assert len(data["transitions"]["rows"]) == len(data["segment_sizes"]) + 1


def test_against_a_named_run_and_the_table(ws_root: Path) -> None:
    code, out, _ = invoke("drift", "--json", "--workspace", str(ws_root))
    run_id = json.loads(out)["run_id"]
    code, out, _ = invoke("drift", "--against", run_id, "--workspace", str(ws_root))
    assert code == 0
    assert f"Drift against run {run_id}" in out
    assert "no data set drift" in out and "Transitions" in out


def test_an_unknown_run_is_one_line_and_exit_2(ws_root: Path) -> None:
    code, _, err = invoke("drift", "--against", "run-nope", "--workspace", str(ws_root))
    assert code == 2
    assert err.strip().startswith("error: no segmentation run 'run-nope'")
    assert len(err.strip().splitlines()) == 1
