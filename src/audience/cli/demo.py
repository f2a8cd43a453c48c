"""``audience demo``: the main job on generated data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from audience.cli.imports import print_import
from audience.cli.quality import print_clean
from audience.cli.segment import print_segmented, print_segments_table
from audience.cli.terminal import (
    JsonOption,
    console,
    handle_errors,
    open_workspace,
    print_json,
    print_warnings,
    step,
)

if TYPE_CHECKING:
    from audience.pipelines.demo_case import CaseStudy


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def demo(
        customers: Annotated[int, typer.Option(help="Customers to generate.")] = 20_000,
        out: Annotated[Path, typer.Option(help="Demo workspace to (re)create.")] = Path(
            "demo-workspace"
        ),
        seed: Annotated[int, typer.Option(help="Random seed of the generated data.")] = 42,
        json_: JsonOption = False,
    ) -> None:
        """The whole e-commerce case on generated data: import, clean, segment, CLV and churn,
        rule segments, exports, one HTML report."""
        from audience.pipelines.demo import run_demo

        started = time.perf_counter()
        result = run_demo(out, customers, lambda d: step(d, quiet=json_), seed=seed)
        seconds = time.perf_counter() - started
        case = result.case
        if json_:
            print_json(
                {
                    "workspace": str(result.workspace),
                    "imports": [r.to_dict() for r in result.imports],
                    "cleaning": result.cleaning.to_dict(),
                    "run": result.run.to_dict(),
                    "report": str(result.report),
                    "quality_report": str(result.quality_report),
                    "persona_ari": result.persona_ari,
                    "clv": case.clv.to_dict() if case.clv else None,
                    "churn": case.churn.to_dict() if case.churn else None,
                    "activation": case.activation.to_dict() if case.activation else None,
                    "failures": case.failures,
                    "seconds": round(seconds, 1),
                }
            )
            return
        for report in result.imports:
            print_import(report)
        print_clean(result.cleaning)
        config = open_workspace(result.workspace).config
        print_segments_table(result.run, config.kpis, config.currency)
        print_segmented(result.run, result.population)
        print_warnings(result.cleaning.warnings)
        _print_case(case)
        console.print(
            f"Planted personas recovered with adjusted Rand index "
            f"[bold]{result.persona_ari:.2f}[/] (1 = perfect, 0 = chance).\n"
            f"Report: [bold]{result.report}[/]  ·  data quality: {result.quality_report}\n"
            f"Exports: {result.workspace / 'exports'}  ·  workspace: {result.workspace}\n"
            f"Demo played in {seconds:.0f} s.",
            highlight=False,
        )


def _print_case(case: CaseStudy) -> None:
    """CLV tiers, churn bands, rule segments and exports, then whatever could not run."""
    from audience.cli import figures
    from audience.cli.evaluation import print_evaluation, print_workflows
    from audience.cli.predict import print_bands

    if case.clv is not None:
        print_bands(case.clv.tiers, "CLV", figures.amount)
    if case.churn is not None:
        m = case.churn.metrics
        console.print(
            f"churn within {case.churn.horizon_days:.0f} days: hold-out AUC {m['auc']:.3f}, "
            f"Brier {m['brier']:.3f} (base rate {m['brier_base_rate']:.3f})",
            highlight=False,
        )
        print_bands(case.churn.bands, "probability", figures.share)
    if case.activation is not None:
        print_evaluation(case.activation.evaluation)
        print_workflows([w.to_dict() for w in case.activation.workflows], case.activation.dry_run)
    for failure in case.failures:
        console.print(f"[yellow]⚠ {failure}[/]", highlight=False)
