"""The dashboard's pages: each reads its record from :mod:`audience.pipelines` and renders it.

No SQL here: a page parses its query parameters, calls one pipeline function, turns the record
into a template context (and Plotly figures, :mod:`audience.ui.charts`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, quote

import duckdb
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from audience.errors import NotFoundError
from audience.pipelines import dashboard, dashboard_segment, dashboard_views
from audience.ui import charts
from audience.ui.app import Dashboard, Download, Page
from audience.ui.auth import Viewer
from audience.ui.i18n import choose_language, translator

Con = duckdb.DuckDBPyConnection


def _t(request: Request) -> Callable[[str], str]:
    return translator(choose_language(request.headers.get("accept-language")))


def _localised(request: Request, figures: dict[str, charts.Figure]) -> dict[str, charts.Figure]:
    """Numbers in the charts written as the page's language writes them (1 234,5 in French)."""
    if choose_language(request.headers.get("accept-language")) == "fr":
        for figure in figures.values():
            figure["layout"]["separators"] = ",\u202f"
    return figures


def _int(request: Request, name: str, default: int = 1) -> int:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() else default


def overview(request: Request, viewer: Viewer, con: Con) -> Page:
    return Page("overview.html", {"data": dashboard.overview(con), "nav": "overview"})


def segments(request: Request, viewer: Viewer, con: Con) -> Page:
    return Page("segments.html", {"data": dashboard.segment_list(con), "nav": "segments"})


def _segment_id(request: Request) -> str:
    segment_id = request.query_params.get("id", "")
    if not segment_id:
        raise NotFoundError("no segment named; pick one from the segments page")
    return segment_id


def segment(request: Request, viewer: Viewer, con: Con) -> Page:
    t = _t(request)
    segment_id = _segment_id(request)
    detail = dashboard_segment.segment_detail(con, segment_id)
    found = dashboard_segment.members(
        con, segment_id, request.query_params.get("search", ""), _int(request, "page")
    )
    figures = {
        "size": charts.size_over_time(detail.history, t),
        "moves": charts.entered_exited(detail.history, t),
    }
    if detail.reach:
        figures["reach"] = charts.reach(detail.reach, t)
    if any(c.z is not None for c in detail.contrast):
        figures["contrast"] = charts.contrast(detail.contrast, t)
    context = {"d": detail, "members": found, "figures": _localised(request, figures)}
    context["nav"] = "segments"
    return Page("segment.html", context)


def export(dashboard_: Dashboard) -> Callable[[Request, Viewer, Con], Download]:
    def download(request: Request, viewer: Viewer, con: Con) -> Download:
        segment_id = _segment_id(request)
        dashboard_segment.require_segment(con, segment_id)  # a 404 page, not a cut download
        body = dashboard_segment.stream_members(dashboard_.workspace, segment_id)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", segment_id).strip("-") or "segment"
        return Download(f"{name}.csv", body)

    return download


def segment_map(request: Request, viewer: Viewer, con: Con) -> Page:
    found = dashboard_views.segment_map(con, request.query_params.get("run") or None)
    figure = (
        None
        if found is None
        else _localised(request, {"map": charts.segment_map(found, _t(request))})["map"]
    )
    return Page("map.html", {"data": found, "figure": figure, "nav": "map"})


def predictions(request: Request, viewer: Viewer, con: Con, currency: str) -> Page:
    t = _t(request)
    found = dashboard_views.predictions_by_segment(
        con, currency, request.query_params.get("run") or None
    )
    figures = {}
    if found is not None:
        figures["clv"] = charts.boxes(found.clv, f"{t('clv')} ({currency})")
        figures["churn"] = charts.boxes(found.churn, t("churn"))
    context = {"data": found, "figures": _localised(request, figures), "nav": "predictions"}
    return Page("predictions.html", context)


def cohorts(request: Request, viewer: Viewer, con: Con, timezone: str) -> Page:
    metric = request.query_params.get("metric", "retention")
    found = dashboard_views.cohorts(con, timezone, metric)
    figure = None
    if found is not None:
        figure = _localised(request, {"c": charts.cohort_heatmap(found, _t(request))})["c"]
    context = {"data": found, "figure": figure, "metric": metric, "nav": "cohorts"}
    return Page("cohorts.html", context)


def experiments(request: Request, viewer: Viewer, con: Con) -> Page:
    return Page(
        "experiments.html", {"data": dashboard_views.experiments(con), "nav": "experiments"}
    )


def runs(request: Request, viewer: Viewer, con: Con) -> Page:
    found = dashboard_views.run_history(con)
    figure = None
    if found.transition is not None and found.transition.counts:
        figure = charts.transition(found.transition, _t(request))
    return Page("runs.html", {"data": found, "figure": figure, "nav": "runs"})


def quality(request: Request, viewer: Viewer, con: Con) -> Page:
    context = {
        "data": dashboard_views.quality(con),
        "done": request.query_params.get("done", ""),
        "nav": "quality",
    }
    return Page("quality.html", context)


def live(dashboard_: Dashboard) -> Callable[[Request, Viewer, Con], Page]:
    def page(request: Request, viewer: Viewer, con: Con) -> Page:
        return Page("live.html", {"available": dashboard_.feed is not None, "nav": "live"})

    return page


def quarantine_action(dashboard_: Dashboard) -> Callable[[Request], Awaitable[Response]]:
    """POST /ui/quality/action: retry or discard one row (admins; the form carries a token)."""

    async def endpoint(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))

        def field(name: str) -> str:
            return (form.get(name) or [""])[0]

        def act(request: Request, viewer: Viewer, con: Con) -> Response:
            dashboard_.sessions.check_form_token(viewer, field("token"))
            con.close()  # the action writes: the read-only connection must go first
            outcome = dashboard_views.quarantine_action(
                dashboard_.workspace, field("row"), field("action"), f"dashboard:{viewer.role}"
            )
            return RedirectResponse(f"/ui/quality?done={quote(outcome)}", status_code=303)

        return await dashboard_.serve(request, act, admin=True)

    return endpoint


def register(router: APIRouter, dashboard_: Dashboard) -> None:
    """Add every page to ``router`` (mounted under /ui)."""
    config = dashboard_.workspace.config

    def route(
        path: str, handler: Callable[[Request, Viewer, Con], Page | Download], cached: bool = True
    ) -> None:
        async def endpoint(request: Request) -> Response:
            return await dashboard_.serve(request, handler, cached=cached)

        router.add_api_route(path, endpoint, methods=["GET"])

    route("/", overview)
    route("/segments", segments)
    route("/segment", segment)
    route("/segment/export.csv", export(dashboard_), cached=False)  # streamed, not kept
    route("/map", segment_map)
    route("/predictions", lambda r, v, c: predictions(r, v, c, config.currency))
    route("/cohorts", lambda r, v, c: cohorts(r, v, c, config.timezone))
    route("/experiments", experiments)
    route("/runs", runs)
    route("/quality", quality, cached=False)  # shows what an action just did
    route("/live", live(dashboard_))
    router.add_api_route("/quality/action", quarantine_action(dashboard_), methods=["POST"])
