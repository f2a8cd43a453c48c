"""``audience predict clv``, ``audience predict churn`` and ``audience cohorts``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from audience.cli import figures
from audience.cli.populations import print_population
from audience.cli.tables import Col, fitted_table
from audience.cli.terminal import (
    Group,
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    open_workspace,
    print_duckdb_run,
    print_json,
    print_warnings,
    step,
    writable_file,
)

if TYPE_CHECKING:
    from audience.errors import AudienceError
    from audience.predictive.churn import FittedChurn
    from audience.store.population import Population
    from audience.store.workspace import Workspace

ModelOption = Annotated[
    str | None, typer.Option("--model", help="bgnbd or pnbd (default: audience.yaml, bgnbd).")
]
PlotOption = Annotated[
    Path | None, typer.Option("--plot", help="Write the chart as a PNG file there.")
]


def _choice(value: str | None, allowed: tuple[str, ...], option: str) -> str | None:
    from audience.errors import InputError

    if value is not None and value not in allowed:
        raise InputError(f"{option} '{value}' is not one of {', '.join(allowed)}")
    return value


def _write_png(uri: str, path: Path) -> None:
    from audience.predictive.charts import png_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(uri))


def _track(
    ws: Workspace, run_id: str, quiet: bool, churn_model: FittedChurn | None = None
) -> AudienceError | None:
    """Log a stored prediction run to MLflow when tracking is on (with a churn run's fitted
    model, which only the run has); the error of a tracking store that does not answer is
    returned, to raise once the results are shown."""
    from audience.errors import TrackingUnavailableError
    from audience.pipelines.mlops import track_prediction_run, tracking_for

    if tracking_for(ws) is None:
        return None
    try:
        with step("Logging the run to MLflow", quiet=quiet), ws.warehouse() as warehouse:
            track_prediction_run(ws, warehouse.con, run_id, churn_model)
    except TrackingUnavailableError as exc:
        return exc
    return None


def register(app: typer.Typer) -> None:
    """Add the ``predict`` sub-app (``clv``, ``churn``) and the ``cohorts`` command."""
    predict = typer.Typer(
        help="Predictive scores: CLV, churn; predictive segments.",
        no_args_is_help=True,
        cls=Group,
    )
    app.add_typer(predict, name="predict")
    _register_clv(predict)
    _register_churn(predict)
    _register_cohorts(app)


def _register_clv(predict: typer.Typer) -> None:
    @predict.command("clv")
    @handle_errors
    def clv(
        model: ModelOption = None,
        calibration_end: Annotated[
            str | None,
            typer.Option(
                "--calibration-end", help="Last day of the fit (default: last order day)."
            ),
        ] = None,
        holdout_end: Annotated[
            str | None,
            typer.Option(
                "--holdout-end", help="Validate on the days after calibration; scores nobody."
            ),
        ] = None,
        time_unit: Annotated[
            str | None,
            typer.Option("--time-unit", help="day or week (default: audience.yaml, week)."),
        ] = None,
        horizon: Annotated[
            str | None, typer.Option("--horizon", help="Time units (52) or a duration (52w, 1y).")
        ] = None,
        discount_rate: Annotated[
            float | None,
            typer.Option(
                "--discount-rate", min=0, max=0.99, help="Annual discount rate, e.g. 0.1."
            ),
        ] = None,
        bootstrap: Annotated[
            int | None,
            typer.Option("--bootstrap", min=0, help="Bootstrap refits for parameter intervals."),
        ] = None,
        plot: PlotOption = None,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Fit BG/NBD or Pareto/NBD and Gamma-Gamma; score CLV and put customers into tiers."""
        from audience.predictive.clv import ClvOptions, horizon_to_days, run_clv
        from audience.predictive.purchases import parse_day
        from audience.store.population import scored_population

        if plot is not None:
            writable_file(plot, "--plot")
        ws = open_workspace(workspace)
        settings = ws.config.predictive
        unit = _choice(time_unit, ("day", "week"), "--time-unit") or settings.time_unit
        options = ClvOptions.from_settings(
            settings,
            model=_choice(model, ("bgnbd", "pnbd"), "--model"),
            time_unit=unit,
            calibration_end=parse_day(calibration_end, "--calibration-end"),
            holdout_end=parse_day(holdout_end, "--holdout-end"),
            horizon_days=horizon_to_days(horizon, unit) if horizon else None,
            discount_rate=discount_rate,
            bootstrap=bootstrap,
        )
        with (
            ws.warehouse() as warehouse,
            step("Fitting CLV models and scoring", quiet=json_) as progress,
            warehouse.transaction() as con,
        ):
            run = run_clv(con, ws.config, options, ws.clock.now(), progress)
            if ws.config.privacy.profiling_consent == "required":
                from audience.privacy.profiling import withhold_scores

                withhold_scores(con, run.run_id)
            population = scored_population(con, run.run_id) if run.scored else None
        untracked = _track(ws, run.run_id, json_)
        result = run.to_dict()
        if plot is not None and run.tracking is not None:
            from audience.predictive.charts import tracking_chart

            _write_png(tracking_chart(run.tracking), plot)
            result["plot"] = str(plot)
        if json_:
            print_duckdb_run(result, ws.settings.engine, "predict clv")
        else:
            _print_clv(result, ws.config.currency, population)
        if untracked is not None:
            raise untracked


