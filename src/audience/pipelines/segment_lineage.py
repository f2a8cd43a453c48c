"""Segments that keep their names and ids through refits.

Before a segmentation run is stored, each of its segments is matched to a segment of the
champion run of the same model (:func:`audience.mlops.registry.champion_run`) by member
overlap and the Hungarian method (:mod:`audience.mlops.matching`): a matched segment takes
its predecessor's name and stable id, so "Loyal big spenders" stays "Loyal big spenders"
after a monthly refit even when its cluster number changes. Transitions between two runs
are the same counts, read back for the report.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pyarrow as pa

from audience.mlops.matching import SegmentMatch, Transitions, carry_names, match_segments
from audience.mlops.registry import champion_run, model_name
from audience.model.runs import SegmentRun
from audience.segmentation.maps import NOISE_NAME

_LATEST_MEMBERSHIP = """
    SELECT customer_id, segment_id FROM memberships WHERE run_id = ?
    QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY valid_from DESC) = 1"""


def carry_over(
    con: duckdb.DuckDBPyConnection, run: SegmentRun, ids: pa.Array, min_jaccard: float
) -> list[SegmentMatch]:
    """Rename ``run``'s segments after the champion's they continue (in place); returns the
    matches, also kept in ``run.preprocessing["lineage"]``."""
    for profile in run.segments:
        profile.stable_id = run.segment_id(profile.label)
    previous = champion_run(con, model_name(run.method)) if run.method != "rfm" else None
    if previous is None or previous.run_id == run.run_id:
        return []
    old = con.execute(
        "SELECT label, segment_id, name, profile FROM segments WHERE run_id = ? ORDER BY label",
        [previous.run_id],
    ).fetchall()
    if not old:
        return []
    k_old = max(int(r[0]) for r in old) + 1
    old_names = [""] * k_old
    old_ids = [""] * k_old
    old_stable = [""] * k_old
    for label, segment_id, name, profile in old:
        old_names[label], old_ids[label] = str(name), str(segment_id)
        old_stable[label] = json.loads(profile).get("stable_id") or str(segment_id)
    counts, old_sizes = _overlap(con, previous.run_id, ids, run.labels, k_old)
    new_sizes = np.bincount(run.labels, minlength=len(run.segments))
    for label, name in enumerate(old_names):  # noise continues nothing
        if name == NOISE_NAME:
            counts[label, :] = 0
    for profile in run.segments:
        if profile.name == NOISE_NAME:
            counts[:, profile.label] = 0
    matches = match_segments(counts, min_jaccard, old_sizes, new_sizes)
    names = carry_names([p.name for p in run.segments], old_names, matches)
    by_label = {m.new_label: m for m in matches}
    for profile in run.segments:
        profile.name = names[profile.label]
        match = by_label.get(profile.label)
        if match is not None:
            profile.matched_from = old_ids[match.old_label]
            profile.stable_id = old_stable[match.old_label]
    run.preprocessing["lineage"] = {
        "previous_run": previous.run_id,
        "matches": [
            {
                "segment": run.segment_id(m.new_label),
                "continues": old_ids[m.old_label],
                "jaccard": m.jaccard,
            }
            for m in matches
        ],
    }
    return matches


def _overlap(
    con: duckdb.DuckDBPyConnection,
    previous_run: str,
    ids: pa.Array,
    labels: np.ndarray,
    k_old: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Shared members per (old label, new label), and the old segments' sizes."""
    k_new = int(labels.max()) + 1 if len(labels) else 0
    con.register("_new_labels", pa.table({"customer_id": ids, "label": labels.astype(np.int64)}))
    try:
        rows = con.execute(
            f"""WITH old AS ({_LATEST_MEMBERSHIP})
                SELECT s.label, n.label, count(*) FROM old
                JOIN segments s USING (segment_id)
                JOIN _new_labels n USING (customer_id)
                GROUP BY ALL""",
            [previous_run],
        ).fetchall()
    finally:
        con.unregister("_new_labels")
    sizes = con.execute(
        f"""WITH old AS ({_LATEST_MEMBERSHIP})
            SELECT s.label, count(*) FROM old JOIN segments s USING (segment_id) GROUP BY ALL""",
        [previous_run],
    ).fetchall()
    counts = np.zeros((k_old, k_new), dtype=np.int64)
    for a, b, n in rows:
        counts[int(a), int(b)] = int(n)
    old_sizes = np.zeros(k_old, dtype=np.int64)
    for a, n in sizes:
        old_sizes[int(a)] = int(n)
    return counts, old_sizes


def transitions(
    con: duckdb.DuckDBPyConnection, earlier_run: str, later_run: str
) -> Transitions | None:
    """Customers per (earlier segment, later segment) of two stored runs, or None when they
    share no customer."""
    rows = con.execute(
        f"""WITH a AS ({_LATEST_MEMBERSHIP}), b AS ({_LATEST_MEMBERSHIP})
            SELECT sa.label, sb.label, count(*) FROM a JOIN b USING (customer_id)
            JOIN segments sa ON sa.segment_id = a.segment_id
            JOIN segments sb ON sb.segment_id = b.segment_id
            GROUP BY ALL""",
        [earlier_run, later_run],
    ).fetchall()
    if not rows:
        return None
    names = {
        run: [
            str(r[0])
            for r in con.execute(
                "SELECT name FROM segments WHERE run_id = ? ORDER BY label", [run]
            ).fetchall()
        ]
        for run in (earlier_run, later_run)
    }
    counts = np.zeros((len(names[earlier_run]), len(names[later_run])), dtype=np.int64)
    for a, b, n in rows:
        counts[int(a), int(b)] = int(n)
    return Transitions(names[earlier_run], names[later_run], counts)
