"""``audience map`` and ``audience explain``: look at a stored segmentation run."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from audience.cli import figures
from audience.cli.tables import Col, fitted_table
from audience.cli.terminal import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    open_workspace,
    print_json,
    step,
    writable_file,
)
from audience.errors import InputError

RunOption = Annotated[str | None, typer.Option("--run", help="Run id (default: the latest).")]


class MapChoice(StrEnum):
    pca = "pca"
    tsne = "tsne"
    umap = "umap"


def _segment(segments: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    for segment in segments:
        if wanted in (segment["segment_id"], segment["name"], str(segment["label"])):
            return segment
    names = ", ".join(repr(s["name"]) for s in segments)
    raise InputError(f"no segment {wanted!r} in this run; segments: {names}")


def register(app: typer.Typer) -> None:
    @app.command("map")
    @handle_errors
    def map_(
        method: Annotated[MapChoice, typer.Option(help="Projection to draw.")] = MapChoice.pca,
        run_id: RunOption = None,
        sample: Annotated[int, typer.Option(help="Customers drawn (a sample).")] = 3_000,
        out: Annotated[Path | None, typer.Option(help="PNG file (default: in reports/).")] = None,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Draw the customers of a run on a 2-D map (PCA, t-SNE or UMAP)."""
        from audience.segmentation.maps import segment_map
        from audience.segmentation.stored_runs import customers_in_space, load_run

        if out is not None:
            writable_file(out, "--out")
        ws = open_workspace(workspace)
        with ws.warehouse(read_only=True) as warehouse:
            run = load_run(warehouse.con, run_id)
            X, labels = customers_in_space(warehouse.con, run)
        path = out or ws.reports_dir / f"{run.run_id}-{method.value}.png"
        with step(f"Drawing the {method.value} map", quiet=json_):
            result = segment_map(
                X,
                labels,
                [s["name"] for s in run.segments],
                method.value,
                sample_size=sample,
                random_state=0,
                path=path,
            )
        if json_:
            print_json(
                {
                    "run_id": run.run_id,
                    "method": method.value,
                    "path": str(path),
                    "customers_drawn": result.n_points,
                }
            )
            return
        console.print(f"Map of run {run.run_id}: {path}")

    @app.command()
    @handle_errors
    def explain(
        segment: Annotated[str | None, typer.Argument(help="Segment name, id or label.")] = None,
        run_id: RunOption = None,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """A segment's rules, profile (mean, median, z-score, lift) and name."""
        from audience.segmentation.stored_runs import load_run

        ws = open_workspace(workspace)
        with ws.warehouse(read_only=True) as warehouse:
            run = load_run(warehouse.con, run_id)
        chosen = [_segment(run.segments, segment)] if segment else run.segments
        fidelity = run.explanation.get("fidelity")
        if json_:
            print_json(
                {
                    "run_id": run.run_id,
                    "fidelity": fidelity,
                    "rules": run.explanation.get("rules", {}),
                    "segments": chosen,
                }
            )
            return
        currency = ws.config.currency
        for s in chosen:
            rows = [
                [
                    feature,
                    figures.feature(feature, values.get("mean"), currency),
                    figures.feature(feature, values.get("median"), currency),
                    figures.number(values.get("z")),
                    figures.number(values.get("lift")),
                ]
                for feature, values in s["profile"].items()
            ]
            columns = [
                Col("feature", numeric=False),
                Col("mean"),
                Col("median", drop=1),
                Col("z"),
                Col("lift"),
            ]
            title = f"{s['name']} ({figures.count(s['size'])} persons)"
            console.print(fitted_table(title, columns, rows))
            console.print(f"rule: {s.get('rule') or '—'}", highlight=False)
            stability = s.get("stability") or {}
            if stability.get("jaccard") is not None:
                console.print(
                    f"stability: bootstrap Jaccard {stability['jaccard']:.2f} "
                    f"({stability['band']}; Hennig: < 0.6 dissolved, > 0.85 stable)",
                    highlight=False,
                )
        if fidelity is not None:
            console.print(
                f"The rules agree with the segments on {figures.share(fidelity)} of held-out "
                "customers."
            )