def _register_churn(predict: typer.Typer) -> None:
    @predict.command("churn")
    @handle_errors
    def churn(
        horizon: Annotated[
            str | None,
            typer.Option(
                "--horizon",
                help="No purchase within it = churned, e.g. 90d (default: audience.yaml).",
            ),
        ] = None,
        force: Annotated[
            bool,
            typer.Option(
                "--force", help="Write churn bands even if the model does not beat the base rate."
            ),
        ] = False,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Train a churn model on a time split, validate it later, score every profile."""
        from audience.predictive.churn import run_churn
        from audience.store.population import scored_population

        ws = open_workspace(workspace)
        with (
            ws.warehouse() as warehouse,
            step("Training and validating the churn model", quiet=json_) as progress,
            warehouse.transaction() as con,
        ):
            run = run_churn(
                con, ws.config, horizon, now=ws.clock.now(), progress=progress, force=force
            )
            if ws.config.privacy.profiling_consent == "required":
                from audience.privacy.profiling import withhold_scores

                withhold_scores(con, run.run_id)
            population = scored_population(con, run.run_id)
        untracked = _track(ws, run.run_id, json_, run.fitted)
        if json_:
            print_duckdb_run(run.to_dict(), ws.settings.engine, "predict churn")
            if untracked is not None:
                raise untracked
            return
        m = run.metrics
        console.print(
            f"churn within {figures.count(run.horizon_days)} days · hold-out as of "
            f"{run.cutoffs['holdout']}: AUC {m['auc']:.3f} · Brier {m['brier']:.3f} (base rate "
            f"{m['brier_base_rate']:.3f}) · top-decile lift {m['lift_top_decile']:.2f}",
            highlight=False,
        )
        print_population("scored for churn", run.population_definition, population)
        print_bands(run.bands, "probability", figures.share)
        print_warnings(run.warnings)
        if untracked is not None:
            raise untracked


def _register_cohorts(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def cohorts(
        by: Annotated[str, typer.Option("--by", help="month or week.")] = "month",
        metric: Annotated[
            str, typer.Option("--metric", help="retention, revenue or orders.")
        ] = "retention",
        plot: PlotOption = None,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Acquisition cohorts by periods since their first order."""
        from audience.predictive.charts import cohort_heatmap
        from audience.predictive.cohorts import cohort_table

        _choice(by, ("month", "week"), "--by")
        _choice(metric, ("retention", "revenue", "orders"), "--metric")
        if plot is not None:
            writable_file(plot, "--plot")
        ws = open_workspace(workspace)
        with ws.warehouse(read_only=True) as warehouse:
            table = cohort_table(warehouse.con, ws.config.timezone, by, metric)  # type: ignore[arg-type]
        if plot is not None:
            _write_png(cohort_heatmap(table), plot)
            table["plot"] = str(plot)
        if json_:
            print_json(table)
            return
        console.print(_cohort_rich_table(table, ws.config.currency))


def _print_clv(result: dict[str, Any], currency: str, population: Population | None) -> None:
    tx, spend = result["transaction_model"], result["spend_model"]
    title = f"{tx['model']} + {spend['model']} on {figures.count(result['n_customers'])} persons"
    table = Table(title=title)
    for column in ("parameter", "estimate", "std. error"):
        table.add_column(column, justify="right", no_wrap=True)
    for model in (tx, spend):
        for name, p in model["parameters"].items():
            table.add_row(name, figures.number(p["estimate"]), figures.number(p["se"]))
    console.print(table)
    console.print(
        f"log-likelihood {figures.number(tx['log_likelihood'])} (transactions), "
        f"{figures.number(spend['log_likelihood'])} (spend)",
        highlight=False,
    )
    clv = result["outputs"].get("clv")
    if clv:
        console.print(
            f"CLV mean {figures.money(clv['mean'], currency)} · median "
            f"{figures.money(clv['median'], currency)} · total "
            f"{figures.money(clv['sum'], currency, cents=False)}",
            highlight=False,
        )
    if result["validation"]:
        v = result["validation"]
        console.print(
            f"hold-out: {figures.count(v['actual_total'])} purchases, predicted "
            f"{figures.count(v['predicted_total'])} ({v['total_error_pct']:+.1f}%) · "
            f"MAE {figures.number(v['mae'])} · RMSE {figures.number(v['rmse'])}",
            highlight=False,
        )
    if population is not None:
        print_population("persons scored for CLV", result["population_definition"], population)
    print_bands(result["tiers"], f"CLV ({currency})", figures.number)
    print_warnings(result["warnings"])


def print_bands(
    bands: dict[str, Any] | None, measure: str, value: Callable[[float | None], str]
) -> None:
    """Customers per band; ``measure`` names what the bounds and means are (a probability,
    an amount), ``value`` formats them."""
    if not bands:
        return
    columns = [
        Col("segment", numeric=False),
        Col("persons"),
        Col("share"),
        Col(f"{measure} from"),
        Col(f"mean {measure}", drop=1),
    ]
    rows = [
        [
            s["name"],
            figures.count(s["size"]),
            figures.share(s["share"]),
            value(s["lower_bound"]),
            value(s["mean"]),
        ]
        for s in bands["segments"]
    ]
    console.print(fitted_table(f"{bands['method']} ({bands['run_id']})", columns, rows))


TERMINAL_PERIODS = 12
"""Periods at most in the terminal table (fewer when the terminal is narrow); --json and
--plot hold them all."""


def _cohort_rich_table(data: dict[str, Any], currency: str) -> Table:
    """Cohorts down, periods since the first order across; the later periods are left out
    first when the terminal is narrow, never a figure cut."""
    periods = data["periods"][:TERMINAL_PERIODS]
    metric = data["metric"]
    unit = f" ({currency})" if metric == "revenue" else ""
    more = (
        ""
        if len(periods) == len(data["periods"])
        else f"; first {len(periods)} of {len(data['periods'])} periods (--json or --plot: all)"
    )
    columns = [Col("cohort", numeric=False), Col("persons")]
    columns += [Col(str(p), drop=1) for p in periods]

    def cell(value: float | None) -> str:
        if value is None:
            return ""
        return figures.share(value, 0) if metric == "retention" else figures.count(value)

    rows = [
        [
            row["cohort"],
            figures.count(row["size"]),
            *(cell(v) for v in row["values"][: len(periods)]),
        ]
        for row in data["cohorts"]
    ]
    by = data["by"]
    title = f"{metric}{unit} of each {by}'s new customers, by {by}s since their first order{more}"
    return fitted_table(title, columns, rows)
