"""Plotly figures (plain JSON) for the dashboard's records; the browser draws them.

Figures are built as dicts, not with plotly's Python objects: the page only needs the JSON,
and the plotly package is used for the JavaScript it ships (served from ``/ui/static``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from audience.pipelines.dashboard_segment import DayCount, FeatureContrast, Reach
from audience.pipelines.dashboard_views import (
    CohortGrid,
    Distribution,
    SegmentMapData,
    Transition,
)

Figure = dict[str, Any]
DAY_MS = 86_400_000
"""A day on a Plotly date axis (milliseconds): the width of a day's bar."""
T = Callable[[str], str]


def _layout(title: str = "", height: int = 320, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 14}},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 40 if title else 20, "b": 50},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        **extra,
    }


def _days_axis(history: Sequence[DayCount]) -> dict[str, Any]:
    """A calendar-day axis, a day either side so that one day of history is a readable bar."""
    axis: dict[str, Any] = {"type": "date", "tickformat": "%Y-%m-%d"}
    if history:
        first, last = history[0].day, history[-1].day
        axis["range"] = [
            (first - timedelta(days=1)).isoformat(),
            (last + timedelta(days=1)).isoformat(),
        ]
        if (last - first).days < 7:
            axis["dtick"] = DAY_MS  # one tick a day, not hours
    return axis


def size_over_time(history: Sequence[DayCount], t: T) -> Figure:
    days = [h.day.isoformat() for h in history]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": days,
                "y": [h.size for h in history],
                "name": t("size"),
            }
        ],
        "layout": _layout(
            t("size_over_time"), xaxis=_days_axis(history), yaxis={"rangemode": "tozero"}
        ),
    }


def entered_exited(history: Sequence[DayCount], t: T) -> Figure:
    days = [h.day.isoformat() for h in history]
    return {
        "data": [
            {
                "type": "bar",
                "x": days,
                "y": [h.entered for h in history],
                "name": t("entered"),
                "width": DAY_MS * 0.8,
            },
            {
                "type": "bar",
                "x": days,
                "y": [-h.exited for h in history],
                "name": t("exited"),
                "width": DAY_MS * 0.8,
            },
        ],
        "layout": _layout(t("entered_exited"), barmode="relative", xaxis=_days_axis(history)),
    }


def reach(rows: Sequence[Reach], t: T) -> Figure:
    purposes = [r.purpose for r in rows]
    return {
        "data": [
            {"type": "bar", "x": purposes, "y": [r.granted for r in rows], "name": t("granted")},
            {"type": "bar", "x": purposes, "y": [r.refused for r in rows], "name": t("refused")},
            {"type": "bar", "x": purposes, "y": [r.unknown for r in rows], "name": t("unknown")},
        ],
        "layout": _layout(t("reach"), barmode="stack"),
    }


def contrast(rows: Sequence[FeatureContrast], t: T) -> Figure:
    shown = [r for r in rows if r.z is not None]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [r.feature for r in shown],
                "x": [r.z for r in shown],
                "marker": {"color": ["#c0392b" if (r.z or 0) < 0 else "#2471a3" for r in shown]},
            }
        ],
        "layout": _layout(
            t("profile") + " (z)",
            height=max(240, 24 * len(shown) + 80),
            margin={"l": 160, "r": 20, "t": 40, "b": 40},
            yaxis={"automargin": True, "autorange": "reversed"},
        ),
    }


def segment_map(found: SegmentMapData, t: T) -> Figure:
    by_segment: dict[str, list[Any]] = {}
    for p in found.points:
        by_segment.setdefault(p.segment, []).append(p)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "name": name,
                "x": [p.x for p in points],
                "y": [p.y for p in points],
                "text": [f"{p.customer_id} · {name}" for p in points],
                "hoverinfo": "text",
                "marker": {"size": 5, "opacity": 0.7},
            }
            for name, points in sorted(by_segment.items())
        ],
        "layout": _layout(
            t("map"),
            height=560,
            xaxis={"title": {"text": f"PC1 ({found.explained_variance[0]:.0%})"}},
            yaxis={"title": {"text": f"PC2 ({found.explained_variance[1]:.0%})"}},
        ),
    }


def boxes(rows: Sequence[Distribution], title: str) -> Figure:
    """Box plots from stored quantiles (5-95 % whiskers), one per segment."""
    return {
        "data": [
            {
                "type": "box",
                "name": r.segment,
                "x": [r.segment],
                "lowerfence": [r.quantiles[0]],
                "q1": [r.quantiles[1]],
                "median": [r.quantiles[2]],
                "q3": [r.quantiles[3]],
                "upperfence": [r.quantiles[4]],
                "mean": [r.mean],
                "boxpoints": False,
            }
            for r in rows
        ],
        "layout": _layout(
            title, height=400, showlegend=False, xaxis={"automargin": True, "tickangle": -30}
        ),
    }


def cohort_heatmap(grid: CohortGrid, t: T) -> Figure:
    percent = grid.metric == "retention"
    return {
        "data": [
            {
                "type": "heatmap",
                "z": grid.values,
                "x": grid.periods,
                "y": [f"{c} (n={n})" for c, n in zip(grid.cohorts, grid.sizes, strict=True)],
                "colorscale": "Blues",
                "reversescale": True,  # Plotly's Blues runs dark to light: darker is more
                "texttemplate": "%{z:.0%}" if percent else "%{z:,.0f}",
                "hoverongaps": False,
            }
        ],
        "layout": _layout(
            t(grid.metric),
            height=max(320, 22 * len(grid.cohorts) + 100),
            margin={"l": 130, "r": 20, "t": 40, "b": 50},
            xaxis={"title": {"text": t("months_since")}, "dtick": 1},
            yaxis={"autorange": "reversed", "automargin": True},
        ),
    }


def transition(found: Transition, t: T) -> Figure:
    before = sorted(set(found.source))
    after = sorted(set(found.target))
    labels = [f"{name} ({found.before[-6:]})" for name in before]
    labels += [f"{name} ({found.after[-6:]})" for name in after]
    return {
        "data": [
            {
                "type": "sankey",
                "node": {"label": labels, "pad": 12},
                "link": {
                    "source": [before.index(s) for s in found.source],
                    "target": [len(before) + after.index(a) for a in found.target],
                    "value": found.counts,
                    # Explicit colours: Plotly's default derives from a transparent paper
                    # (white links on white). Blue: the same name in both runs; red: moved.
                    "color": [
                        "rgba(36,113,163,0.35)" if b == a else "rgba(192,57,43,0.45)"
                        for b, a in zip(found.source, found.target, strict=True)
                    ],
                },
            }
        ],
        "layout": _layout(t("transitions"), height=460),
    }
