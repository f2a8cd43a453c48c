"""Store a segmentation run: its record, its segments and the memberships it assigns.

Memberships are history: a new clustering run closes (``valid_to``) the open memberships of
earlier clustering runs, an RFM run those of earlier RFM runs; nothing is deleted.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from audience.model.runs import SegmentRun
from audience.segmentation.algorithms import CLUSTERING_METHODS
from audience.segmentation.kpis import segment_kpis


def family(method: str) -> list[str]:
    """Methods whose runs replace each other's memberships."""
    return ["rfm"] if method == "rfm" else list(CLUSTERING_METHODS)


def write_memberships(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    method: str,
    ids: pa.Array,
    labels: np.ndarray,
    confidence: np.ndarray,
    now: datetime,
) -> None:
    """Open memberships of ``run_id``'s segments (label per customer), closing the open ones
    of every run of its family: the run whose memberships are open is the one batch uses."""
    methods = family(method)
    con.execute(
        f"""UPDATE memberships SET valid_to = ?
            WHERE valid_to IS NULL AND run_id IN (
                SELECT run_id FROM segment_runs
                WHERE method IN ({", ".join("?" for _ in methods)}))""",
        [now, *methods],
    )
    members = pa.table(
        {
            "customer_id": ids,
            "label": pa.array(np.asarray(labels).astype(np.int32)),
            "score": pa.array(np.round(confidence, 4)),
        }
    )
    con.register("_new_members", members)
    try:
        con.execute(
            """INSERT INTO memberships (customer_id, segment_id, run_id, score, valid_from,
                                        valid_to)
               SELECT customer_id, ? || ':' || label, ?, score, ?, NULL FROM _new_members""",
            [run_id, run_id, now],
        )
    finally:
        con.unregister("_new_members")


def store_run(
    con: duckdb.DuckDBPyConnection,
    run: SegmentRun,
    ids: pa.Array,
    confidence: np.ndarray,
    params: dict[str, Any],
    now: datetime,
    kpis: list[str],
) -> None:
    con.execute(
        """INSERT INTO segment_runs (run_id, created_at, method, params, features, preprocessing,
                                     metrics, selection, model, n_customers, explanation, bias)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            run.run_id,
            now,
            run.method,
            json.dumps(params),
            json.dumps(run.features),
            json.dumps(run.preprocessing, default=str),
            json.dumps(run.metrics),
            json.dumps(run.selection, default=str),
            json.dumps(run.model),
            run.n_customers,
            json.dumps(run.explanation),
            json.dumps(run.bias, default=str),
        ],
    )
    write_memberships(con, run.run_id, run.method, ids, run.labels, confidence, now)
    # The segments are written once, with the KPIs their members give.
    computed = segment_kpis(con, run.run_id, kpis)
    run.kpis_unavailable = computed.unavailable
    for profile in run.segments:
        profile.kpis = computed.values.get(run.segment_id(profile.label), {})
    con.executemany(
        "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            [
                run.segment_id(p.label),
                run.run_id,
                p.label,
                p.name,
                p.description,
                p.size,
                json.dumps(p.to_dict()),
            ]
            for p in run.segments
        ],
    )
