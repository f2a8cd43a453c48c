"""``audience drift``: have the features moved since the run the segments were made on?"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from audience.cli.tables import Col, fitted_table
from audience.cli.terminal import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    open_workspace,
    print_json,
    step,
)


def _number(value: Any) -> str:
    if isinstance(value, str):
        return value
    return f"{value:.3g}" if abs(value) < 1e-3 and value else f"{value:.4f}"


def _render(data: dict[str, Any]) -> None:
    rows = [
        [
            f["feature"],
            f["type"],
            f["method"] + (" ≈" if f["approximate"] else ""),
            _number(f["statistic"]),
            _number(f["p_value"]) if "p_value" in f else "",
            _number(f["threshold"]),
            "[red]drift[/]" if f["drifted"] else "ok",
        ]
        for f in data["features"]
    ]
    columns = [
        Col("feature", numeric=False),
        Col("type", numeric=False, drop=2),
        Col("test", numeric=False),
        Col("statistic"),
        Col("p-value", drop=1),
        Col("threshold", drop=3),
        Col("verdict", numeric=False),
    ]
    console.print(fitted_table(f"Drift against run {data['run_id']}", columns, rows))
    verdict = "[red]the data set drifted[/]" if data["dataset_drift"] else "no data set drift"
    console.print(
        f"{verdict}: {data['drift_share']:.0%} of features drifted "
        f"(threshold {data['threshold']:.0%}); reference {data['reference_rows']:,} rows, "
        f"current {data['current_rows']:,}. ≈: from the reference's histogram."
    )
    if data["segment_sizes"]:
        size_rows = [
            [s["name"], f"{s['training']:,}", f"{s['now']:,}", f"{s['change']:+.1%}"]
            for s in data["segment_sizes"]
        ]
        console.print(
            fitted_table(
                "Segment sizes, at training and now",
                [Col("segment", numeric=False), Col("training"), Col("now"), Col("share Δ")],
                size_rows,
            )
        )
    if data["transitions"]:
        t = data["transitions"]
        console.print(
            fitted_table(
                f"Transitions (rows: at training; columns: now); "
                f"{t['stayed_share']:.1%} kept their segment",
                [Col("from \\ to", numeric=False), *(Col(c) for c in t["columns"])],
                [
                    [r, *(f"{n:,}" for n in row)]
                    for r, row in zip(t["rows"], t["counts"], strict=True)
                ],
            )
        )
    for note in data["notes"]:
        console.print(f"note: {note}")
    for sent in data["notified"]:
        console.print(f"drift.detected to {sent['destination']}: {sent['status']}")


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def drift(
        against: Annotated[
            str,
            typer.Option(
                "--against", help="Run to compare with: champion (the deployed run) or a run id."
            ),
        ] = "champion",
        notify: Annotated[
            bool,
            typer.Option(help="Send drift.detected to the webhook destinations on drift."),
        ] = True,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Test today's features against a run's reference: per feature and overall, with
        segment sizes and transitions."""
        from audience.pipelines.drift import drift_report

        ws = open_workspace(workspace)
        with step("Testing drift", quiet=json_):
            report = drift_report(ws, against, notify=None if notify else False)
        data = report.to_dict()
        if json_:
            print_json(data)
            return
        _render(data)
