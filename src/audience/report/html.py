"""The HTML report of a segmentation run: one self-contained file, charts inlined.

The pipeline (:mod:`audience.pipelines.run_report`) draws what other stages know -- maps of the
clustering space, the cohort heat map -- and hands them here as :class:`RunCharts`; this
module lays out the page.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import numpy as np

from audience import __version__
from audience.config import WorkspaceConfig
from audience.config.kpis import KPIS
from audience.model.runs import SegmentRun
from audience.plotting import signature_chart, sizes_chart
from audience.report.experiment_results import ExperimentSection
from audience.report.predictions import QUANTILES, PredictiveSections


def format_kpi(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    unit = KPIS[name].unit
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit == "count":
        return f"{int(value):,}"
    if unit == "days":
        return f"{value:,.1f}"
    return f"{value:,.2f}"


@dataclass
class RunCharts:
    """Charts drawn outside this stage, as PNG data URIs."""

    pca_map: str
    map_points: int
    criterion: str
    """The selection rule, in words."""
    cohorts: str | None = None
    other_maps: list[dict[str, str]] = field(default_factory=list)
    """``{"method": "tsne", "uri": ...}`` for each configured map besides PCA."""
    predictive: PredictiveSections = field(default_factory=PredictiveSections)
    """CLV and churn per segment and rule segment sizes, when those runs exist."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """Earlier runs of the model, newest first: metrics, champion, recalibration decision."""
    transitions: dict[str, Any] | None = None
    """Customers from the previous run's segments (``from``) to this run's (``to``):
    ``counts`` and row ``shares``; None for a first run."""
    drift: list[dict[str, Any]] = field(default_factory=list)
    """The latest ``audience drift`` checks, newest first, with their drifted features."""
    experiments: list[ExperimentSection] = field(default_factory=list)
    """Each experiment's primary metric per variant (relative lift, frequentist)."""


def write_report(
    con: duckdb.DuckDBPyConnection,
    run: SegmentRun,
    config: WorkspaceConfig,
    reports_dir: Path,
    charts: RunCharts,
    generated_at: datetime,
) -> Path:
    """Write ``reports/<run_id>.html`` and copy it to ``reports/latest.html``."""
    names = [s.name for s in run.segments]
    z = np.array([[s.features[f]["z"] or 0.0 for f in run.features] for s in run.segments])
    images = {
        "sizes": sizes_chart(names, [s.size for s in run.segments]),
        "map": charts.pca_map,
        "signature": signature_chart(names, run.features, z),
    }
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
        kpi_info=KPIS,
        unavailable=run.kpis_unavailable,
        currency=config.currency,
        fmt=format_kpi,
        num=_number,
        charts=images,
        cohorts=charts.cohorts,
        map_points=charts.map_points,
        criterion=charts.criterion,
        maps=charts.other_maps,
        predictive=charts.predictive,
        history=charts.history,
        transitions=charts.transitions,
        drift=charts.drift,
        experiments=charts.experiments,
        quantiles=[f"p{round(100 * q)}" for q in QUANTILES],
        imports=imports,
        version=__version__,
        generated_at=f"{generated_at:%Y-%m-%d %H:%M}",
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


def _as_template_data(run: SegmentRun) -> dict[str, Any]:
    data = run.to_dict()
    for segment, profile in zip(data["segments"], run.segments, strict=True):
        segment["kpis"] = profile.kpis
    return data
