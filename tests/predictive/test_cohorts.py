"""Cohort tables from hand-made orders, and the heat map."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from audience.ingest.importer import import_file
from audience.predictive.charts import cohort_heatmap, png_bytes, tracking_chart
from audience.predictive.cohorts import cohort_table
from audience.store.workspace import Workspace
from tests.conftest import write

# A and B start in January, C in February. A buys again in February and March, B in March,
# C in March. Two orders on one day by A are two orders but one active month.
ORDERS = """order_id,customer_id,ordered_at,amount
1,A,2026-01-05T10:00:00Z,10
2,B,2026-01-20T10:00:00Z,20
3,A,2026-02-02T10:00:00Z,5
4,C,2026-02-10T10:00:00Z,40
5,A,2026-03-01T10:00:00Z,1
6,A,2026-03-01T12:00:00Z,2
7,B,2026-03-15T10:00:00Z,7
8,C,2026-03-20T10:00:00Z,8
"""


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    import_file(workspace, "orders", write(tmp_path / "o.csv", ORDERS))
    return workspace


def _table(ws: Workspace, by: str, metric: str) -> dict[str, Any]:
    with ws.warehouse(read_only=True) as warehouse:
        return cohort_table(warehouse.con, ws.config.timezone, by, metric)  # type: ignore[arg-type]


def test_monthly_retention_revenue_and_orders(ws: Workspace) -> None:
    retention = _table(ws, "month", "retention")
    cohorts = retention["cohorts"]
    assert [c["cohort"] for c in cohorts] == ["2026-01", "2026-02"]
    assert [c["size"] for c in cohorts] == [2, 1]
    assert cohorts[0]["values"] == [1.0, 0.5, 1.0]
    assert cohorts[1]["values"] == [1.0, 1.0, None]  # not yet seen
    revenue = _table(ws, "month", "revenue")["cohorts"]
    assert revenue[0]["values"] == [30.0, 5.0, 10.0]
    assert revenue[1]["values"][:2] == [40.0, 8.0]
    orders = _table(ws, "month", "orders")["cohorts"]
    assert orders[0]["values"] == [2.0, 1.0, 3.0]


def test_weekly_cohorts_count_weeks_since_acquisition(ws: Workspace) -> None:
    table = _table(ws, "week", "retention")
    first = table["cohorts"][0]
    assert first["cohort"] == "2026-W02"  # A, Monday 5 January
    assert first["size"] == 1
    assert first["values"][4] == 1.0  # 2 February is 4 weeks later
    assert sum(v for v in first["values"] if v) == 3.0  # weeks 0, 4 and 8 (1 March)


def test_charts_are_png_data_uris(ws: Workspace) -> None:
    uri = cohort_heatmap(_table(ws, "month", "retention"))
    assert uri.startswith("data:image/png;base64,")
    assert png_bytes(uri)[:8] == b"\x89PNG\r\n\x1a\n"
    series = {
        "week_end": ["2026-01-07", "2026-01-14"],
        "actual_cumulative": [1, 3],
        "expected_cumulative": [1.2, 2.5],
        "calibration_end": "2026-01-07",
    }
    assert base64.b64decode(tracking_chart(series).split(",")[1])[:4] == b"\x89PNG"
