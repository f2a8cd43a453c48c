"""Segment KPIs: the defaults of each objective, values against a hand-computed example,
missing prediction runs shown as n/a, and unknown names refused with the known ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.config import KPI_NAMES, OBJECTIVE_KPIS, FeatureSettings, WorkspaceConfig
from audience.errors import ConfigError
from audience.features.behaviour import compute_features
from audience.ingest.demo.generate import GeneratedFiles
from audience.segmentation.kpis import KPI_SQL, segment_kpis
from audience.store.warehouse import Warehouse

NOW = datetime(2026, 3, 2, 12, 0)
RUN = "run-test"
A, B = f"{RUN}:0", f"{RUN}:1"

# customer: (sign-up, [(order day, amount)]), segment
PEOPLE = {
    "c1": ("2026-01-01", [("2026-01-11", 100), ("2026-03-01", 50)], A),
    "c2": ("2026-01-01", [("2026-01-21", 200)], A),
    "c3": ("2026-02-01", [], A),
    "c4": ("2026-02-01", [("2026-01-01", 30)], B),  # ordered before signing up: 0 days
    "c5": ("2026-01-01", [("2026-01-05", 40), ("2026-01-06", 60), ("2026-01-07", 20)], B),
}


def test_each_objective_has_its_defaults() -> None:
    retention = WorkspaceConfig().kpis
    value = WorkspaceConfig(objective="value").kpis
    acquisition = WorkspaceConfig(objective="acquisition").kpis
    for kpis in (retention, value, acquisition):
        assert kpis[:3] == ["size", "share", "revenue_share"]
    assert {"repeat_purchase_rate", "churn_risk_share", "mean_p_alive"} <= set(retention)
    assert {"mean_clv", "total_clv", "clv_share", "average_order_value"} <= set(value)
    assert {"first_order_conversion", "days_to_first_order"} <= set(acquisition)
    assert set(KPI_SQL) == set(KPI_NAMES)
    assert all(set(kpis) <= set(KPI_NAMES) for kpis in OBJECTIVE_KPIS.values())


def test_audience_yaml_overrides_the_defaults_and_init_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "audience.yaml"
    WorkspaceConfig(objective="value").dump(path)
    assert "mean_clv" in path.read_text()
    path.write_text("objective: value\nkpis: [size, days_to_first_order]\n")
    assert WorkspaceConfig.load(path).kpis == ["size", "days_to_first_order"]


def test_an_unknown_kpi_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "audience.yaml"
    path.write_text("kpis: [size, happiness]\n")
    with pytest.raises(ConfigError, match="happiness") as caught:
        WorkspaceConfig.load(path)
    assert "known KPIs: size, share" in str(caught.value)
    assert "days_to_first_order" in str(caught.value)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    warehouse = Warehouse(":memory:")
    warehouse.migrate()
    con = warehouse.con
    for customer, (signup, orders, segment) in PEOPLE.items():
        con.execute(
            "INSERT INTO customers (customer_id, source, signup_at, import_id, updated_at) "
            "VALUES (?, 'crm', ?, 'i1', ?)",
            [customer, signup, NOW],
        )
        for n, (day, amount) in enumerate(orders):
            con.execute(
                "INSERT INTO order_lines (order_id, line_no, customer_id, ordered_at, quantity, "
                "amount, discount, currency, import_id) VALUES (?, 1, ?, ?, 1, ?, 0, 'EUR', 'i1')",
                [f"{customer}-{n}", customer, day, amount],
            )
        con.execute(
            "INSERT INTO memberships VALUES (?, ?, ?, 1.0, ?, NULL)", [customer, segment, RUN, NOW]
        )
    compute_features(con, FeatureSettings(), now=NOW)
    yield con
    warehouse.close()


def _segment_run(con: duckdb.DuckDBPyConnection, run_id: str, method: str, at: str) -> None:
    con.execute(
        "INSERT INTO segment_runs (run_id, created_at, method, params, features, preprocessing, "
        "metrics, selection, model, n_customers) VALUES (?, ?, ?, '{}', '[]', '{}', '{}', '[]', "
        "'{}', 0)",
        [run_id, at, method],
    )


def _predict(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO prediction_runs VALUES ('clv-1', 'clv', ?, '2026-03-01', '{}', '{}', '{}', "
        "4, true)",
        [NOW],
    )
    for customer, p_alive, clv in (
        ("c1", 0.9, 300),
        ("c2", 0.5, 100),
        ("c4", 0.2, 20),
        ("c5", 0.8, 180),
    ):
        con.execute(
            "INSERT INTO predictions (run_id, customer_id, kind, p_alive, clv) "
            "VALUES ('clv-1', ?, 'clv', ?, ?)",
            [customer, p_alive, clv],
        )
    # An older churn band run, closed: c1 was at high risk then and no longer counts.
    _segment_run(con, "churn_bands-old", "churn_bands", "2026-01-01")
    con.execute(
        "INSERT INTO memberships VALUES ('c1', 'churn_bands-old:0', 'churn_bands-old', 0.9, "
        "'2026-01-01', ?)",
        [NOW],
    )
    _segment_run(con, "churn_bands-new", "churn_bands", "2026-03-02")
    for customer, band in (("c1", 1), ("c2", 0), ("c4", 0), ("c5", 2)):
        con.execute(
            "INSERT INTO memberships VALUES (?, ?, 'churn_bands-new', 0.5, ?, NULL)",
            [customer, f"churn_bands-new:{band}", NOW],
        )


def test_values_match_the_hand_computed_example(con: duckdb.DuckDBPyConnection) -> None:
    _predict(con)
    result = segment_kpis(con, RUN, list(KPI_NAMES))
    assert result.unavailable == {}
    a, b = result.values[A], result.values[B]
    assert (a["size"], b["size"]) == (3, 2)
    assert (a["share"], b["share"]) == (0.6, 0.4)
    assert (a["revenue"], a["revenue_share"], b["revenue_share"]) == (350, 0.7, 0.3)
    assert (a["average_order_value"], b["average_order_value"]) == (116.6667, 37.5)
    # Among members who ordered: c1 of c1, c2; c5 of c4, c5.
    assert (a["repeat_purchase_rate"], b["repeat_purchase_rate"]) == (0.5, 0.5)
    assert (a["first_order_conversion"], b["first_order_conversion"]) == (0.6667, 1.0)
    # A: median of 10 and 20 days; B: median of 0 (order before sign-up) and 4 days.
    assert (a["days_to_first_order"], b["days_to_first_order"]) == (15.0, 2.0)
    # c3 has no prediction: means over the members scored.
    assert (a["mean_p_alive"], b["mean_p_alive"]) == (0.7, 0.5)
    assert (a["mean_clv"], a["total_clv"], b["total_clv"]) == (200, 400, 200)
    assert (a["clv_share"], b["clv_share"]) == (0.6667, 0.3333)
    # High band (label 0) of the latest run only: c2 of three, c4 of two.
    assert (a["churn_risk_share"], b["churn_risk_share"]) == (0.3333, 0.5)


def test_missing_predictions_are_not_available_rather_than_zero(
    con: duckdb.DuckDBPyConnection,
) -> None:
    result = segment_kpis(con, RUN, ["size", "mean_clv", "churn_risk_share", "mean_p_alive"])
    assert result.unavailable == {
        "mean_clv": "n/a (run `audience predict clv`)",
        "mean_p_alive": "n/a (run `audience predict clv`)",
        "churn_risk_share": "n/a (run `audience predict churn`)",
    }
    assert result.values[A] == {
        "size": 3,
        "mean_clv": None,
        "churn_risk_share": None,
        "mean_p_alive": None,
    }


def test_an_unknown_kpi_fails_the_computation_clearly(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ConfigError, match="unknown KPI happiness; known KPIs: size"):
        segment_kpis(con, RUN, ["size", "happiness"])


def test_terminal_json_and_report_show_the_objective_kpis(
    tmp_path: Path, demo_files: GeneratedFiles
) -> None:
    ws = str(tmp_path / "ws")
    assert _invoke("init", ws, "--objective", "value")[0] == 0
    for kind, path in (("customers", demo_files.customers), ("orders", demo_files.orders)):
        assert _invoke("import", kind, str(path), "-w", ws)[0] == 0
    code, out, _ = _invoke("segment", "-w", ws, "--k", "3")
    assert code == 0
    assert "n/a (run `audience predict clv`): mean CLV, total CLV, CLV share" in out
    assert _invoke("predict", "clv", "-w", ws)[0] == 0
    code, out, _ = _invoke("segment", "-w", ws, "--k", "3", "--json")
    run = json.loads(out)
    assert code == 0 and run["kpis_unavailable"] == {}
    for segment in run["segments"]:
        assert list(segment["kpis"]) == list(OBJECTIVE_KPIS["value"])
    assert sum(s["kpis"]["clv_share"] for s in run["segments"]) == pytest.approx(1, abs=1e-3)
    html = Path(run["report"]).read_text()
    assert "mean CLV (EUR)" in html and "n/a (run" not in html


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr
