"""The dashboard's other pages: map, CLV and churn, cohorts, experiments, runs, quality.

Each returns ``None`` (or an empty record) when what it shows does not exist yet, and the page
says which command makes it. Experiments and drift checks come from tables added by their own
features; until those are merged their pages read whatever the tables hold, if they exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
from sklearn.decomposition import PCA

from audience.errors import InputError, NotFoundError
from audience.pipelines.dashboard import CLUSTER_EXCLUDED, Table, latest_rows, table_exists
from audience.pipelines.dashboard_snapshots import (
    cohorts_basis,
    exposures_basis,
    map_basis,
    predictions_basis,
    stored,
)
from audience.pipelines.quarantine_retry import retry
from audience.predictive.cohorts import cohort_table
from audience.quality.quarantine import QuarantinedRow, discard, find, rows, summary
from audience.segmentation.stored_runs import StoredRun, load_run, sample_in_space
from audience.store.warehouse import scalar
from audience.store.workspace import Workspace

MAP_POINTS = 2_000
"""Members drawn on the map: a repeatable sample, so that a page of any workspace is quick."""
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
COHORT_METRICS = ("retention", "revenue", "orders")


@dataclass(frozen=True)
class MapPoint:
    customer_id: str
    segment: str
    x: float
    y: float


@dataclass(frozen=True)
class SegmentMapData:
    run_id: str
    method: str
    points: list[MapPoint]
    explained_variance: list[float]


@dataclass(frozen=True)
class Distribution:
    """A segment's distribution of one score, as box-plot quantiles (5, 25, 50, 75, 95 %)."""

    segment: str
    n: int
    quantiles: list[float]
    mean: float


@dataclass(frozen=True)
class PredictionsBySegment:
    run_id: str
    clv: list[Distribution]
    churn: list[Distribution]
    currency: str


@dataclass(frozen=True)
class CohortGrid:
    cohorts: list[str]
    sizes: list[int]
    periods: list[int]
    values: list[list[float | None]]
    metric: str


@dataclass(frozen=True)
class Transition:
    """How the members of one run's segments spread over the next run's (same family)."""

    before: str
    after: str
    source: list[str]
    target: list[str]
    counts: list[int]


@dataclass(frozen=True)
class RunHistory:
    runs: Table
    transition: Transition | None
    drift: Table | None


@dataclass(frozen=True)
class QualityPage:
    summary: list[dict[str, object]]
    rows: list[QuarantinedRow]
    imports: Table


def clustering_run(con: duckdb.DuckDBPyConnection, run_id: str | None) -> StoredRun | None:
    """The run asked for (NotFoundError when unknown), else the latest clustering, or None."""
    try:
        return load_run(con, run_id)
    except InputError:
        if run_id:
            raise NotFoundError(f"no segmentation run {run_id!r}; see the runs page") from None
        return None


