"""The churn model in MLflow: ``audience predict churn`` with tracking on logs the run's
calibrated classifier in the sklearn flavour as a skops file (no pickle), and promoting the
run moves ``models:/audience-churn@champion`` to it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.mlops.tracking import RUN_TAG
from audience.pipelines.mlops import promote_run
from audience.predictive.churn_features import FEATURES, features_as_of
from tests.mlops.registry.conftest import open_ws

runner = CliRunner()


def _client(root: Path):  # type: ignore[no-untyped-def]
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    return mlflow.MlflowClient()


def _churn(root: Path) -> str:
    result = runner.invoke(
        app, ["predict", "churn", "--horizon", "90d", "--force", "-w", str(root), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    return str(json.loads(result.stdout)["run_id"])


def test_a_churn_run_is_logged_with_a_skops_model_that_scores_like_the_run(
    ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIENCE_MLFLOW__ENABLED", "true")
    run_id = _churn(ws_root)
    client = _client(ws_root)
    version = client.get_model_version("audience-churn", "1")
    assert version.tags[RUN_TAG] == run_id
    mlflow_run = version.run_id
    files = {a.path for a in client.list_artifacts(mlflow_run, "model")}
    assert "model/model.skops" in files
    assert not [f for f in files if f.endswith((".pkl", ".pickle"))]

    ws = open_ws(ws_root, tracking=True)
    with ws.warehouse() as warehouse:
        with warehouse.transaction() as tx:
            done = promote_run(ws, tx, run_id)
        con = warehouse.con
        params = con.execute(
            "SELECT params FROM prediction_runs WHERE run_id = ?", [run_id]
        ).fetchall()
        cutoff = date.fromisoformat(json.loads(params[0][0])["cutoffs"]["scoring"])
        table = features_as_of(con, ws.config.timezone, cutoff, None)
        stored = dict(
            con.execute(
                "SELECT customer_id, churn_probability FROM predictions WHERE run_id = ?",
                [run_id],
            ).fetchall()
        )
    assert done.mlflow_version == "1"
    assert str(client.get_model_version_by_alias("audience-churn", "champion").version) == "1"

    import mlflow

    info = mlflow.models.get_model_info("models:/audience-churn@champion")
    assert info.flavors["python_function"]["predict_fn"] == "predict_proba"
    assert info.flavors["sklearn"]["serialization_format"] == "skops"
    assert set(info.signature.inputs.input_names()) <= set(FEATURES)
    # MLflow refuses to deserialise any sklearn model, skops included, unless allowed.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    model = mlflow.pyfunc.load_model("models:/audience-churn@champion")
    # The whole customer feature frame goes in; the signature picks the model's columns.
    frame = pd.DataFrame(
        {f: table.column(f).to_numpy(zero_copy_only=False).astype(float) for f in FEATURES}
    )
    scores = np.asarray(model.predict(frame))[:, 1]
    ids = [str(c) for c in table.column("customer_id").to_pylist()]
    expected = np.array([stored[c] for c in ids], dtype=float)
    assert len(ids) == len(stored) > 1000
    np.testing.assert_allclose(scores, expected, rtol=1e-9, atol=1e-12)


def test_a_churn_run_made_untracked_is_promoted_in_the_warehouse_only(
    ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIENCE_MLFLOW__ENABLED", "false")
    run_id = _churn(ws_root)
    ws = open_ws(ws_root, tracking=True)
    with ws.warehouse() as warehouse, warehouse.transaction() as tx:
        done = promote_run(ws, tx, run_id)
    # Its model was not kept, so nothing is logged now: no MLflow version, no alias.
    assert done.run.run_id == run_id and done.mlflow_version is None
    assert not _client(ws_root).search_model_versions("name = 'audience-churn'")
