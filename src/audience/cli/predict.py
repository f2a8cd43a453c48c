"""``audience predict clv``, ``audience predict churn`` and ``audience cohorts``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from audience.cli.terminal import (
    Group,
    JsonOption,
    WorkspaceOption,
    console,
    err_console,
    handle_errors,
    open_workspace,
    print_json,
    step,
    writable_file,
)

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
            step("Fitting CLV models and scoring", quiet=json_),
            warehouse.transaction() as con,
        ):
            run = run_clv(con, ws.config, options, ws.clock.now())
        result = run.to_dict()
        if plot is not None and run.tracking is not None:
            from audience.predictive.charts import tracking_chart

            _write_png(tracking_chart(run.tracking), plot)
            result["plot"] = str(plot)
        if json_:
            print_json(result)
            return
        _print_clv(result)


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

        ws = open_workspace(workspace)
        with (
            ws.warehouse() as warehouse,
            step("Training and validating the churn model", quiet=json_),
            warehouse.transaction() as con,
        ):
            run = run_churn(con, ws.config, horizon, now=ws.clock.now(), force=force)
        if json_:
            print_json(run.to_dict())
            return
        m = run.metrics
        console.print(
            f"churn within {run.horizon_days:g} days · hold-out as of {run.cutoffs['holdout']}: "
            f"AUC {m['auc']:.3f} · Brier {m['brier']:.3f} (base rate {m['brier_base_rate']:.3f})"
            f" · top-decile lift {m['lift_top_decile']:.2f} · {run.n_scored:,} profiles scored"
        )
        _print_bands(run.bands)
        for warning in run.warnings:
            err_console.print(f"[yellow]warning:[/] {warning}")


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
        console.print(_cohort_rich_table(table))


def _print_clv(result: dict[str, Any]) -> None:
    tx, spend = result["transaction_model"], result["spend_model"]
    table = Table(title=f"{tx['model']} + {spend['model']} on {result['n_customers']:,} customers")
    for column in ("parameter", "estimate", "std. error"):
        table.add_column(column, justify="right")
    for model in (tx, spend):
        for name, p in model["parameters"].items():
            se = "—" if p["se"] is None else f"{p['se']:.4g}"
            table.add_row(name, f"{p['estimate']:.4g}", se)
    console.print(table)
    console.print(
        f"log-likelihood {tx['log_likelihood']:.2f} (transactions), "
        f"{spend['log_likelihood']:.2f} (spend)"
    )
    clv = result["outputs"].get("clv")
    if clv:
        console.print(
            f"CLV mean {clv['mean']:.2f} · median {clv['median']:.2f} · total {clv['sum']:,.0f}"
        )
    if result["validation"]:
        v = result["validation"]
        console.print(
            f"hold-out: {v['actual_total']:.0f} purchases, predicted {v['predicted_total']:.0f} "
            f"({v['total_error_pct']:+.1f}%) · MAE {v['mae']:.3f} · RMSE {v['rmse']:.3f}"
        )
    _print_bands(result["tiers"])
    for warning in result["warnings"]:
        err_console.print(f"[yellow]warning:[/] {warning}")


def _print_bands(bands: dict[str, Any] | None) -> None:
    if not bands:
        return
    table = Table(title=f"{bands['method']} ({bands['run_id']})")
    for column in ("segment", "customers", "share", "from", "mean"):
        table.add_column(column, justify="right")
    for s in bands["segments"]:
        mean = "—" if s["mean"] is None else f"{s['mean']:.3g}"
        table.add_row(
            s["name"], f"{s['size']:,}", f"{s['share']:.1%}", f"{s['lower_bound']:.3g}", mean
        )
    console.print(table)


TERMINAL_PERIODS = 10
"""Periods shown in the terminal table; --json and --plot hold them all."""


def _cohort_rich_table(data: dict[str, Any]) -> Table:
    shown = data["periods"][:TERMINAL_PERIODS]
    more = "" if len(shown) == len(data["periods"]) else f", first {len(shown)} periods (--json)"
    table = Table(title=f"{data['metric']} by {data['by']} of acquisition{more}")
    table.add_column("cohort", no_wrap=True, min_width=8)
    table.add_column("size", justify="right")
    for period in shown:
        table.add_column(str(period), justify="right")
    for row in data["cohorts"]:
        cells = [
            "" if v is None else (f"{v:.0%}" if data["metric"] == "retention" else f"{v:,.0f}")
            for v in row["values"][: len(shown)]
        ]
        table.add_row(row["cohort"], f"{row['size']:,}", *cells)
    return table
