"""What ``audience model list`` and ``show`` print: runs that can be champions, with their
key metrics and the champions' history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from audience.errors import RegistryError
from audience.mlops import registry
from audience.mlops.registry import SEGMENTS_MODEL
from audience.pipelines.mlops import flatten, numbers


@dataclass(frozen=True)
class ModelRow:
    """A run in ``audience model list``."""

    run_id: str
    model: str
    kind: str
    created_at: datetime
    metrics: dict[str, float]
    champion: bool


def list_models(con: duckdb.DuckDBPyConnection, limit: int = 50) -> list[ModelRow]:
    """Recent runs that can be champions, newest first, champions flagged."""
    rows = con.execute(
        f"""SELECT run_id FROM (
                SELECT run_id, created_at FROM segment_runs
                WHERE method NOT IN ({", ".join("?" for _ in registry.NOT_MODELS)})
                UNION ALL SELECT run_id, created_at FROM prediction_runs)
            ORDER BY created_at DESC LIMIT ?""",
        [*registry.NOT_MODELS, limit],
    ).fetchall()
    runs = [registry.find_run(con, str(r[0])) for r in rows]
    champions = {
        name: getattr(registry.champion_run(con, name), "run_id", None)
        for name in {r.model for r in runs}
    }
    return [
        ModelRow(
            r.run_id,
            r.model,
            r.kind,
            r.created_at,
            numbers(flatten(r.metrics)),
            champions.get(r.model) == r.run_id,
        )
        for r in runs
    ]


def show_model(con: duckdb.DuckDBPyConnection, name_or_run: str) -> dict[str, Any]:
    """A run (by id) or a model's champion (by model name, or ``champion``) and its history."""
    model = SEGMENTS_MODEL if name_or_run == "champion" else name_or_run
    if model in {SEGMENTS_MODEL, *registry.MODEL_NAMES.values()}:
        run = registry.champion_run(con, model)
        if run is None:
            raise RegistryError(f"model {model!r} has no run yet; run 'audience segment' first")
    else:
        run = registry.find_run(con, name_or_run)
    return {
        "run_id": run.run_id,
        "model": run.model,
        "kind": run.kind,
        "created_at": run.created_at.isoformat(),
        "metrics": run.metrics,
        "champion": getattr(registry.champion_run(con, run.model), "run_id", None) == run.run_id,
        "history": [
            {
                "run_id": e.run_id,
                "at": e.promoted_at.isoformat(),
                "action": e.action,
                "reason": e.reason,
                "mlflow_version": e.mlflow_version,
            }
            for e in registry.history(con, run.model)
        ],
    }
