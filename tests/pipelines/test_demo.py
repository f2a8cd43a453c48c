from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.config import DEFAULT_SEGMENT_NAMES, OBJECTIVE_KPIS

pytestmark = pytest.mark.slow


def test_demo_recovers_the_planted_personas(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--customers", "4000", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    demo = json.loads(result.stdout)
    # Measured at 0.98 with --method auto after cleaning; the bar of issue 4 is 0.85.
    assert demo["persona_ari"] >= 0.85
    assert demo["run"]["selection"] and {r["method"] for r in demo["run"]["selection"]} >= {
        "kmeans",
        "gmm",
        "hierarchical",
        "hdbscan",
        "dbscan",
    }
    names = {s["name"] for s in demo["run"]["segments"]}
    catalogue = {n.name for n in DEFAULT_SEGMENT_NAMES}
    assert len(names & catalogue) >= 5
    assert all(r["reconciled"] for r in demo["imports"])
    html = Path(demo["report"]).read_text()
    assert "repeat-purchase rate" in html
    assert "data:image/png;base64," in html
    for segment in demo["run"]["segments"]:
        assert segment["name"] in html
        assert set(OBJECTIVE_KPIS["retention"]) <= set(segment["kpis"])
    _assert_the_whole_case(demo, html, out)


RULES = {
    "High-value at risk",
    "Loyal e-mail readers",
    "Likely to buy again soon",
    "Lapsed one-time buyers",
    "Paris-region newcomers",
}


def _assert_the_whole_case(demo: dict[str, Any], html: str, out: Path) -> None:
    """CLV tiers, churn bands, rule segments and exports, all in the one report."""
    assert demo["failures"] == []
    assert demo["clv"]["scored"] and len(demo["clv"]["tiers"]["segments"]) == 4
    assert demo["churn"]["bands_written"]
    sizes = {
        sid.removeprefix("rule:"): v["size"]
        for sid, v in demo["activation"]["evaluation"]["segments"].items()
    }
    assert set(sizes) == RULES and all(n > 0 for n in sizes.values())
    assert not demo["activation"]["dry_run"]  # files only: nothing is sent anywhere
    exports = [w for w in demo["activation"]["workflows"] if w.get("path")]
    assert len(exports) == 3
    for export in exports:
        written = Path(export["path"])
        assert written.is_relative_to(out / "exports")
        assert len(written.read_text().splitlines()) == export["rows"] + 1  # the header
    assert "Customer lifetime value per segment" in html
    assert "Churn risk per segment" in html
    assert "CLV distribution per segment" in html
    for rule in RULES:
        assert f"<td>{rule}</td>" in html.replace("&#39;", "'")
    assert "Acquisition cohorts" in html


def test_a_spend_model_that_cannot_be_fitted_does_not_end_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from audience.errors import ModelError
    from audience.pipelines import demo_case

    cause = "Gamma-Gamma: p ran to its bound. Likely cause: spend hardly varies"

    def fail(*args: object, **kwargs: object) -> None:
        raise ModelError(cause)

    monkeypatch.setattr(demo_case, "run_clv", fail)
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--customers", "1500", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    demo = json.loads(result.stdout)
    assert demo["clv"] is None
    assert f"CLV not computed: {cause}" in demo["failures"]
    # The rule that needs the Top CLV tier is left out, with the reason; the others run.
    assert any("'High-value at risk' left out" in f for f in demo["failures"])
    evaluated = {s.removeprefix("rule:") for s in demo["activation"]["evaluation"]["segments"]}
    assert evaluated == RULES - {"High-value at risk"}
    html = Path(demo["report"]).read_text()
    assert "CLV not computed: Gamma-Gamma: p ran to its bound" in html
    assert "Churn risk per segment" in html
    assert "Customer lifetime value per segment" not in html


def test_demo_refuses_to_overwrite_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("precious")
    result = CliRunner().invoke(
        app, ["demo", "--customers", "100", "--out", str(tmp_path / "mine")]
    )
    assert result.exit_code == 2
    assert "not a demo workspace" in result.stderr
    assert (tmp_path / "mine" / "thesis.txt").read_text() == "precious"


def test_a_failed_demo_leaves_no_half_made_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from audience.errors import ModelError
    from audience.pipelines import demo

    def fail(*args: object, **kwargs: object) -> None:
        raise ModelError("segmentation failed on purpose")

    monkeypatch.setattr(demo, "run_segmentation", fail)
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--customers", "300", "--out", str(out)])
    assert result.exit_code == ModelError.exit_code
    assert "failed on purpose" in result.stderr
    assert not out.exists()  # generated files, warehouse and reports all gone
