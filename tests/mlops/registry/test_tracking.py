"""Runs logged to a real MLflow store in the test's directory; without MLflow, and with a
tracking server that does not answer, the run is stored in the warehouse all the same."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.config.settings import MlflowSettings
from audience.errors import ConfigError, TrackingUnavailableError
from audience.mlops.tracking import RUN_TAG, tracking_target
from audience.pipelines.mlops import track_segment_run
from tests.mlops.registry.conftest import first_run, open_ws

runner = CliRunner()


def _client(root: Path):  # type: ignore[no-untyped-def]
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    return mlflow.MlflowClient()


def test_a_segmentation_run_is_logged_whole(ws_root: Path) -> None:
    ws = open_ws(ws_root, tracking=True)
    run_id = first_run(ws)
    (ws.reports_dir).mkdir(exist_ok=True)
    report = ws.reports_dir / f"{run_id}.html"
    report.write_text("<html>report</html>", encoding="utf-8")
    with ws.warehouse() as warehouse:
        tracked = track_segment_run(ws, warehouse.con, run_id, report)
    assert tracked is not None and tracked.model_version == "1"
    client = _client(ws_root)
    logged = client.get_run(tracked.mlflow_run_id)
    assert logged.data.tags[RUN_TAG] == run_id
    assert logged.data.params["method"] == "kmeans"
    assert logged.data.params["k"] == "4"
    for metric in ("silhouette", "davies_bouldin", "calinski_harabasz", "stability", "jaccard_min"):
        assert metric in logged.data.metrics
    files = {a.path for a in client.list_artifacts(tracked.mlflow_run_id)}
    assert {"profiles.json", f"{run_id}.html"} <= files
    profiles = json.loads(
        Path(client.download_artifacts(tracked.mlflow_run_id, "profiles.json")).read_text()
    )
    assert len(profiles) == 4 and all("stability" in p for p in profiles)
    version = client.get_model_version("audience-segments", "1")
    assert version.tags[RUN_TAG] == run_id
    # The artefacts live in the workspace, not in the directory the command ran from.
    assert (ws_root / "mlruns").is_dir()

    import mlflow

    info = mlflow.models.get_model_info("models:/audience-segments/1")
    assert [c.name for c in info.signature.outputs.inputs] == [
        "segment_label",
        "segment_id",
        "segment",
    ]
    assert "recency_days" in info.signature.inputs.input_names()


def test_without_mlflow_nothing_is_tracked(ws_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    assert tracking_target(MlflowSettings(), ws_root) is None
    with pytest.raises(ConfigError, match=r"audience\[mlops\]"):
        tracking_target(MlflowSettings(enabled=True), ws_root)
    monkeypatch.delenv("AUDIENCE_MLFLOW__ENABLED", raising=False)
    result = runner.invoke(
        app, ["segment", "--k", "3", "--method", "kmeans", "-w", str(ws_root), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["mlflow_run_id"] is None
    assert not (ws_root / "mlflow.db").exists()


def test_a_tracking_server_that_does_not_answer(
    ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = open_ws(ws_root, tracking=True, uri="http://user:s3cret@127.0.0.1:9")
    run_id = first_run(ws)
    with ws.warehouse() as warehouse, pytest.raises(TrackingUnavailableError) as caught:
        track_segment_run(ws, warehouse.con, run_id)
    message = str(caught.value)
    assert run_id in message and "stored in the warehouse" in message
    assert "s3cret" not in message
    # The command: results shown, the run stored, then one line and exit code 75.
    monkeypatch.setenv("AUDIENCE_MLFLOW__ENABLED", "true")
    monkeypatch.setenv("AUDIENCE_MLFLOW__TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.setenv("AUDIENCE_MLFLOW__TIMEOUT_SECONDS", "1")
    result = runner.invoke(
        app, ["segment", "--k", "3", "--method", "kmeans", "-w", str(ws_root), "--json"]
    )
    assert result.exit_code == 75
    new_run = json.loads(result.stdout)["run_id"]
    assert result.stderr.strip().startswith("error: MLflow tracking at http://127.0.0.1:9")
    with open_ws(ws_root).warehouse(read_only=True) as warehouse:
        stored = warehouse.con.execute(
            "SELECT count(*) FROM segment_runs WHERE run_id = ?", [new_run]
        ).fetchone()
    assert stored == (1,)


def test_segment_and_predict_commands_log_their_runs(
    ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIENCE_MLFLOW__ENABLED", "true")
    result = runner.invoke(
        app, ["segment", "--k", "3", "--method", "kmeans", "-w", str(ws_root), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    done = json.loads(result.stdout)
    assert done["mlflow_run_id"] is not None
    assert "Successfully registered" not in result.stderr  # MLflow's chatter stays out
    client = _client(ws_root)
    assert client.get_run(done["mlflow_run_id"]).data.tags[RUN_TAG] == done["run_id"]
    result = runner.invoke(
        app, ["predict", "churn", "--horizon", "90d", "--force", "-w", str(ws_root), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    churn_run = json.loads(result.stdout)["run_id"]
    runs = client.search_runs(
        [client.get_experiment_by_name("audience").experiment_id],
        filter_string=f"tags.`{RUN_TAG}` = '{churn_run}'",
    )
    assert len(runs) == 1
    metrics = runs[0].data.metrics
    assert {"auc", "brier"} <= set(metrics)
    assert 0.5 < metrics["auc"] <= 1
    assert runs[0].data.tags["audience.kind"] == "churn"


def test_a_clv_run_is_logged_with_a_model_that_scores_like_the_run(ws_root: Path) -> None:
    import numpy as np
    import pandas as pd

    from audience.pipelines.mlops import promote_run, track_prediction_run
    from audience.predictive.clv import ClvOptions, run_clv
    from audience.predictive.purchases import customer_summary

    ws = open_ws(ws_root, tracking=True)
    with ws.warehouse() as warehouse:
        with warehouse.transaction() as con:
            options = ClvOptions.from_settings(ws.config.predictive)
            run = run_clv(con, ws.config, options, ws.clock.now())
        con = warehouse.con
        tracked = track_prediction_run(ws, con, run.run_id)
        with warehouse.transaction() as tx:
            done = promote_run(ws, tx, run.run_id)
        summary = customer_summary(con, ws.config.timezone, options.time_unit)
        stored = dict(
            con.execute(
                "SELECT customer_id, clv FROM predictions WHERE run_id = ?", [run.run_id]
            ).fetchall()
        )
    assert tracked is not None and done.mlflow_version == tracked.model_version == "1"
    logged = _client(ws_root).get_run(tracked.mlflow_run_id).data
    assert "log_likelihood" in logged.metrics and logged.params["time_unit"] == options.time_unit

    import mlflow

    model = mlflow.pyfunc.load_model("models:/audience-clv@champion")
    X = summary.X
    frame = pd.DataFrame(
        {
            "frequency": X[:, 0],
            "recency": X[:, 1],
            "T": X[:, 2],
            "mean_spend": summary.mean_spend,
            "spend_frequency": summary.spend_frequency,
        }
    )
    scores = model.predict(frame)["clv"].to_numpy()
    expected = np.array([stored[str(c)] for c in summary.customer_ids.to_pylist()], dtype=float)
    np.testing.assert_allclose(scores, expected, rtol=1e-9)


def test_an_autoencoder_run_is_logged_with_its_encoder(ws_root: Path) -> None:
    pytest.importorskip("torch")
    import mlflow

    from audience.features.bags import with_bags
    from audience.pipelines.segment_run import run_segmentation
    from audience.segmentation.matrix import load_matrix

    ws = open_ws(ws_root, tracking=True)
    seg = ws.config.segmentation.model_copy(update={"autoencoder_latent_dims": [3]})
    config = ws.config.model_copy(update={"segmentation": seg})
    with ws.warehouse() as warehouse:
        run = run_segmentation(
            warehouse.con, config, k=4, method="autoencoder+kmeans", clock=ws.clock
        )
        tracked = track_segment_run(ws, warehouse.con, run.run_id)
        ids, raw = load_matrix(warehouse.con, list(run.model["inputs"]))
        frame = with_bags(warehouse.con, [str(i) for i in ids.to_pylist()], raw)
        members = warehouse.con.execute(
            """SELECT s.label FROM memberships m JOIN segments s USING (segment_id)
               WHERE m.run_id = ? ORDER BY m.customer_id""",
            [run.run_id],
        ).fetchall()
    assert tracked is not None
    logged = _client(ws_root).get_run(tracked.mlflow_run_id)
    assert logged.data.params["method"] == "autoencoder+kmeans"
    assert logged.data.metrics["latent_dim"] == 3
    for metric in (
        "reconstruction_error_train",
        "reconstruction_error_validation",
        "pca_stability",
    ):
        assert metric in logged.data.metrics
    # The registered pyfunc carries the encoder: it assigns as the warehouse run did.
    model = mlflow.pyfunc.load_model(f"models:/audience-segments/{tracked.model_version}")
    sample = frame[run.model["features"]].head(200).astype(float).reset_index(drop=True)
    predicted = model.predict(sample)
    assert list(predicted["segment_label"]) == [r[0] for r in members[:200]]
