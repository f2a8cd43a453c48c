"""The predictive part of the run report: CLV and churn per segment, rule segment sizes.

Read from the warehouse as the predictive and rules stages left it: the latest scored CLV
and churn runs (``prediction_runs``, the view ``customer_predictions``), the current churn
bands (a ``churn_bands`` segment run) and the current rule memberships (``rule:<name>``).
Each section is empty when its run never happened, so the report of a workspace that was
only segmented looks as before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np

from audience.model.rule_segment import RULE_PREFIX
from audience.plotting import PALETTE, data_uri, new_figure

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
MIN_BOX = 5
"""Scored members a segment needs for a box in the CLV chart; fewer make no distribution."""


@dataclass
class PredictionRun:
    """The run a section comes from, as the report's note names it."""

    run_id: str
    as_of: str
    n_customers: int
    metrics: dict[str, float | bool]


@dataclass
class SegmentClv:
    segment: str
    members: int
    scored: int
    mean: float | None
    quantiles: list[float | None]
    """CLV at each of :data:`QUANTILES` among the segment's scored members."""
    total: float


@dataclass
class SegmentChurn:
    segment: str
    members: int
    scored: int
    mean: float | None
    bands: dict[str, float]
    """Share of the segment's members in each current churn band, by band name."""


@dataclass
class PredictiveSections:
    """What the report shows beyond the clustering; ``failures`` are steps that did not run."""

    clv_run: PredictionRun | None = None
    clv: list[SegmentClv] = field(default_factory=list)
    clv_chart: str | None = None
    churn_run: PredictionRun | None = None
    churn: list[SegmentChurn] = field(default_factory=list)
    churn_bands: list[str] = field(default_factory=list)
    rule_segments: list[dict[str, str | int]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def predictive_sections(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    names: Sequence[str],
    failures: Sequence[str] = (),
) -> PredictiveSections:
    """The sections for segmentation run ``run_id`` whose segments are ``names`` (by label)."""
    sections = PredictiveSections(failures=list(failures))
    sections.clv_run = _latest(con, "clv")
    if sections.clv_run is not None:
        values = _scores(con, run_id, "clv")
        sections.clv = [_clv_row(name, values.get(label)) for label, name in enumerate(names)]
        sizes = _sizes(con, run_id)
        for label, row in enumerate(sections.clv):
            row.members = sizes.get(label, 0)
        sections.clv_chart = _clv_chart(names, values)
    sections.churn_run = _latest(con, "churn")
    if sections.churn_run is not None:
        sections.churn, sections.churn_bands = _churn_rows(con, run_id, names)
    sections.rule_segments = _rule_sizes(con)
    return sections


def _latest(con: duckdb.DuckDBPyConnection, kind: str) -> PredictionRun | None:
    row = con.execute(
        """SELECT run_id, as_of, n_customers, metrics FROM prediction_runs
           WHERE kind = ? AND scored ORDER BY created_at DESC LIMIT 1""",
        [kind],
    ).fetchone()
    if row is None:
        return None
    metrics = json.loads(row[3]) if row[3] else {}
    kept = {
        k: v
        for k, v in metrics.items()
        if isinstance(v, bool | int | float) and k in ("auc", "brier", "brier_base_rate")
    }
    if "beats_base_rate" in metrics:
        kept["beats_base_rate"] = bool(metrics["beats_base_rate"])
    return PredictionRun(str(row[0]), str(row[1]), int(row[2]), kept)


def _sizes(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[int, int]:
    rows = con.execute(
        """SELECT s.label, count(*) FROM memberships m JOIN segments s USING (segment_id)
           WHERE m.run_id = ? GROUP BY ALL""",
        [run_id],
    ).fetchall()
    return {int(label): int(n) for label, n in rows}


def _scores(con: duckdb.DuckDBPyConnection, run_id: str, column: str) -> dict[int, np.ndarray]:
    """The current score ``column`` of each scored member, by segment label."""
    rows = con.execute(
        f"""SELECT s.label, list(cp.{column}) FROM memberships m
            JOIN segments s USING (segment_id)
            JOIN customer_predictions cp USING (customer_id)
            WHERE m.run_id = ? AND cp.{column} IS NOT NULL GROUP BY ALL""",
        [run_id],
    ).fetchall()
    return {int(label): np.asarray(values, dtype=float) for label, values in rows}


def _clv_row(name: str, values: np.ndarray | None) -> SegmentClv:
    if values is None or not len(values):
        return SegmentClv(name, 0, 0, None, [None] * len(QUANTILES), 0.0)
    quantiles = [float(q) for q in np.quantile(values, QUANTILES)]
    return SegmentClv(
        name, 0, len(values), float(values.mean()), list(quantiles), float(values.sum())
    )


def _clv_chart(names: Sequence[str], values: dict[int, np.ndarray]) -> str | None:
    """Box plots of CLV by segment (whiskers at the 5th and 95th centiles, no outliers)."""
    labels = [label for label in range(len(names)) if len(values.get(label, ())) >= MIN_BOX]
    if not labels:
        return None
    figure, axis = new_figure(7, 0.45 * len(labels) + 1.2)
    boxes = axis.boxplot(
        [values[label] for label in labels],
        orientation="horizontal",
        whis=(5, 95),
        showfliers=False,
        patch_artist=True,
        medianprops={"color": "black"},
    )
    for label, patch in zip(labels, boxes["boxes"], strict=True):
        patch.set_facecolor(PALETTE(label % 10))
    axis.set_yticks(range(1, len(labels) + 1), labels=[names[label] for label in labels])
    axis.invert_yaxis()
    axis.set_xlabel("CLV over the horizon (discounted)")
    axis.spines[["top", "right"]].set_visible(False)
    return data_uri(figure)


def _churn_rows(
    con: duckdb.DuckDBPyConnection, run_id: str, names: Sequence[str]
) -> tuple[list[SegmentChurn], list[str]]:
    sizes = _sizes(con, run_id)
    scores = _scores(con, run_id, "churn_probability")
    bands = con.execute(
        """WITH current_band AS (
               SELECT b.customer_id, s.name, s.label FROM memberships b
               JOIN segment_runs r ON r.run_id = b.run_id AND r.method = 'churn_bands'
               JOIN segments s ON s.segment_id = b.segment_id
               WHERE b.valid_to IS NULL)
           SELECT s.label, c.name, c.label AS band, count(*) FROM memberships m
           JOIN segments s USING (segment_id) JOIN current_band c USING (customer_id)
           WHERE m.run_id = ? GROUP BY ALL ORDER BY band""",
        [run_id],
    ).fetchall()
    band_names = list(dict.fromkeys(str(row[1]) for row in bands))
    shares: dict[int, dict[str, float]] = {}
    for label, band, _, n in bands:
        shares.setdefault(int(label), {})[str(band)] = int(n) / max(sizes.get(int(label), 0), 1)
    rows = []
    for label, name in enumerate(names):
        values = scores.get(label, np.empty(0))
        rows.append(
            SegmentChurn(
                name,
                sizes.get(label, 0),
                len(values),
                float(values.mean()) if len(values) else None,
                shares.get(label, {}),
            )
        )
    return rows, band_names


def _rule_sizes(con: duckdb.DuckDBPyConnection) -> list[dict[str, str | int]]:
    """Current members of each rule segment, largest first."""
    rows = con.execute(
        """SELECT segment_id, count(*) AS n FROM memberships
           WHERE valid_to IS NULL AND starts_with(segment_id, ?)
           GROUP BY ALL ORDER BY n DESC, segment_id""",
        [RULE_PREFIX],
    ).fetchall()
    return [
        {"segment": str(segment_id).removeprefix(RULE_PREFIX), "members": int(n)}
        for segment_id, n in rows
    ]
