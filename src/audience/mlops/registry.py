"""The warehouse's own model registry: the champion run of each model, as history.

Batch assignment and the live path read the champion from here (or MLflow's
``models:/<name>@champion`` when tracking is configured, see :mod:`audience.mlops.tracking`;
both are written together). ``model_champions`` is append-only: a promotion pushes a run, a
rollback pops the current one and records the run it returns to, so the table replays into
the stack of champions at any time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb

from audience.errors import RegistryError

SEGMENTS_MODEL = "audience-segments"
"""Registered name of the clustering model (any clustering method)."""
MODEL_NAMES = {"rfm": "audience-rfm", "clv": "audience-clv", "churn": "audience-churn"}
"""Registered names of the other models, by run kind."""
NOT_MODELS = ("rules", "clv_tiers", "churn_bands")
"""segment_runs methods that hold no model of their own (rule segments, bands of scores)."""

Action = Literal["promote", "rollback", "recalibrate"]


def model_name(kind: str) -> str:
    """Registered model name of a run's method or prediction kind."""
    return MODEL_NAMES.get(kind, SEGMENTS_MODEL)


@dataclass(frozen=True)
class RunRef:
    """A stored run that can be a champion: a segmentation run or a prediction run."""

    run_id: str
    kind: str
    """The clustering method, ``rfm``, ``clv`` or ``churn``."""
    created_at: datetime
    metrics: dict[str, Any]
    model_json: dict[str, Any]

    @property
    def model(self) -> str:
        return model_name(self.kind)


@dataclass(frozen=True)
class ChampionEntry:
    """One row of the champions' history."""

    model: str
    run_id: str
    promoted_at: datetime
    action: str
    reason: str
    mlflow_version: str | None


def find_run(con: duckdb.DuckDBPyConnection, run_id: str) -> RunRef:
    """The run named, or a :class:`RegistryError` saying how to list the runs."""
    row = con.execute(
        f"""SELECT run_id, method, created_at, metrics, model FROM segment_runs
            WHERE run_id = ? AND method NOT IN ({", ".join("?" for _ in NOT_MODELS)})
            UNION ALL
            SELECT run_id, kind, created_at, metrics, model FROM prediction_runs
            WHERE run_id = ?""",
        [run_id, *NOT_MODELS, run_id],
    ).fetchone()
    if row is None:
        raise RegistryError(
            f"no run {run_id!r} to promote in this workspace; 'audience model list' shows the runs"
        )
    return RunRef(str(row[0]), str(row[1]), row[2], json.loads(row[3]), json.loads(row[4]))


def latest_run(con: duckdb.DuckDBPyConnection, model: str) -> RunRef | None:
    """The most recent run of a registered model (the deployed one before any promotion)."""
    kinds = [k for k, name in MODEL_NAMES.items() if name == model]
    if model == SEGMENTS_MODEL:
        clause = "method NOT IN ('rfm', 'rules', 'clv_tiers', 'churn_bands')"
    else:
        clause = f"method = '{kinds[0]}'"
    row = con.execute(
        f"""SELECT run_id FROM (
                SELECT run_id, created_at FROM segment_runs WHERE {clause}
                UNION ALL
                SELECT run_id, created_at FROM prediction_runs
                WHERE kind IN ({", ".join(f"'{k}'" for k in kinds) or "NULL"}))
            ORDER BY created_at DESC LIMIT 1"""
    ).fetchone()
    return find_run(con, str(row[0])) if row else None


def history(con: duckdb.DuckDBPyConnection, model: str | None = None) -> list[ChampionEntry]:
    """Every promotion and rollback, oldest first (none in a warehouse opened read-only
    before its schema had the registry)."""
    try:
        rows = con.execute(
            """SELECT model, run_id, promoted_at, action, reason, mlflow_version
               FROM model_champions WHERE ? IS NULL OR model = ? ORDER BY seq""",
            [model, model],
        ).fetchall()
    except duckdb.CatalogException:
        return []
    return [ChampionEntry(*row) for row in rows]


def _stack(entries: list[ChampionEntry]) -> list[ChampionEntry]:
    stack: list[ChampionEntry] = []
    for entry in entries:
        if entry.action == "rollback":
            if stack:
                stack.pop()
            if stack:
                stack[-1] = entry  # same run, its row now the rollback's
        else:
            stack.append(entry)
    return stack


def _record(
    con: duckdb.DuckDBPyConnection,
    model: str,
    run_id: str,
    now: datetime,
    action: str,
    reason: str,
    mlflow_version: str | None,
) -> None:
    con.execute(
        """INSERT INTO model_champions
           SELECT coalesce(max(seq), 0) + 1, ?, ?, ?, ?, ?, ? FROM model_champions""",
        [model, run_id, now, action, reason, mlflow_version],
    )


def champion(con: duckdb.DuckDBPyConnection, model: str) -> ChampionEntry | None:
    """The model's champion, or None when no run was ever promoted."""
    stack = _stack(history(con, model))
    return stack[-1] if stack else None


def champion_run(con: duckdb.DuckDBPyConnection, model: str = SEGMENTS_MODEL) -> RunRef | None:
    """The champion's run, else the latest run of the model (what was deployed before
    registries existed), else None."""
    entry = champion(con, model)
    return find_run(con, entry.run_id) if entry else latest_run(con, model)


def promote(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    now: datetime,
    action: Action = "promote",
    reason: str = "",
    mlflow_version: str | None = None,
) -> RunRef:
    """Make a run its model's champion; returns the run."""
    run = find_run(con, run_id)
    _record(con, run.model, run.run_id, now, action, reason, mlflow_version)
    return run


def rollback(
    con: duckdb.DuckDBPyConnection, model: str, now: datetime, reason: str = ""
) -> ChampionEntry:
    """Return to the champion before the current one; returns the new champion's entry."""
    stack = _stack(history(con, model))
    if len(stack) < 2:
        raise RegistryError(
            f"model {model!r} has no earlier champion to roll back to; promote a run with "
            "'audience model promote RUN'"
        )
    previous = stack[-2]
    _record(con, model, previous.run_id, now, "rollback", reason, previous.mlflow_version)
    entry = champion(con, model)
    assert entry is not None  # the rollback row just written
    return entry
