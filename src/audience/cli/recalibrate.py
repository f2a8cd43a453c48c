"""``audience recalibrate``: refit, compare with the champion, promote when the rule holds."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from audience.cli.terminal import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    open_workspace,
    print_json,
    print_warnings,
    step,
)

if TYPE_CHECKING:
    from audience.pipelines.recalibrate import Recalibration

DEFAULT_RULE_HELP = (
    "Promotion rule, e.g. 'silhouette >= champion.silhouette - 0.02 and ari >= 0.6' "
    "(metrics: silhouette, davies_bouldin, calinski_harabasz, stability, jaccard_min, "
    "jaccard_mean, k, ari, and champion.<metric>). Default: promote a clearly better model, "
    "or an as-good one when the champion's assignment and the refit's agree little."
)


def print_recalibration(result: Recalibration, json_: bool) -> None:
    if json_:
        print_json(result.to_dict())
        return
    if result.skipped:
        console.print(f"not recalibrated: {result.skipped}", highlight=False)
        return
    verdict = "promoted" if result.promoted else "not promoted"
    console.print(
        f"{result.candidate_run} {verdict} (champion was {result.champion_run})", highlight=False
    )
    console.print(f"why: {result.reason}", highlight=False)
    if result.tracking_error:
        print_warnings([result.tracking_error])


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def recalibrate(
        promote_if: Annotated[
            str | None, typer.Option("--promote-if", help=DEFAULT_RULE_HELP)
        ] = None,
        every: Annotated[
            str | None,
            typer.Option("--every", help="Run for ever, recalibrating every e.g. 30d, 12h."),
        ] = None,
        cron: Annotated[
            str | None,
            typer.Option("--cron", help="Print the crontab line for a schedule, e.g. '0 3 1 * *'."),
        ] = None,
        if_drift: Annotated[
            bool,
            typer.Option("--if-drift", help="Refit only when the data drifted from the champion."),
        ] = False,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Refit the segments, compare with the champion and promote only when the rule holds."""
        from audience.mlops.promote_rule import DEFAULT_RULE, parse_rule
        from audience.pipelines.recalibrate import crontab_line, parse_interval, recalibrate

        rule = promote_if or DEFAULT_RULE
        parse_rule(rule)
        ws = open_workspace(workspace)
        if cron is not None:
            typer.echo(crontab_line(cron, ws.root, rule, if_drift))
            return
        if every is None:
            with step("Refitting and comparing with the champion", quiet=json_):
                result = recalibrate(ws, rule, if_drift)
            print_recalibration(result, json_)
            return
        from audience.pipelines.recalibrate import run_every

        interval = parse_interval(every)
        console.print(f"recalibrating every {every}; stop with Ctrl-C", highlight=False)
        run_every(
            interval,
            lambda: recalibrate(ws, rule, if_drift),
            time.sleep,
            on_result=lambda result: print_recalibration(result, json_),
        )
