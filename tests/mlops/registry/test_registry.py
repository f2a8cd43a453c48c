"""The champion: promoted, rolled back, loaded by batch, live and ``models:/...@champion``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.errors import RegistryError
from audience.mlops import registry
from audience.pipelines.live import load_deployed
from audience.pipelines.mlops import champion_assigner, promote_run, rollback_model
from audience.pipelines.segment_run import run_segmentation
from audience.segmentation.assign import SegmentAssigner
from audience.segmentation.matrix import load_matrix
from tests.mlops.registry.conftest import first_run, open_ws

runner = CliRunner()


def _second_run(ws_root: Path, k: int = 3) -> str:
    ws = open_ws(ws_root)
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        return run_segmentation(
            con, ws.config, k=k, method="kmeans", clock=ws.clock.advance(hours=1)
        ).run_id


def _open_run(ws_root: Path) -> set[str]:
    with open_ws(ws_root).warehouse(read_only=True) as warehouse:
        return {
            r[0]
            for r in warehouse.con.execute(
                "SELECT DISTINCT run_id FROM memberships WHERE valid_to IS NULL"
            ).fetchall()
        }


def test_promoting_a_run_that_does_not_exist(ws_root: Path) -> None:
    result = runner.invoke(app, ["model", "promote", "run-nope", "-w", str(ws_root)])
    assert result.exit_code == 2
    assert "no run 'run-nope' to promote" in result.stderr
    assert "audience model list" in result.stderr


def test_promote_rollback_and_the_live_path_follow_the_champion(ws_root: Path) -> None:
    first = first_run(open_ws(ws_root))
    second = _second_run(ws_root)
    assert load_deployed(open_ws(ws_root))[1].run_id == second  # before any promotion: latest
    assert _open_run(ws_root) == {second}
    result = runner.invoke(
        app,
        ["model", "promote", first, "--reason", "k=4 reads better", "-w", str(ws_root), "--json"],
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["customers_assigned"] == 3_000
    assert _open_run(ws_root) == {first}  # batch assignment is the champion's
    assert load_deployed(open_ws(ws_root))[1].run_id == first
    ws = open_ws(ws_root)
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        promote_run(ws, con, second)
        entry = rollback_model(ws, con)
        assert entry.run_id == first
        with pytest.raises(RegistryError, match="no earlier champion"):
            rollback_model(ws, con)
        actions = [e.action for e in registry.history(con)]
    assert actions == ["promote", "promote", "rollback"]
    assert _open_run(ws_root) == {first}
    listed = runner.invoke(app, ["model", "list", "-w", str(ws_root), "--json"])
    rows = json.loads(listed.stdout)
    assert [r["run_id"] for r in rows if r["champion"]] == [first]
    shown = runner.invoke(app, ["model", "show", "-w", str(ws_root)])
    assert shown.exit_code == 0, shown.stderr
    assert f"{first}: audience-segments (kmeans) (champion)" in shown.stdout
    text = " ".join(shown.stdout.split())  # the terminal may wrap long lines
    assert "rollback" in text and "k=4 reads better" in text
    table = runner.invoke(app, ["model", "list", "-w", str(ws_root)])
    assert table.exit_code == 0 and "★" in table.stdout


def test_the_champion_loaded_by_alias_assigns_like_the_model_in_process(ws_root: Path) -> None:
    ws = open_ws(ws_root, tracking=True)
    run_id = first_run(ws)
    _second_run(ws_root)
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        done = promote_run(ws, con, run_id, "the one we trust")
    assert done.mlflow_version == "1"

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{ws_root / 'mlflow.db'}")
    loaded = mlflow.pyfunc.load_model("models:/audience-segments@champion")
    with ws.warehouse(read_only=True) as warehouse:
        run = registry.find_run(warehouse.con, run_id)
        _, raw = load_matrix(warehouse.con, run.model_json["inputs"])
        stored = np.array(
            [
                r[0]
                for r in warehouse.con.execute(
                    """SELECT s.label FROM memberships m JOIN segments s USING (segment_id)
               WHERE m.run_id = ? AND m.valid_to IS NULL ORDER BY m.customer_id""",
                    [run_id],
                ).fetchall()
            ]
        )
        names = dict(
            warehouse.con.execute(
                "SELECT label, name FROM segments WHERE run_id = ?", [run_id]
            ).fetchall()
        )
        live = champion_assigner(ws, warehouse.con)
    frame = raw.reindex(columns=run.model_json["features"], fill_value=0.0)
    in_process = SegmentAssigner.from_json(run.model_json).predict(frame)
    by_alias = loaded.predict(frame)
    np.testing.assert_array_equal(by_alias["segment_label"].to_numpy(), in_process)
    np.testing.assert_array_equal(in_process, stored)
    assert list(by_alias["segment"]) == [names[int(label)] for label in in_process]
    assert live is not None and live[1] == run_id  # the live path took the alias
    one = frame.iloc[7].to_dict()
    assert live[0].predict_one(one) == in_process[7]


def test_a_new_run_waits_for_promotion_once_a_champion_exists(ws_root: Path) -> None:
    first = first_run(open_ws(ws_root))
    assert runner.invoke(app, ["model", "promote", first, "-w", str(ws_root)]).exit_code == 0
    result = runner.invoke(
        app, ["segment", "--k", "3", "--method", "kmeans", "-w", str(ws_root), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    done = json.loads(result.stdout)
    assert done["champion"] == first != done["run_id"]
    assert _open_run(ws_root) == {first}
    assert load_deployed(open_ws(ws_root))[1].run_id == first
    human = runner.invoke(app, ["segment", "--k", "3", "--method", "kmeans", "-w", str(ws_root)])
    assert f"the champion {first} still assigns customers" in " ".join(human.stdout.split())


def test_an_alias_from_another_workspace_on_a_shared_server_is_not_loaded(
    segmented_template: Path, tmp_path: Path
) -> None:
    import shutil

    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(segmented_template, a)
    shutil.copytree(segmented_template, b)
    second = _second_run(a)
    ws_a = open_ws(a, tracking=True, uri=shared)
    with ws_a.warehouse() as warehouse, warehouse.transaction() as con:
        assert promote_run(ws_a, con, second).mlflow_version is not None
    ws_b = open_ws(b, tracking=True, uri=shared)
    with ws_b.warehouse(read_only=True) as warehouse:
        found = champion_assigner(ws_b, warehouse.con)
    assert found is not None and found[1] == first_run(ws_b) != second
    assert (a / "mlruns").is_dir()  # artefacts in the workspace, not the current directory
