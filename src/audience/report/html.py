"""The HTML report of a segmentation run: one self-contained file, charts inlined."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import numpy as np
from numpy.typing import NDArray
from sklearn.decomposition import PCA

from audience import __version__
from audience.config import WorkspaceConfig
from audience.predictive.charts import cohort_heatmap
from audience.predictive.cohorts import cohort_table
from audience.report.charts import map_chart, signature_chart, sizes_chart
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


def pca_map(
    X: NDArray[np.float64], labels: NDArray[np.int64], size: int, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """2-D PCA coordinates of a random sample of customers, with their labels."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), size=min(size, len(X)), replace=False)
    points = PCA(n_components=2, random_state=seed).fit_transform(X[idx])
    return points, labels[idx]


def write_report(
    con: duckdb.DuckDBPyConnection, run: SegmentRun, config: WorkspaceConfig, reports_dir: Path
) -> Path:
    """Write ``reports/<run_id>.html`` and copy it to ``reports/latest.html``."""
    map_sample, seed = config.report.map_sample, config.segmentation.random_state
    names = [s.name for s in run.segments]
    points, sample_labels = pca_map(run.space, run.labels, map_sample, seed)
    z = np.array([[s.features[f]["z"] or 0.0 for f in run.features] for s in run.segments])
    charts = {
        "sizes": sizes_chart(names, [s.size for s in run.segments]),
        "map": map_chart(points, sample_labels, names, "Customers on the first two principal axes"),
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
        map_points=len(points),
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
