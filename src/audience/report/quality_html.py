"""The data quality report as one HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2


def write_quality_report(report: dict[str, Any], reports_dir: Path, workspace: str) -> Path:
    statuses = sorted({s for counts in report["normalisers"].values() for s in counts})
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("audience.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    html = environment.get_template("quality.html.j2").render(
        q=report, workspace=workspace, statuses=statuses
    )
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / "quality.html"
    path.write_text(html, encoding="utf-8")
    return path
