"""The HTML report of a segmentation run: one self-contained file, charts inlined."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import numpy as np

from audience import __version__
from audience.config import WorkspaceConfig
from audience.predictive.charts import cohort_heatmap
from audience.predictive.cohorts import cohort_table
from audience.report.charts import signature_chart, sizes_chart
from audience.segmentation.maps import segment_map
from audience.segmentation.result import SegmentRun
from audience.segmentation.selection_rule import SELECTION_RULE
from audience.store.warehouse import scalar, utcnow

_PERCENT_KPIS = {"share", "conversion_rate", "revenue_share", "email_click_rate"}


def format_kpi(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    if name in _PERCENT_KPIS:
        return f"{100 * value:.1f}%"
    if name == "size":
        return f"{int(value):,}"
    return f"{value:,.2f}"


def write_report(
    con: duckdb.DuckDBPyConnection, run: SegmentRun, config: WorkspaceConfig, reports_dir: Path
) -> Path:
    """Write ``reports/<run_id>.html`` and copy it to ``reports/latest.html``."""
    names = [s.name for s in run.segments]
    pca = segment_map(
        run.space,
        run.labels,
        names,
        "pca",
        sample_size=config.report.map_sample,
        random_state=config.segmentation.random_state,
    )
    z = np.array([[s.features[f]["z"] or 0.0 for f in run.features] for s in run.segments])
    charts = {
        "sizes": sizes_chart(names, [s.size for s in run.segments]),
        "map": pca.data_uri,
        "signature": signature_chart(names, run.features, z),
    }
    cohorts = cohort_heatmap(cohort_table(con, config.timezone)) if _has_orders(con) else None
    keys = ("file", "kind", "read", "new", "updated", "unchanged", "quarantined")
    imports = [
        dict(zip(keys, row, strict=True))
        for row in con.execute(
            "SELECT source_file, kind, rows_read, rows_new, rows_updated, rows_unchanged, "
            "rows_quarantined FROM imports ORDER BY started_at"
        ).fetchall()
    ]
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("audience.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    html = environment.get_template("report.html.j2").render(
        run=_as_template_data(run),
        workspace=config.name,
        objective=config.objective,
        kpis=config.kpis,
        fmt=format_kpi,
        num=_number,
        charts=charts,
        cohorts=cohorts,
        map_points=pca.n_points,
        criterion=SELECTION_RULE,
        maps=_maps(run, config, reports_dir),
        imports=imports,
        version=__version__,
        generated_at=f"{utcnow():%Y-%m-%d %H:%M}",
    )
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"{run.run_id}.html"
    path.write_text(html, encoding="utf-8")
    shutil.copyfile(path, reports_dir / "latest.html")
    return path


def _number(value: Any, pattern: str) -> str:
    """A number formatted, or a dash when missing (NaN, None)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return str(pattern % value)


def _maps(run: SegmentRun, config: WorkspaceConfig, reports_dir: Path) -> list[dict[str, str]]:
    """The configured maps other than PCA (drawn above), also saved as PNG beside the report."""
    names = [s.name for s in run.segments]
    drawn = []
    for method in config.report.maps:
        if method == "pca":
            continue
        result = segment_map(
            run.space,
            run.labels,
            names,
            method,
            sample_size=min(config.report.map_sample, 3_000),
            random_state=config.segmentation.random_state,
            path=reports_dir / f"{run.run_id}-{method}.png",
        )
        drawn.append({"method": method, "uri": result.data_uri})
    return drawn


def _has_orders(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(scalar(con, "SELECT count(*) > 0 FROM order_lines"))


def _as_template_data(run: SegmentRun) -> dict[str, Any]:
    data = run.to_dict()
    for segment, profile in zip(data["segments"], run.segments, strict=True):
        segment["kpis"] = profile.kpis
    return data
