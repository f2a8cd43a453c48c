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
from audience.segmentation.algorithms import METHODS
from audience.segmentation.kpis import segment_kpis


def family(method: str) -> list[str]:
    """Methods whose runs replace each other's memberships."""
    return ["rfm"] if method == "rfm" else list(METHODS)


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
    methods = family(run.method)
    con.execute(
        f"""UPDATE memberships SET valid_to = ?
            WHERE valid_to IS NULL AND run_id <> ? AND run_id IN (
                SELECT run_id FROM segment_runs
                WHERE method IN ({", ".join("?" for _ in methods)}))""",
        [now, run.run_id, *methods],
    )
    members = pa.table(
        {
            "customer_id": ids,
            "label": pa.array(run.labels.astype(np.int32)),
            "score": pa.array(np.round(confidence, 4)),
        }
    )
    con.register("_new_members", members)
    con.execute(
        """INSERT INTO memberships (customer_id, segment_id, run_id, score, valid_from, valid_to)
           SELECT customer_id, ? || ':' || label, ?, score, ?, NULL FROM _new_members""",
        [run.run_id, run.run_id, now],
    )
    con.unregister("_new_members")
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
