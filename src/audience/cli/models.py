"""``audience model``: the registry's champions (promote, list, show, rollback)."""

from __future__ import annotations

from typing import Annotated

import typer

from audience.cli.tables import Col, fitted_table
from audience.cli.terminal import (
    Group,
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    open_workspace,
    print_json,
)

ReasonOption = Annotated[str, typer.Option("--reason", help="Why, kept in the champions' history.")]


def register(app: typer.Typer) -> None:
    """Add the ``model`` sub-app."""
    model = typer.Typer(
        help="Model registry: the champion batch and live assignment use.",
        no_args_is_help=True,
        cls=Group,
    )
    app.add_typer(model, name="model")

    @model.command("promote")
    @handle_errors
    def promote(
        run_id: Annotated[str, typer.Argument(help="Run id ('audience model list').")],
        reason: ReasonOption = "",
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Make a run its model's champion (the MLflow alias 'champion' too, when tracking is
        on) and re-assign the customers with it."""
        from audience.pipelines.mlops import promote_run

        ws = open_workspace(workspace)
        with ws.warehouse() as warehouse, warehouse.transaction() as con:
            done = promote_run(ws, con, run_id, reason)
        result = {
            "run_id": done.run.run_id,
            "model": done.run.model,
            "mlflow_version": done.mlflow_version,
            "customers_assigned": done.reassigned,
        }
        if json_:
            print_json(result)
            return
        alias = f" (models:/{done.run.model}@champion v{done.mlflow_version})"
        console.print(
            f"{done.run.run_id} is the champion of {done.run.model}"
            + (alias if done.mlflow_version else "")
            + (f"; {done.reassigned:,} customers re-assigned" if done.reassigned else ""),
            highlight=False,
        )

    @model.command("rollback")
    @handle_errors
    def rollback(
        name: Annotated[
            str, typer.Argument(help="Model name (audience-segments, audience-clv...).")
        ] = "audience-segments",
        reason: ReasonOption = "",
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Return a model to its previous champion."""
        from audience.pipelines.mlops import rollback_model

        ws = open_workspace(workspace)
        with ws.warehouse() as warehouse, warehouse.transaction() as con:
            entry = rollback_model(ws, con, name, reason)
        if json_:
            print_json({"model": entry.model, "run_id": entry.run_id})
            return
        console.print(f"{entry.run_id} is the champion of {entry.model} again", highlight=False)

    @model.command("list")
    @handle_errors
    def list_(
        limit: Annotated[int, typer.Option(min=1, help="Most runs shown.")] = 20,
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """Recent runs of every model; the champions are marked."""
        from audience.pipelines.model_listing import list_models

        ws = open_workspace(workspace)
        with ws.warehouse(read_only=True) as warehouse:
            rows = list_models(warehouse.con, limit)
        if json_:
            print_json([row.__dict__ for row in rows])
            return
        columns = [
            Col("run", numeric=False),
            Col("model", numeric=False),
            Col("kind", numeric=False),
            Col("created", numeric=False, drop=2),
            Col("key metric", numeric=False, drop=1),
            Col("champion", numeric=False),
        ]
        table_rows = [
            [
                r.run_id,
                r.model,
                r.kind,
                f"{r.created_at:%Y-%m-%d %H:%M}",
                _key_metric(r.metrics),
                "★" if r.champion else "",
            ]
            for r in rows
        ]
        console.print(fitted_table("Runs and champions", columns, table_rows))

    @model.command("show")
    @handle_errors
    def show(
        name_or_run: Annotated[
            str, typer.Argument(help="A run id, a model name, or 'champion'.")
        ] = "champion",
        workspace: WorkspaceOption = None,
        json_: JsonOption = False,
    ) -> None:
        """A run or a model's champion: metrics and the champions' history."""
        from audience.pipelines.model_listing import show_model

        ws = open_workspace(workspace)
        with ws.warehouse(read_only=True) as warehouse:
            found = show_model(warehouse.con, name_or_run)
        if json_:
            print_json(found)
            return
        star = " (champion)" if found["champion"] else ""
        console.print(f"{found['run_id']}: {found['model']} ({found['kind']}){star}")
        metrics = {k: v for k, v in found["metrics"].items() if isinstance(v, int | float)}
        console.print(
            " · ".join(f"{k} {v:.4g}" for k, v in metrics.items()) or "no metrics",
            highlight=False,
        )
        for e in found["history"]:
            console.print(
                f"{e['at']}  {e['action']:<11} {e['run_id']}  {e['reason']}", highlight=False
            )


def _key_metric(metrics: dict[str, float]) -> str:
    for name in ("silhouette", "auc", "holdout.mae", "log_likelihood"):
        if name in metrics:
            return f"{name} {metrics[name]:.3f}"
    return ""
