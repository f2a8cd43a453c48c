"""``audience segment``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from audience.cli import figures
from audience.cli.populations import SEGMENTED, print_population
from audience.cli.tables import Col, fitted_table
from audience.cli.terminal import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    open_workspace,
    print_json,
    print_warnings,
    step,
    writable_file,
)
from audience.errors import AudienceError, InputError

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from audience.model.runs import SegmentRun
    from audience.store.population import Population
    from audience.store.workspace import Workspace


class EngineChoice(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


class MethodChoice(StrEnum):
    auto = "auto"
    kmeans = "kmeans"
    minibatch = "minibatch"
    hierarchical = "hierarchical"
    dbscan = "dbscan"
    hdbscan = "hdbscan"
    gmm = "gmm"
    rfm = "rfm"
    autoencoder_kmeans = "autoencoder+kmeans"
    autoencoder_gmm = "autoencoder+gmm"
    autoencoder_hdbscan = "autoencoder+hdbscan"


def parse_k_range(text: str) -> tuple[int, int]:
    """'2..12' -> (2, 12)."""
    match = re.fullmatch(r"\s*(\d+)\s*\.\.\s*(\d+)\s*", text)
    if not match or not 2 <= int(match.group(1)) <= int(match.group(2)):
        raise InputError(
            f"--k-range {text!r}: expected LOW..HIGH with 2 <= LOW <= HIGH, e.g. 2..12"
        )
    return int(match.group(1)), int(match.group(2))


KPI_DROP_ORDER = (
    "email_click_rate",
    "average_recency_days",
    "revenue",
    "purchase_frequency",
    "conversion_rate",
    "total_clv",
    "days_to_first_order",
    "average_order_value",
    "revenue_share",
)
"""KPIs left out first when the terminal is narrow (size and share, never)."""

UNAVAILABLE = "n/a"
"""A KPI whose prediction run is missing; the line under the table says which command makes it."""


def segments_table(run: SegmentRun, kpis: Sequence[str], currency: str) -> Table:
    """One row per segment, one column per KPI; money KPIs carry the currency in the header."""
    from audience.config.kpis import KPIS

    columns = [Col("segment", numeric=False)]
    for kpi in kpis:
        money = figures.kpi_unit(kpi) == "money"
        header = KPIS[kpi].label + (f" ({currency})" if money else "")
        drop = len(KPI_DROP_ORDER) - KPI_DROP_ORDER.index(kpi) if kpi in KPI_DROP_ORDER else 0
        columns.append(Col(header, drop=drop))
    rows = [
        [segment.name, *(_kpi_cell(run, k, segment.kpis.get(k), currency) for k in kpis)]
        for segment in run.segments
    ]
    title = f"{run.k} segments of {figures.count(run.n_customers)} persons ({run.run_id})"
    return fitted_table(title, columns, rows)


def _kpi_cell(run: SegmentRun, kpi: str, value: float | None, currency: str) -> str:
    if kpi in run.kpis_unavailable:
        return UNAVAILABLE
    if figures.kpi_unit(kpi) == "money":
        return figures.amount(value)
    return figures.kpi(kpi, value, currency)


def unavailable_kpis_lines(run: SegmentRun, kpis: Sequence[str]) -> list[str]:
    """One line per missing prediction run: ``n/a (run `audience predict clv`): mean CLV``."""
    from audience.config.kpis import KPIS

    by_text: dict[str, list[str]] = {}
    for kpi in kpis:
        if kpi in run.kpis_unavailable:
            by_text.setdefault(run.kpis_unavailable[kpi], []).append(KPIS[kpi].label)
    return [f"{text}: {', '.join(labels)}" for text, labels in by_text.items()]


def print_segments_table(run: SegmentRun, kpis: Sequence[str], currency: str) -> None:
    """The segments table, then what the n/a cells need."""
    console.print(segments_table(run, kpis, currency))
    for line in unavailable_kpis_lines(run, kpis):
        console.print(line, markup=False, highlight=False)


def print_segmented(run: SegmentRun, population: Population) -> None:
    """Who was segmented, and the run's warnings on stderr."""
    print_population("persons segmented", SEGMENTED, population)
    print_warnings(run.warnings)


