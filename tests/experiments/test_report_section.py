"""The HTML report's experiments section: analysed rows, or the reason there are none."""

from __future__ import annotations

import jinja2

from audience.experiments.assignment import assign_members
from audience.experiments.definitions import definition
from audience.experiments.registry import create_experiment
from audience.pipelines.experiments import report_sections
from audience.store.warehouse import Warehouse
from tests.experiments.segment_data import NOW


def test_sections_and_their_html(warehouse: Warehouse) -> None:
    con = warehouse.con
    assign_members(
        con, create_experiment(con, definition("shown", "Buyers", "c:50,t:50", "revenue"), NOW), NOW
    )
    create_experiment(con, definition("waiting", "Buyers", "c:50,t:50"), NOW)
    shown, waiting = report_sections(con)
    assert [r.name for r in shown.rows] == ["c", "t"]
    assert shown.rows[0].lift is None and shown.rows[1].lift is not None
    assert sum(r.n for r in shown.rows) == 2000
    assert waiting.rows == () and "no exposures yet" in (waiting.unavailable or "")
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("audience.report", "templates"), autoescape=True
    )
    # The section alone (a full report needs a segmentation run): the template's own text.
    source = environment.loader.get_source(environment, "report.html.j2")[0]  # type: ignore[union-attr]
    start = source.index("{% if experiments %}")
    end = source.index("{% endif %}\n\n{% if cohorts %}") + len("{% endif %}")
    html = environment.from_string(source[start:end]).render(experiments=[shown, waiting])
    assert '<h2 id="experiments">' in html and "shown" in html and "no exposures yet" in html
    assert f"{shown.rows[1].lift * 100:+.1f}%" in html
