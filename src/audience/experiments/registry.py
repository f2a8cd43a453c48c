"""Experiments kept in the warehouse: create (with a share of a namespace), list, show, stop.

A namespace is a line of persons cut by their namespace bucket; each running experiment of
the namespace takes a range of it, the first free gap wide enough for its traffic, so two
experiments of one namespace never share a person. A stopped experiment gives its range back.
Without ``--namespace`` an experiment is alone in a namespace named after it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb

from audience.errors import ExperimentError, UnknownExperimentError
from audience.experiments.definitions import ExperimentDefinition, Variant
from audience.model.bucketing import Allocation
from audience.model.rule_segment import rule_segment_id
from audience.store.warehouse import scalar

_COLUMNS = (
    "name, segment_id, segment, variants, holdout, metric, guardrails, window_days, "
    "lookback_days, salt, namespace, range_start, range_end, status, created_at, stopped_at"
)


@dataclass(frozen=True)
class Experiment:
    """A stored experiment: its definition, the segment it resolved to, its range."""

    definition: ExperimentDefinition
    segment_id: str
    salt: str
    namespace: str
    range_start: float
    range_end: float
    status: str
    created_at: datetime
    stopped_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def variant_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.definition.variants)

    def allocation(self) -> Allocation:
        """What the bucketing function needs: the same for batch, live and HTTP."""
        return Allocation(
            name=self.name,
            segment_id=self.segment_id,
            salt=self.salt,
            namespace=self.namespace,
            range_start=self.range_start,
            range_end=self.range_end,
            holdout=self.definition.holdout / 100.0,
            variants=tuple((v.name, v.weight / 100.0) for v in self.definition.variants),
        )

    def to_dict(self) -> dict[str, Any]:
        d = self.definition
        return {
            "name": d.name,
            "segment": d.segment,
            "segment_id": self.segment_id,
            "variants": [asdict(v) for v in d.variants],
            "control": d.variants[0].name,
            "metric": d.metric,
            "guardrails": list(d.guardrails),
            "window_days": d.window_days,
            "lookback_days": d.lookback_days,
            "holdout": d.holdout,
            "salt": self.salt,
            "namespace": self.namespace,
            "range": [self.range_start, self.range_end],
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
        }


def resolve_segment(con: duckdb.DuckDBPyConnection, segment: str) -> str:
    """The id of the segment a user names: an id, a rule segment's name, or a stored name.

    Raises
    ------
    ExperimentError
        When no evaluated segment has this id or name.
    """
    for candidate in (segment, rule_segment_id(segment)):
        if scalar(con, "SELECT count(*) FROM segments WHERE segment_id = ?", [candidate]):
            return candidate
    found = scalar(
        con,
        """SELECT s.segment_id FROM segments s JOIN segment_runs r USING (run_id)
           WHERE s.name = ? ORDER BY r.created_at DESC LIMIT 1""",
        [segment],
    )
    if found is None:
        raise ExperimentError(
            f"unknown segment {segment!r}; name a rule segment evaluated by 'audience activate' "
            "or a segment of 'audience segment' (see 'audience segments')"
        )
    return str(found)


def segment_size(con: duckdb.DuckDBPyConnection, segment_id: str) -> int:
    return int(
        scalar(
            con,
            "SELECT count(*) FROM memberships WHERE segment_id = ? AND valid_to IS NULL",
            [segment_id],
        )
    )


def _free_range(
    con: duckdb.DuckDBPyConnection, namespace: str, share: float
) -> tuple[float, float]:
    """The first gap of the namespace at least ``share`` (0-1) wide."""
    taken = con.execute(
        """SELECT range_start, range_end FROM experiments
           WHERE namespace = ? AND status = 'running' ORDER BY range_start""",
        [namespace],
    ).fetchall()
    start, free = 0.0, 0.0
    for low, high in [*taken, (1.0, 1.0)]:
        gap = float(low) - start
        free = max(free, gap)
        if gap >= share - 1e-12:
            return start, start + share if start + share < 1.0 - 1e-12 else 1.0
        start = max(start, float(high))
    raise ExperimentError(
        f"namespace {namespace!r} has {free * 100:g}% free in one range, less than the "
        f"{share * 100:g}% asked; pass a smaller --traffic or stop an experiment there"
    )


def create_experiment(
    con: duckdb.DuckDBPyConnection, definition: ExperimentDefinition, now: datetime
) -> Experiment:
    """Store a new running experiment on a segment that has members."""
    if scalar(con, "SELECT count(*) FROM experiments WHERE name = ?", [definition.name]):
        raise ExperimentError(
            f"experiment {definition.name!r} exists; choose another name or "
            f"'audience experiment show {definition.name}'"
        )
    segment_id = resolve_segment(con, definition.segment)
    if not segment_size(con, segment_id):
        raise ExperimentError(
            f"segment {definition.segment!r} has no current members; an experiment on it "
            "would have no one to split (evaluate it again, or choose another segment)"
        )
    namespace = definition.namespace or definition.name
    start, end = _free_range(con, namespace, definition.traffic / 100.0)
    experiment = Experiment(
        definition=definition,
        segment_id=segment_id,
        salt=definition.salt or definition.name,
        namespace=namespace,
        range_start=start,
        range_end=end,
        status="running",
        created_at=now,
    )
    d = definition
    con.execute(
        f"INSERT INTO experiments ({_COLUMNS}) VALUES ({', '.join(['?'] * 16)})",
        [
            d.name,
            segment_id,
            d.segment,
            json.dumps([asdict(v) for v in d.variants]),
            d.holdout,
            d.metric,
            json.dumps(list(d.guardrails)),
            d.window_days,
            d.lookback_days,
            experiment.salt,
            namespace,
            start,
            end,
            "running",
            now,
            None,
        ],
    )
    return experiment


def _from_row(row: tuple[Any, ...]) -> Experiment:
    (name, segment_id, segment, variants, holdout, metric, guardrails, window, lookback) = row[:9]
    (salt, namespace, start, end, status, created_at, stopped_at) = row[9:]
    definition = ExperimentDefinition(
        name=str(name),
        segment=str(segment),
        variants=tuple(Variant(str(v["name"]), float(v["weight"])) for v in json.loads(variants)),
        metric=str(metric),
        window_days=int(window),
        lookback_days=int(lookback),
        holdout=float(holdout),
        salt=str(salt),
        namespace=str(namespace),
        traffic=(float(end) - float(start)) * 100.0,
        guardrails=tuple(str(g) for g in json.loads(guardrails)),
    )
    return Experiment(
        definition,
        str(segment_id),
        str(salt),
        str(namespace),
        float(start),
        float(end),
        str(status),
        created_at,
        stopped_at,
    )


def list_experiments(con: duckdb.DuckDBPyConnection) -> list[Experiment]:
    rows = con.execute(f"SELECT {_COLUMNS} FROM experiments ORDER BY created_at, name").fetchall()
    return [_from_row(r) for r in rows]


def get_experiment(con: duckdb.DuckDBPyConnection, name: str) -> Experiment:
    rows = con.execute(f"SELECT {_COLUMNS} FROM experiments WHERE name = ?", [name]).fetchall()
    if not rows:
        known = [str(r[0]) for r in con.execute("SELECT name FROM experiments").fetchall()]
        raise UnknownExperimentError(
            f"no experiment named {name!r}; known: {', '.join(sorted(known)) or 'none'} "
            "('audience experiment create' makes one)"
        )
    return _from_row(rows[0])


def stop_experiment(con: duckdb.DuckDBPyConnection, name: str, now: datetime) -> Experiment:
    """Stop a running experiment: no new assignments, its namespace range is free again."""
    experiment = get_experiment(con, name)
    if experiment.status == "stopped":
        return experiment
    con.execute(
        "UPDATE experiments SET status = 'stopped', stopped_at = ? WHERE name = ?", [now, name]
    )
    return get_experiment(con, name)