def track_run(
    ws: Workspace, con: DuckDBPyConnection, run_id: str, report: Path | None, quiet: bool
) -> tuple[str | None, AudienceError | None]:
    """Log a stored run to MLflow when tracking is on: (MLflow run id, None), or
    (None, the error) when the tracking store does not answer, raised once the results are
    shown, since the run itself is safe in the warehouse."""
    from audience.errors import TrackingUnavailableError
    from audience.pipelines.mlops import track_segment_run, tracking_for

    if tracking_for(ws) is None:
        return None, None
    try:
        with step("Logging the run to MLflow", quiet=quiet):
            tracked = track_segment_run(ws, con, run_id, report)
    except TrackingUnavailableError as exc:
        return None, exc
    return (tracked.mlflow_run_id if tracked else None), None


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def segment(
        k: Annotated[
            int | None, typer.Option("--k", min=2, help="Number of segments (default: chosen).")
        ] = None,
        k_range: Annotated[
            str | None, typer.Option("--k-range", help="Range of k searched, LOW..HIGH.")
        ] = None,
        method: Annotated[
            MethodChoice | None,
            typer.Option(help="Clustering method; auto compares them (default: audience.yaml)."),
        ] = None,
        assignments: Annotated[
            Path | None,
            typer.Option(help="Write one CSV row per customer: id, segment id, segment name."),
        ] = None,
        engine: Annotated[
            EngineChoice | None,
            typer.Option(help="duckdb (this machine) or spark (default: AUDIENCE_ENGINE)."),
        ] = None,
        lake: Annotated[
            str | None,
            typer.Option(
                help="Spark: Parquet inputs, a directory or a URL such as s3a://bucket/lake "
                "(default: the warehouse, exported)."
            ),
        ] = None,
        out: Annotated[
            str | None,
            typer.Option(
                help="Spark: where memberships go, a directory or a URL "
                "(default: <workspace>/spark/<run>)."
            ),
        ] = None,
        use_champion: Annotated[
            bool,
            typer.Option(
                "--champion", help="Spark: assign everyone with the champion model, fit nothing."
            ),
        ] = False,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Compute features, segment the customers, name the segments, write the report."""
        from audience.pipelines.dashboard_refresh import refresh_page_snapshots
        from audience.pipelines.mlops import keep_champion
        from audience.pipelines.run_report import write_run_report
        from audience.pipelines.segment_run import run_segmentation
        from audience.store.population import features_population

        if k is not None and k_range is not None:
            raise InputError("give either --k or --k-range, not both")
        bounds = parse_k_range(k_range) if k_range else None
        ws = open_workspace(workspace)
        chosen = engine.value if engine else ws.settings.engine
        if chosen == "spark":
            from audience.cli.spark_segment import segment_on_spark

            method_name = "champion" if use_champion else (method.value if method else None)
            segment_on_spark(ws, method_name, k, bounds, lake, out, json_)
            return
        if lake or out or use_champion:
            raise InputError("--lake, --out and --champion are options of --engine spark")
        if assignments:
            writable_file(assignments, "--assignments")
        with ws.warehouse() as warehouse:
            with (
                step("Computing features and segmenting", quiet=json_) as progress,
                warehouse.transaction() as con,
            ):
                run = run_segmentation(
                    con,
                    ws.config,
                    k=k,
                    method=method.value if method else None,
                    k_range=bounds,
                    clock=ws.clock,
                    progress=progress,
                )
                population = features_population(con)
                champion = keep_champion(con, run.run_id, ws.clock.now())
            with (
                step("Keeping the dashboard's records", quiet=json_),
                warehouse.transaction() as con,
            ):
                refresh_page_snapshots(con, ws.config, ws.clock.now())
            with step("Writing the report", quiet=json_):
                report = write_run_report(warehouse.con, run, ws.config, ws.reports_dir, ws.clock)
            if assignments:
                from audience.segmentation.stored_runs import export_assignments

                export_assignments(warehouse.con, run.run_id, assignments)
            tracked, untracked = track_run(ws, warehouse.con, run.run_id, report, json_)
        if json_:
            document = {**run.to_dict(), "report": str(report), "mlflow_run_id": tracked}
            document["engine"] = "duckdb"
            print_json({**document, "champion": champion or run.run_id})
            if untracked is not None:
                raise untracked
            return
        print_segments_table(run, ws.config.kpis, ws.config.currency)
        print_segmented(run, population)
        console.print(
            f"silhouette {run.metrics['silhouette']:.3f} · Davies–Bouldin "
            f"{run.metrics['davies_bouldin']:.3f} · report: {report}"
        )
        if champion is not None:
            console.print(
                f"the champion {champion} still assigns customers; deploy this run with "
                f"'audience model promote {run.run_id}'",
                highlight=False,
            )
        if untracked is not None:
            raise untracked  # after the results: the run is stored, only tracking failed