def segment_map(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> SegmentMapData | None:
    """A sample of the run's members projected on two principal components of its space."""
    run = clustering_run(con, run_id)
    if run is None or run.method == "rfm":
        return None
    kept = stored(con, f"map:{run.run_id}", lambda: map_basis(con, run.run_id))
    if kept is not None:
        points = [MapPoint(**p) for p in kept["points"]]
        return SegmentMapData(kept["run_id"], kept["method"], points, kept["explained_variance"])
    return map_of_run(con, run)


def map_of_run(con: duckdb.DuckDBPyConnection, run: StoredRun) -> SegmentMapData | None:
    """:func:`segment_map` computed now (a batch run keeps it, :mod:`.dashboard_refresh`)."""
    ids, X, labels = sample_in_space(con, run, MAP_POINTS)
    if len(ids) < 3:
        return None
    pca = PCA(n_components=2, random_state=0).fit(X)
    xy = pca.transform(X)
    names = {int(s["label"]): str(s["name"]) for s in run.segments}
    points = [
        MapPoint(c, names.get(int(label), str(label)), round(float(x), 4), round(float(y), 4))
        for c, label, (x, y) in zip(ids, labels, xy, strict=True)
    ]
    return SegmentMapData(
        run.run_id, run.method, points, [float(v) for v in pca.explained_variance_ratio_]
    )


def predictions_by_segment(
    con: duckdb.DuckDBPyConnection, currency: str, run_id: str | None = None
) -> PredictionsBySegment | None:
    """CLV and churn quantiles per segment of a clustering run, from the current predictions."""
    run = clustering_run(con, run_id)
    if run is None or not scalar(con, "SELECT count(*) FROM prediction_runs WHERE scored"):
        return None
    name = f"predictions:{run.run_id}:{currency}"
    kept = stored(con, name, lambda: predictions_basis(con, run.run_id))
    if kept is not None:
        clv = [Distribution(**d) for d in kept["clv"]]
        churn = [Distribution(**d) for d in kept["churn"]]
        return PredictionsBySegment(kept["run_id"], clv, churn, kept["currency"])
    return predictions_of_run(con, currency, run.run_id)


def predictions_of_run(
    con: duckdb.DuckDBPyConnection, currency: str, run_id: str
) -> PredictionsBySegment:
    """:func:`predictions_by_segment` computed now."""
    found = con.execute(
        """SELECT s.name, count(p.clv), quantile_cont(p.clv, ?), avg(p.clv),
                  count(p.churn_probability), quantile_cont(p.churn_probability, ?),
                  avg(p.churn_probability)
           FROM memberships m JOIN segments s USING (segment_id)
           JOIN customer_predictions p ON p.customer_id = m.customer_id
           WHERE m.run_id = ? AND m.valid_to IS NULL
           GROUP BY s.label, s.name ORDER BY s.label""",
        [list(QUANTILES), list(QUANTILES), run_id],
    ).fetchall()
    clv, churn = [], []
    for name, n_clv, q_clv, mean_clv, n_churn, q_churn, mean_churn in found:
        if n_clv:
            clv.append(Distribution(name, int(n_clv), list(q_clv), float(mean_clv)))
        if n_churn:
            churn.append(Distribution(name, int(n_churn), list(q_churn), float(mean_churn)))
    return PredictionsBySegment(run_id, clv, churn, currency)


def cohorts(con: duckdb.DuckDBPyConnection, timezone: str, metric: str) -> CohortGrid | None:
    """Monthly acquisition cohorts × months since, for one metric; None without orders."""
    if not scalar(con, "SELECT count(*) FROM order_lines"):
        return None
    if metric not in COHORT_METRICS:
        raise NotFoundError(f"no cohort metric {metric!r}; use retention, revenue or orders")
    kept = stored(con, f"cohorts:{timezone}:{metric}", lambda: cohorts_basis(con, timezone))
    if kept is not None:
        return CohortGrid(**kept)
    return cohort_grid(con, timezone, metric)


def cohort_grid(con: duckdb.DuckDBPyConnection, timezone: str, metric: str) -> CohortGrid:
    """:func:`cohorts` computed now."""
    table: dict[str, Any] = cohort_table(con, timezone, "month", metric)  # type: ignore[arg-type]
    found = table["cohorts"]
    return CohortGrid(
        [c["cohort"] for c in found],
        [c["size"] for c in found],
        list(table["periods"]),
        [c["values"] for c in found],
        metric,
    )


@dataclass(frozen=True)
class Experiments:
    experiments: Table
    exposures: Table | None
    """Persons exposed per experiment and variant (view ``experiment_exposures``)."""
    results: Table | None = None
    """Each experiment's primary metric per variant against the control (as the report)."""


def experiments(con: duckdb.DuckDBPyConnection) -> Experiments | None:
    """The experiments, who saw which variant and the primary metric's result per variant,
    or None before the experiments table exists."""
    found = latest_rows(con, "experiments", 50)
    if found is None:
        return None
    exposures = None
    if table_exists(con, "experiment_exposures"):
        kept = stored(con, "exposures", lambda: exposures_basis(con))
        exposures = exposures_now(con) if kept is None else _exposures_from(kept)
    return Experiments(found, exposures, _results(con))


def exposures_now(con: duckdb.DuckDBPyConnection) -> Table:
    """Persons exposed per experiment and variant, from every event (a batch run keeps it)."""
    result = con.execute(
        """SELECT experiment, variant, count(*) AS persons, min(exposed_at) AS first,
                  max(exposed_at) AS last
           FROM experiment_exposures GROUP BY ALL ORDER BY experiment, variant"""
    )
    return Table([d[0] for d in result.description or []], [list(r) for r in result.fetchall()])


def _exposures_from(kept: dict[str, Any]) -> Table:
    """The kept table with its times as times again (JSON holds them as text)."""
    rows = [
        [e, v, n, datetime.fromisoformat(first), datetime.fromisoformat(last)]
        for e, v, n, first, last in kept["rows"]
    ]
    return Table(kept["columns"], rows)


def _results(con: duckdb.DuckDBPyConnection) -> Table:
    """The report's analysis (frequentist, relative lift) as one table for the page."""
    from audience.pipelines.experiments import report_sections  # the stats stack: lazily

    rows: list[list[object]] = []
    for section in report_sections(con):
        if section.unavailable:
            rows.append([section.name, section.metric, "", None, None, None, None, None])
            continue
        for row in section.rows:
            rows.append(
                [
                    section.name,
                    section.metric,
                    row.name,
                    row.n,
                    row.mean,
                    row.lift,
                    row.p_value,
                    "SRM" if section.srm_flagged else "",
                ]
            )
    columns = ["experiment", "metric", "variant", "n", "mean", "lift", "p_value", "flag"]
    return Table(columns, rows)


def run_history(con: duckdb.DuckDBPyConnection) -> RunHistory:
    """Every run, the latest transition between two runs of one family, and drift checks."""
    result = con.execute(
        """SELECT run_id, method AS kind, created_at, n_customers FROM segment_runs
           UNION ALL
           SELECT run_id, kind, created_at, n_customers FROM prediction_runs
           ORDER BY created_at DESC LIMIT 100"""
    )
    runs = Table([d[0] for d in result.description or []], [list(r) for r in result.fetchall()])
    return RunHistory(runs, _transition(con), latest_rows(con, "drift_checks", 50))


def _transition(con: duckdb.DuckDBPyConnection) -> Transition | None:
    """Members of the previous clustering run (by segment) against the latest run's segments."""
    excluded = list(CLUSTER_EXCLUDED)
    pair = con.execute(
        """SELECT run_id FROM segment_runs WHERE NOT list_contains(?, method)
           ORDER BY created_at DESC LIMIT 2""",
        [excluded],
    ).fetchall()
    if len(pair) < 2:
        return None
    after, before = pair[0][0], pair[1][0]
    moves = con.execute(
        """SELECT sb.name, sa.name, count(*) FROM memberships b
           JOIN memberships a ON a.customer_id = b.customer_id AND a.run_id = ?
                             AND a.valid_to IS NULL
           JOIN segments sb ON sb.segment_id = b.segment_id
           JOIN segments sa ON sa.segment_id = a.segment_id
           WHERE b.run_id = ? GROUP BY ALL ORDER BY 3 DESC LIMIT 200""",
        [after, before],
    ).fetchall()
    return Transition(
        before,
        after,
        [str(m[0]) for m in moves],
        [str(m[1]) for m in moves],
        [int(m[2]) for m in moves],
    )


def quality(con: duckdb.DuckDBPyConnection, limit: int = 100) -> QualityPage:
    """Open quarantine by reason, its rows, and the last imports with their counts."""
    result = con.execute(
        """SELECT kind, source_file, rows_read, rows_new, rows_updated, rows_quarantined,
                  finished_at FROM imports ORDER BY finished_at DESC LIMIT 20"""
    )
    imports = Table([d[0] for d in result.description or []], [list(r) for r in result.fetchall()])
    return QualityPage(summary(con, "open"), rows(con, "open", limit), imports)


def quarantine_action(workspace: Workspace, row_id: str, action: str, by: str) -> str:
    """Retry or discard one open quarantined row, in a short write transaction; what happened.

    The server holds no warehouse connection, so this opens it, acts and closes it; when a
    batch command holds it, the TransientError says to retry.
    """
    if action not in ("retry", "discard"):
        raise NotFoundError(f"no quarantine action {action!r}; use retry or discard")
    with workspace.warehouse() as warehouse, warehouse.transaction() as con:
        row = find(con, row_id)
        if action == "discard":
            done = discard(con, [row], workspace.clock.now(), by, "from the dashboard")
            return "discarded" if done.discarded else next(iter(done.skipped.values()))
        result = retry(con, workspace, [row], {})
    if result.loaded:
        return "loaded"
    return next(iter({**result.still_quarantined, **result.skipped}.values()), "unchanged")
