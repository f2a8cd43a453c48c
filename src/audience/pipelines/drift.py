"""``audience drift``: today's features against a run's reference, and what it does to segments.

The current features are computed as the run computed them (same settings, into a temporary
table, so ``features`` stays as the last run left it; as of ``features.as_of`` when set, else
the latest order or event) and tested feature by feature against the sketches the run kept
(:mod:`audience.mlops`). Imputed cells are left out on both sides:
the run's sketches skip them, and the temporary table has none.

For a clustering run, its stored model assigns today's customers: segment sizes at training
against now, and the transition matrix from each customer's segment at training (the run's
memberships) to the segment the same model gives today. The check is recorded in
``drift_checks``; a drifted data set sends ``drift.detected`` to the workspace's webhook
destinations (:mod:`audience.pipelines.drift_notice`).

"champion" is the deployed run, the one batch assignment and the live path use
(:func:`audience.pipelines.live.load_deployed`): the run ``audience model promote`` made
champion (:func:`audience.mlops.registry.champion_run`), else the latest clustering run.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from audience.errors import InputError
from audience.features.behaviour import compute_features
from audience.mlops.drift import DatasetDrift, compare
from audience.mlops.drift_store import load_sketches, record_check
from audience.mlops.registry import SEGMENTS_MODEL, champion_run
from audience.model.fields import CATEGORICAL, TRAIT_PREFIX
from audience.pipelines.drift_notice import NoticeOutcome, notify_drift
from audience.segmentation.algorithms import CLUSTERING_METHODS
from audience.segmentation.assign import SegmentAssigner
from audience.segmentation.maps import NOISE_NAME
from audience.store.sql import ident
from audience.store.workspace import Workspace

CURRENT = "_drift_current"
NEW, GONE = "(new customer)", "(no longer present)"


def latest_clustering_run(con: duckdb.DuckDBPyConnection) -> str | None:
    """The deployed run as the live path sees it: the latest clustering run."""
    rows = con.execute(
        f"""SELECT run_id FROM segment_runs
            WHERE method IN ({", ".join("?" for _ in CLUSTERING_METHODS)})
            ORDER BY created_at DESC LIMIT 1""",
        list(CLUSTERING_METHODS),
    ).fetchall()
    return str(rows[0][0]) if rows else None


def champion_run_id(con: duckdb.DuckDBPyConnection) -> str | None:
    """The promoted champion, else the latest clustering run."""
    promoted = champion_run(con, SEGMENTS_MODEL)
    return promoted.run_id if promoted is not None else latest_clustering_run(con)


@dataclass(frozen=True)
class SegmentShift:
    segment_id: str
    name: str
    training: int
    now: int
    training_share: float
    now_share: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "change": round(self.now_share - self.training_share, 6)}


@dataclass(frozen=True)
class Transitions:
    """Customers by segment at training (rows) and now (columns)."""

    rows: list[str]
    columns: list[str]
    counts: list[list[int]]

    @property
    def stayed_share(self) -> float:
        """Share of the customers present at both times who kept their segment."""
        both = stayed = 0
        for i, name in enumerate(self.rows):
            for j, other in enumerate(self.columns):
                if name not in (NEW,) and other not in (GONE,):
                    both += self.counts[i][j]
                    stayed += self.counts[i][j] if name == other else 0
        return stayed / both if both else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "columns": self.columns,
            "counts": self.counts,
            "stayed_share": round(self.stayed_share, 6),
        }


@dataclass
class DriftReport:
    run_id: str
    check_id: str
    at: datetime
    drift: DatasetDrift
    segment_sizes: list[SegmentShift] = field(default_factory=list)
    transitions: Transitions | None = None
    notes: list[str] = field(default_factory=list)
    notified: list[NoticeOutcome] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = self.drift
        return {
            "run_id": self.run_id,
            "check_id": self.check_id,
            "at": self.at.isoformat(),
            "reference_rows": d.reference_rows,
            "current_rows": d.current_rows,
            "dataset_drift": d.dataset_drift,
            "drift_share": d.drift_share,
            "threshold": d.threshold,
            "features": [f.to_dict() for f in d.features],
            "segment_sizes": [s.to_dict() for s in self.segment_sizes],
            "transitions": self.transitions.to_dict() if self.transitions else None,
            "notes": self.notes,
            "notified": [n.to_dict() for n in self.notified],
        }


def resolve_run(con: duckdb.DuckDBPyConnection, against: str) -> tuple[str, str, dict[str, Any]]:
    """(run id, method, model) of ``champion`` or of the run named."""
    import json

    run_id = champion_run_id(con) if against == "champion" else against
    if run_id is None:
        raise InputError(
            "no champion run to compare with: no clustering run yet; run 'audience segment' "
            "first, or name a run with --against RUN"
        )
    rows = con.execute(
        """SELECT method, model FROM segment_runs WHERE run_id = ?
           AND method NOT IN ('rules', 'clv_tiers', 'churn_bands')""",
        [run_id],
    ).fetchall()
    if not rows:
        known = [
            r[0]
            for r in con.execute(
                """SELECT run_id FROM segment_runs WHERE method NOT IN ('rules', 'clv_tiers',
               'churn_bands') ORDER BY created_at DESC LIMIT 5"""
            ).fetchall()
        ]
        hint = f"latest runs: {', '.join(known)}" if known else "no segmentation run yet"
        raise InputError(f"no segmentation run {run_id!r} (--against); {hint}")
    return run_id, str(rows[0][0]), json.loads(rows[0][1])


def drift_report(
    ws: Workspace, against: str = "champion", *, notify: bool | None = None
) -> DriftReport:
    """Test today's features against the run ``against`` (``champion`` or a run id), record
    the check, and send ``drift.detected`` when the data set drifted (unless ``notify`` is
    False or ``drift.notify`` is off)."""
    config = ws.config
    at = ws.clock.now()
    with ws.warehouse() as warehouse:
        con = warehouse.con
        run_id, method, model = resolve_run(con, against)
        sketches = load_sketches(con, run_id)
        compute_features(
            con,
            config.features,
            config.timezone,
            list(config.quality.taxonomy),
            now=at,
            into=CURRENT,
        )
        try:
            result = compare(con, CURRENT, sketches, config.drift)
            report = DriftReport(
                run_id, f"drift-{at:%Y%m%d%H%M%S}-{secrets.token_hex(3)}", at, result
            )
            untested = sorted(set(sketches) - {f.feature for f in result.features})
            if untested:
                report.notes.append(
                    f"not tested, no value in the run's reference: {', '.join(untested)}"
                )
            _segments(con, report, method, model)
        finally:
            con.execute(f"DROP TABLE IF EXISTS {ident(CURRENT)}")
        if result.dataset_drift and (config.drift.notify if notify is None else notify):
            report.notified = notify_drift(
                config.activation.destinations, report.to_dict(), ws.clock
            )
        with warehouse.transaction() as tx:
            record_check(
                tx,
                report.check_id,
                run_id,
                at,
                result.dataset_drift,
                result.drift_share,
                report.to_dict(),
            )
    return report


def _segments(
    con: duckdb.DuckDBPyConnection, report: DriftReport, method: str, model: dict[str, Any]
) -> None:
    """Segment sizes at training and now, and the transitions, from the run's own model."""
    if "space" not in model or "model" not in model:
        report.notes.append(
            f"a {method} run keeps no assignable model: segment sizes and transitions are "
            "given for clustering runs"
        )
        return
    inputs = [str(f) for f in model["inputs"]]
    if any(f.startswith(TRAIT_PREFIX) for f in inputs):
        report.notes.append(
            "the run clusters on custom traits: segment sizes and transitions are not computed"
        )
        return
    ids, frame = _current_matrix(con, inputs, [str(f) for f in model["features"]])
    labels = SegmentAssigner.from_json(model).predict(frame)
    segments = con.execute(
        "SELECT segment_id, label, name, size FROM segments WHERE run_id = ? ORDER BY label",
        [report.run_id],
    ).fetchall()
    noise = [int(lb) for _, lb, name, _ in segments if name == NOISE_NAME]
    if noise:
        labels = np.where(labels < 0, noise[0], labels)
    by_label = {int(lb): str(sid) for sid, lb, _, _ in segments}
    now_ids = [by_label.get(int(lb), f"{report.run_id}:{int(lb)}") for lb in labels]
    con.register("_drift_now", pa.table({"customer_id": ids, "segment_id": now_ids}))
    try:
        pairs = con.execute(
            """SELECT t.segment_id, n.segment_id, count(*)
               FROM (SELECT customer_id, segment_id FROM memberships WHERE run_id = ?) t
               FULL OUTER JOIN _drift_now n USING (customer_id) GROUP BY ALL""",
            [report.run_id],
        ).fetchall()
    finally:
        con.unregister("_drift_now")
    names = {str(sid): str(name) for sid, _, name, _ in segments}
    training = {str(sid): int(size) for sid, _, _, size in segments}
    now = dict.fromkeys(names, 0)
    for _, after, n in pairs:
        if after is not None:
            now[after] = now.get(after, 0) + int(n)
    n_train, n_now = max(sum(training.values()), 1), max(sum(now.values()), 1)
    report.segment_sizes = [
        SegmentShift(
            sid, names[sid], training[sid], now[sid], training[sid] / n_train, now[sid] / n_now
        )
        for sid in names
    ]
    rows, columns = [*names.values(), NEW], [*names.values(), GONE]
    counts = [[0] * len(columns) for _ in rows]
    for before, after, n in pairs:
        i = rows.index(names[before]) if before is not None else len(rows) - 1
        j = columns.index(names[after]) if after is not None else len(columns) - 1
        counts[i][j] += int(n)
    report.transitions = Transitions(rows, columns, counts)


def _current_matrix(
    con: duckdb.DuckDBPyConnection, inputs: list[str], features: list[str]
) -> tuple[pa.Array, pd.DataFrame]:
    """Today's features as the run's model reads them (as ``load_matrix`` shapes them:
    numbers as they are, categories one-hot), from the temporary table."""
    columns = ", ".join(
        f"{ident(f)}" if f in CATEGORICAL else f"{ident(f)}::DOUBLE AS {ident(f)}" for f in inputs
    )
    table = con.sql(
        f"SELECT customer_id, {columns} FROM {ident(CURRENT)} ORDER BY customer_id"
    ).to_arrow_table()
    frame = table.drop(["customer_id"]).to_pandas()
    for name in [f for f in inputs if f in CATEGORICAL]:
        dummies = pd.get_dummies(frame.pop(name), prefix=name, prefix_sep="=", dtype=float)
        frame = pd.concat([frame, dummies], axis=1)
    return table.column("customer_id"), frame.reindex(columns=features, fill_value=0.0)
