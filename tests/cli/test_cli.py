from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.ingest.demo.generate import GeneratedFiles

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_outside_a_workspace_one_line_and_non_zero(tmp_path: Path) -> None:
    code, _, err = invoke("segment", "--workspace", str(tmp_path))
    assert code == 2
    assert err.strip().startswith("error: no workspace at")
    assert "audience init" in err
    assert len(err.strip().splitlines()) <= 2


def test_workspace_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke("init", str(tmp_path / "ws"))[0] == 0
    (tmp_path / "c.csv").write_text("id;email\nC1;a@x.fr\n")
    monkeypatch.setenv("AUDIENCE_WORKSPACE", str(tmp_path / "ws"))
    code, out, _ = invoke("import", "customers", str(tmp_path / "c.csv"), "--json")
    assert code == 0
    assert json.loads(out)["rows_new"] == 1


def test_import_errors_exit_non_zero(tmp_path: Path) -> None:
    invoke("init", str(tmp_path / "ws"))
    (tmp_path / "empty.csv").write_text("")
    code, _, err = invoke(
        "import", "customers", str(tmp_path / "empty.csv"), "-w", str(tmp_path / "ws")
    )
    assert code == 2
    assert "empty" in err
    (tmp_path / "c.csv").write_text("id;mail\nC1;a@x.fr\n")
    code, _, err = invoke(
        "import",
        "customers",
        str(tmp_path / "c.csv"),
        "--map",
        "email=courriel",
        "-w",
        str(tmp_path / "ws"),
    )
    assert code == 2
    assert "courriel" in err
    assert "id, mail" in err


def test_import_segment_and_assignments(tmp_path: Path, demo_files: GeneratedFiles) -> None:
    ws = str(tmp_path / "ws")
    assert invoke("init", ws)[0] == 0
    for kind, path in (
        ("customers", demo_files.customers),
        ("orders", demo_files.orders),
        ("events", demo_files.events),
    ):
        code, out, _ = invoke("import", kind, str(path), "-w", ws, "--json")
        report = json.loads(out)
        assert code == 0
        assert report["reconciled"]
        assert report["rows_read"] > 0
    assignments = tmp_path / "assignments.csv"
    code, out, _ = invoke(
        "segment", "-w", ws, "--json", "--k", "6", "--assignments", str(assignments)
    )
    assert code == 0
    run = json.loads(out)
    assert run["k"] == 6
    assert run["method"] == "kmeans"
    assert {"silhouette", "davies_bouldin", "calinski_harabasz"} <= set(run["metrics"])
    assert sum(s["size"] for s in run["segments"]) == demo_files.n_customers
    for segment in run["segments"]:
        assert {"segment_id", "name", "size", "profile"} <= set(segment)
        assert "recency_days" in segment["profile"]
    with assignments.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == demo_files.n_customers
    names = {s["segment_id"]: s["name"] for s in run["segments"]}
    assert all(names[row["segment_id"]] == row["segment_name"] for row in rows)
    assert Path(run["report"]).is_file()


def test_methods_maps_and_explanations(tmp_path: Path, demo_files: GeneratedFiles) -> None:
    ws = str(tmp_path / "ws")
    assert invoke("init", ws)[0] == 0
    for kind, path in (
        ("customers", demo_files.customers),
        ("orders", demo_files.orders),
        ("events", demo_files.events),
    ):
        assert invoke("import", kind, str(path), "-w", ws, "--json")[0] == 0
    code, out, _ = invoke("segment", "-w", ws, "--json", "--method", "gmm", "--k-range", "4..6")
    run = json.loads(out)
    assert code == 0 and run["method"] == "gmm" and 4 <= run["k"] <= 6
    assert {r["k"] for r in run["selection"]} == {4, 5, 6}
    assert all(0 < s["score"] <= 1 for s in run["segments"] if "score" in s)
    assert run["metrics"]["explanation_fidelity"] > 0.8
    code, out, _ = invoke("explain", run["segments"][0]["name"], "-w", ws, "--json")
    explained = json.loads(out)
    assert code == 0 and explained["segments"][0]["rule"]
    code, out, _ = invoke("map", "--method", "pca", "-w", ws, "--json")
    assert code == 0 and Path(json.loads(out)["path"]).stat().st_size > 1000
    code, out, _ = invoke("segment", "-w", ws, "--json", "--method", "rfm")
    rfm = json.loads(out)
    assert code == 0 and rfm["method"] == "rfm"
    assert {s["name"] for s in rfm["segments"]} >= {"Champions", "Hibernating"}
    code, _, err = invoke("segment", "-w", ws, "--k", "4", "--k-range", "2..5")
    assert code == 2 and "either --k or --k-range" in err
    code, _, err = invoke("segment", "-w", ws, "--k-range", "5-2")
    assert code == 2 and "LOW..HIGH" in err
    code, _, err = invoke("explain", "Nobody", "-w", ws)
    assert code == 2 and "no segment 'Nobody'" in err
