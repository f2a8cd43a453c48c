"""``audience segment --engine spark``: the batch path on Spark, rendered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from audience.cli.terminal import console, print_json, step
from audience.errors import InputError

if TYPE_CHECKING:
    from audience.store.workspace import Workspace

SPARK_METHODS = ("kmeans", "rfm", "champion")


def segment_on_spark(
    ws: Workspace,
    method: str | None,
    k: int | None,
    k_range: tuple[int, int] | None,
    lake: str | None,
    out: str | None,
    json_: bool,
) -> None:
    """Run :func:`audience.pipelines.spark_run.run_on_spark` and print what it did."""
    from audience.pipelines.spark_run import run_on_spark
    from audience.store.lake import location_of

    chosen = "kmeans" if method in (None, "auto") else method
    if chosen not in SPARK_METHODS:
        raise InputError(
            f"method {chosen} runs on the duckdb engine only; on spark: kmeans (MLlib), rfm, "
            "or --champion (any fitted method assigns every customer)"
        )
    with step("Segmenting on Spark", quiet=json_):
        run = run_on_spark(
            ws,
            ws.settings,
            method=chosen,  # type: ignore[arg-type]  # checked against SPARK_METHODS
            k=k,
            k_range=k_range,
            lake=location_of(lake) if lake else None,
            out=location_of(out) if out else None,
        )
    if json_:
        print_json(run.to_dict())
        return
    table = Table("segment", "customers", title=f"{run.run_id} ({run.method}, spark)")
    for name, size in run.sizes.items():
        table.add_row(name, f"{size:,}")
    for name, size in run.rule_sizes.items():
        table.add_row(name, f"{size:,}")
    console.print(table)
    for name, why in run.rules_left_out.items():
        console.print(f"rule segment {name!r} left to the duckdb engine: {why}", highlight=False)
    console.print(f"memberships and run record: {run.output}", highlight=False)
