"""``audience demo``: the main job on generated data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
        """Generate data, import, clean, segment and report: the whole pipeline, end to end."""
        from audience.pipelines.demo import run_demo

        result = run_demo(out, customers, lambda d: step(d, quiet=json_), seed=seed)
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
        console.print(
            f"Planted personas recovered with adjusted Rand index "
            f"[bold]{result.persona_ari:.2f}[/] (1 = perfect, 0 = chance).\n"
            f"Report: [bold]{result.report}[/]  ·  data quality: {result.quality_report}\n"
            f"Workspace: {result.workspace}"
        )
