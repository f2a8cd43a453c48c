"""``audience experiment create|list|show|stop|assign|analyze`` and ``audience lift`` end to end:
exit codes, one-line errors, and JSON documents."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from audience.cli import app
from audience.store.workspace import Workspace
from tests.experiments.segment_data import NOW, make_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """The experiments' small warehouse (:mod:`tests.experiments.segment_data`)."""
    return make_workspace(tmp_path / "ws")


runner = CliRunner()


def invoke(ws: Workspace, *args: str) -> tuple[int, str, str]:
    # Commands read the system clock: move it to the data's time (exposures at NOW).
    with time_machine.travel(NOW.replace(tzinfo=UTC), tick=False):
        result = runner.invoke(app, [*args, "--workspace", str(ws.root)])
    return result.exit_code, result.stdout, result.stderr


def test_create_assign_analyze_json(workspace: Workspace) -> None:
    code, out, err = invoke(
        workspace,
        "experiment",
        "create",
        "promo",
        "--segment",
        "Buyers",
        "--variants",
        "control:50,treatment:50",
        "--metric",
        "revenue",
        "--guardrail",
        "click",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)[0]["segment_id"] == "rule:Buyers"
    code, out, err = invoke(workspace, "experiment", "assign", "promo", "--json")
    assert code == 0, err
    assigned = json.loads(out)
    assert assigned["members"] == 2000 and assigned["new_exposures"] == 2000
    code, out, err = invoke(
        workspace,
        "experiment",
        "analyze",
        "promo",
        "--cuped",
        "--by",
        "VIP",
        "--by",
        "gender",
        "--correction",
        "bh",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert [v["name"] for v in result["variants"]] == ["control", "treatment"]
    assert result["variants"][0]["n"] + result["variants"][1]["n"] == 2000
    treatment = result["variants"][1]
    assert treatment["ci_low"] < treatment["lift"] < treatment["ci_high"]
    assert 0 <= treatment["p_value"] <= 1 and result["srm_p_value"] > 0
    assert [g["metric"] for g in result["guardrails"]] == ["click"]
    groups = result["groups"]
    assert {g["group"] for g in groups} == {
        f"{s} × {g}" for s in ("VIP", "not VIP") for g in ("f", "m", "x")
    }
    adjusted = [g["variants"][1]["adjusted_p_value"] for g in groups]
    raw = [g["variants"][1]["p_value"] for g in groups]
    assert all(a >= r * (1 - 1e-12) for a, r in zip(adjusted, raw, strict=True)), (adjusted, raw)
    code, out, _ = invoke(workspace, "experiment", "list", "--json")
    assert [e["name"] for e in json.loads(out)] == ["promo"]
    assert invoke(workspace, "experiment", "stop", "promo")[0] == 0
    code, out, _ = invoke(workspace, "experiment", "show", "promo", "--json")
    assert json.loads(out)["status"] == "stopped"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--segment", "Buyers", "--variants", "a:50,b:40"], "variant weights sum to 90, not 100"),
        (["--segment", "Empty"], "segment 'Empty' has no current members"),
        (["--segment", "Nobody"], "unknown segment 'Nobody'"),
        (["--segment", "Buyers", "--variants", "a:50,a:50"], "given twice"),
        (["--segment", "Buyers", "--window", "soon"], "window 'soon' is not a duration"),
    ],
)
def test_bad_definitions_exit_2_with_one_line(
    workspace: Workspace,
    args: list[str],
    message: str,
) -> None:
    code, _, err = invoke(workspace, "experiment", "create", "x", *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_metric_with_no_data_exits_2(workspace: Workspace) -> None:
    invoke(
        workspace, "experiment", "create", "v", "--segment", "Buyers", "--metric", "Video Played"
    )
    invoke(workspace, "experiment", "assign", "v")
    code, _, err = invoke(workspace, "experiment", "analyze", "v")
    assert code == 2 and "has no data" in err


def test_create_from_yaml(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "experiments:\n"
        "  - {name: a, segment: Buyers, variants: {control: 50, b: 50}, namespace: home, "
        "traffic: 50%}\n"
        "  - {name: b, segment: Buyers, variants: 'control:20,b:80', namespace: home, "
        "traffic: 50, holdout: 5%, window: 2w}\n",
        encoding="utf-8",
    )
    code, out, err = invoke(workspace, "experiment", "create", "--file", str(path), "--json")
    assert code == 0, err
    a, b = json.loads(out)
    assert a["range"] == [0.0, 0.5] and b["range"] == [0.5, 1.0]
    assert b["window_days"] == 14 and b["holdout"] == 5.0


def test_lift_without_holdout_is_refused(workspace: Workspace) -> None:
    code, _, err = invoke(workspace, "lift", "Buyers")
    assert code == 2 and "keeps no holdout" in err


def test_lift_against_the_segment_holdout(workspace: Workspace) -> None:
    from audience.experiments.holdout import SegmentHoldout, record_holdouts

    with workspace.warehouse() as warehouse:
        record_holdouts(
            warehouse.con, {"rule:Buyers": SegmentHoldout("rule:Buyers", 10.0)}, NOW, "rule:"
        )
    code, out, err = invoke(workspace, "lift", "Buyers", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["control"] == "holdout" and report["holdout_percent"] == 10.0
    assert [m["metric"] for m in report["metrics"]] == ["conversion", "revenue"]
    for metric in report["metrics"]:
        held, targeted = metric["variants"]
        assert held["name"] == "holdout" and held["n"] + targeted["n"] == 2000
        assert targeted["ci_low"] <= targeted["lift"] <= targeted["ci_high"]
        assert metric["srm_p_value"] > 0.001  # the holdout is the 10 % asked for
