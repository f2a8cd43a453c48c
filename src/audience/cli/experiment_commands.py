"""``audience experiment create|list|show|stop|assign|analyze`` and ``audience lift``.

The commands that need the warehouse; :mod:`audience.cli.experiments` holds the sub-app, the
analysis options and the one JSON shape of a result, which ``analyze`` shares with
``analyze-summary``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from audience.cli.experiments import (
    AlphaOption,
    CorrectionOption,
    DifferenceOption,
    EngineOption,
    SequentialOption,
    SrmOption,
    TuningOption,
    analysis_options,
    print_result,
    result_json,
)
from audience.cli.terminal import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    open_workspace,
    print_json,
)

NameArgument = Annotated[str, typer.Argument(help="The experiment's name.")]
CupedOption = Annotated[
    bool, typer.Option("--cuped", help="Reduce variance with each person's pre-period value.")
]


def register(experiment_app: typer.Typer) -> None:
    """Add the warehouse commands to the ``experiment`` sub-app."""

    @experiment_app.command("create")
    @handle_errors
    def create(
        name: Annotated[str | None, typer.Argument(help="Name (omit with --file).")] = None,
        segment: Annotated[
            str | None, typer.Option("--segment", help="Segment randomised (name or id).")
        ] = None,
        variants: Annotated[
            str, typer.Option("--variants", help="name:percent,..., control first; sum 100.")
        ] = "control:50,treatment:50",
        metric: Annotated[
            str,
            typer.Option(
                "--metric",
                help="conversion, revenue, orders, revenue_per_order, open, click or an event.",
            ),
        ] = "conversion",
        window: Annotated[str, typer.Option("--window", help="Days after exposure: 14d.")] = "14d",
        lookback: Annotated[
            str, typer.Option("--lookback", help="Pre-period for CUPED: 14d.")
        ] = "14d",
        holdout: Annotated[
            str, typer.Option("--holdout", help="Percent kept out of every variant.")
        ] = "0",
        salt: Annotated[str | None, typer.Option("--salt", help="Default: the name.")] = None,
        namespace: Annotated[
            str | None,
            typer.Option("--namespace", help="Experiments of one namespace share no person."),
        ] = None,
        traffic: Annotated[
            str, typer.Option("--traffic", help="Percent of the namespace it takes.")
        ] = "100",
        guardrail: Annotated[
            list[str] | None, typer.Option("--guardrail", help="A metric to watch (repeatable).")
        ] = None,
        file: Annotated[
            Path | None, typer.Option("--file", help="YAML file of experiments instead of flags.")
        ] = None,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Define an experiment on a segment (or every experiment of a YAML file)."""
        from audience.errors import ExperimentError
        from audience.experiments.definitions import definition, definitions_from_yaml
        from audience.pipelines.experiments import create as create_experiments

        ws = open_workspace(workspace)
        if file is not None:
            found = definitions_from_yaml(file)
        elif name is None or segment is None:
            raise ExperimentError(
                "experiment create needs NAME and --segment SEGMENT (or --file FILE.yaml)"
            )
        else:
            found = [
                definition(
                    name,
                    segment,
                    variants,
                    metric,
                    window,
                    lookback,
                    holdout,
                    salt,
                    namespace,
                    traffic,
                    guardrail or [],
                )
            ]
        created = create_experiments(ws, found)
        if json_:
            print_json([e.to_dict() for e in created])
            return
        for e in created:
            console.print(
                f"created experiment {e.name} on {e.definition.segment} ({e.segment_id}): "
                + ", ".join(f"{v.name} {v.weight:g}%" for v in e.definition.variants)
                + f"; metric {e.definition.metric}",
                highlight=False,
            )

    @experiment_app.command("list")
    @handle_errors
    def list_(workspace: WorkspaceOption = None, json_: JsonOption = False) -> None:
        """Every experiment, running or stopped."""
        from audience.pipelines.experiments import experiments

        found = experiments(open_workspace(workspace))
        if json_:
            print_json([e.to_dict() for e in found])
            return
        if not found:
            console.print("no experiments; 'audience experiment create' makes one")
        for e in found:
            console.print(
                f"{e.name}  {e.status}  segment {e.definition.segment}  metric "
                f"{e.definition.metric}  variants {', '.join(e.variant_names)}",
                highlight=False,
            )

    @experiment_app.command("show")
    @handle_errors
    def show(
        name: NameArgument, workspace: WorkspaceOption = None, json_: JsonOption = False
    ) -> None:
        """One experiment's definition, namespace range and status."""
        from audience.pipelines.experiments import show as show_experiment

        found = show_experiment(open_workspace(workspace), name).to_dict()
        if json_:
            print_json(found)
            return
        for key, value in found.items():
            console.print(f"{key}: {value}", highlight=False)

    @experiment_app.command("stop")
    @handle_errors
    def stop(
        name: NameArgument, workspace: WorkspaceOption = None, json_: JsonOption = False
    ) -> None:
        """Stop an experiment: no new assignment; its namespace range is free again."""
        from audience.pipelines.experiments import stop as stop_experiment

        stopped = stop_experiment(open_workspace(workspace), name)
        if json_:
            print_json(stopped.to_dict())
            return
        console.print(f"stopped experiment {name}", highlight=False)

    @experiment_app.command("assign")
    @handle_errors
    def assign(
        name: NameArgument, workspace: WorkspaceOption = None, json_: JsonOption = False
    ) -> None:
        """Assign the segment's current members; record an exposure event for each new one."""
        from audience.pipelines.experiments import assign as assign_experiment

        report = assign_experiment(open_workspace(workspace), name)
        if json_:
            print_json(report.to_dict())
            return
        console.print(
            f"{report.members:,} member(s): "
            + ", ".join(f"{v} {n:,}" for v, n in report.variants.items())
            + f", holdout {report.holdout:,}, outside the namespace range {report.outside:,}; "
            f"{report.new_exposures:,} new exposure(s)",
            highlight=False,
        )

    @experiment_app.command("analyze")
    @handle_errors
    def analyze(
        name: NameArgument,
        engine: EngineOption = "frequentist",
        sequential: SequentialOption = False,
        tuning: TuningOption = 5000.0,
        cuped: CupedOption = False,
        by: Annotated[
            list[str] | None,
            typer.Option("--by", help="A segment or trait to split by (twice: intersections)."),
        ] = None,
        correction: CorrectionOption = "holm",
        difference: DifferenceOption = "relative",
        alpha: AlphaOption = 0.05,
        srm_threshold: SrmOption = 0.001,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Each variant against the control on the experiment's metric and guardrails."""
        from audience.pipelines.experiments import analyze_experiment

        options = analysis_options(
            engine, difference, alpha, sequential, tuning, correction, srm_threshold, None, cuped
        )
        report = analyze_experiment(open_workspace(workspace), name, options, by or [])
        if json_:
            print_json(
                {
                    "experiment": report.experiment.to_dict(),
                    **result_json(report.primary),
                    "guardrails": [result_json(r) for r in report.guardrails],
                    "groups": [result_json(r) for r in report.groups],
                    "skipped": report.skipped,
                }
            )
            return
        print_result(report.primary)
        for result in [*report.guardrails, *report.groups]:
            print_result(result)
        for what, why in report.skipped.items():
            console.print(f"[dim]- skipped {what}: {why}[/]", highlight=False)


def register_lift(app: typer.Typer) -> None:
    """Add ``audience lift``."""

    @app.command("lift")
    @handle_errors
    def lift(
        segment: Annotated[str, typer.Argument(help="A segment that keeps a holdout.")],
        engine: EngineOption = "frequentist",
        alpha: AlphaOption = 0.05,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Incremental conversion and revenue of a segment's targeted members over its holdout."""
        from audience.pipelines.experiments import lift as segment_lift

        options = analysis_options(engine, "relative", alpha, False, 5000.0, "none", 0.001, None)
        report = segment_lift(open_workspace(workspace), segment, options)
        if json_:
            print_json({**report.to_dict(), "metrics": [result_json(r) for r in report.results]})
            return
        console.print(
            f"{segment}: targeted members against a {report.holdout_percent:g}% holdout, "
            f"{report.window_days} days after entering",
            highlight=False,
        )
        for result in report.results:
            print_result(result)
