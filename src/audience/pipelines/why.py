"""``audience why``: why a person is in each of her current segments.

Rule segments
    The trace stored when the membership began (``membership_reasons``): every leaf of the
    condition, the value seen and whether it held.
Clustering segments
    Recomputed from the run record: the person's features go through the preprocessing the
    run stored (``segment_runs.preprocessing``: imputation, log transform, standardisation)
    into the space of the centroids (``segment_runs.model``: feature names and centroids);
    the explanation gives the distance to every centroid (the nearest is her segment) and the
    features that pull her away from her own centroid the most. A run stored in a format this
    reader does not know is reported with its stored score only.
Other segments (RFM, predictive bands)
    Their stored score and the run they come from.
"""

from __future__ import annotations

import json
import math
from typing import Any

import duckdb

from audience.model.rule_segment import RULE_PREFIX
from audience.store.person_relation import RULES_METHOD, feature_columns, person_of

TOP_FEATURES = 3


def why(con: duckdb.DuckDBPyConnection, customer_id: str) -> dict[str, Any]:
    """The person's current memberships, each with its explanation."""
    person = person_of(con, customer_id)
    rows = con.execute(
        """SELECT m.segment_id, s.name, m.run_id, r.method, m.valid_from, m.score, s.label
           FROM memberships m JOIN segments s USING (segment_id)
           JOIN segment_runs r ON r.run_id = m.run_id
           WHERE m.customer_id = ? AND m.valid_to IS NULL ORDER BY r.method, m.segment_id""",
        [person],
    ).fetchall()
    found = []
    for segment_id, name, run_id, method, since, score, label in rows:
        item: dict[str, Any] = {
            "segment_id": segment_id,
            "name": name,
            "method": method,
            "run_id": run_id,
            "since": since.isoformat(),
            "score": score,
        }
        if method == RULES_METHOD:
            item["conditions"] = _rule_trace(con, person, segment_id, since, run_id)
        else:
            item.update(explain_cluster(con, run_id, person, int(label)))
        found.append(item)
    return {"customer_id": person, "asked_for": customer_id, "segments": found}


def _rule_trace(
    con: duckdb.DuckDBPyConnection, person: str, segment_id: str, since: Any, run_id: str
) -> list[dict[str, Any]]:
    """The stored values and outcomes, with the leaves' texts from the run that opened it."""
    rows = con.execute(
        """SELECT trace::VARCHAR FROM membership_reasons
           WHERE customer_id = ? AND segment_id = ? AND valid_from = ?""",
        [person, segment_id, since],
    ).fetchall()
    if not rows:
        return []
    seen: dict[str, Any] = json.loads(rows[0][0])
    model, _ = _stored(con, run_id)
    name = segment_id.removeprefix(RULE_PREFIX)
    text_of: dict[str, str] = {}
    for definition in model.get("definitions", []):
        if definition.get("name") == name:
            text_of = {leaf["path"]: leaf["condition"] for leaf in definition.get("leaves", [])}
    return [
        {
            "path": path,
            "condition": text_of.get(path, path),
            "value": item.get("value"),
            "matched": item.get("matched"),
        }
        for path, item in seen.items()
    ]


def _stored(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = con.execute(
        "SELECT model::VARCHAR, preprocessing::VARCHAR FROM segment_runs WHERE run_id = ?",
        [run_id],
    ).fetchall()
    return json.loads(rows[0][0]), json.loads(rows[0][1])


def explain_cluster(
    con: duckdb.DuckDBPyConnection, run_id: str, person: str, label: int
) -> dict[str, Any]:
    """Distances from the person to every centroid of a centroid-based run."""
    model, pre = _stored(con, run_id)
    labels = {
        int(k): str(v)
        for k, v in con.execute(
            "SELECT label, name FROM segments WHERE run_id = ?", [run_id]
        ).fetchall()
    }
    if isinstance(model.get("space"), dict) and isinstance(model.get("model"), dict):
        return _explain_deployed(con, model, person, labels)
    names, centroids = model.get("features"), model.get("centroids")
    if (
        not isinstance(names, list)
        or not isinstance(centroids, list)
        or any(k not in pre for k in ("imputation", "mean", "scale"))
    ):
        return _unexplained(run_id, model)
    raw = _features(con, person, names)
    point = [transform(n, raw.get(n), pre) for n in names]
    result = _distances(point, centroids, labels)
    own = centroids[label] if 0 <= label < len(centroids) else centroids[result["nearest_label"]]
    gaps = sorted(
        ((abs(x - c), n) for x, c, n in zip(point, own, names, strict=True)), reverse=True
    )
    result["features"] = {n: raw.get(n) for n in names}
    result["farthest_from_centroid"] = [
        {"feature": n, "standardised_gap": round(g, 3)} for g, n in gaps[:TOP_FEATURES]
    ]
    return result


def _unexplained(run_id: str, model: dict[str, Any]) -> dict[str, Any]:
    kind = model.get("type", "?")
    return {
        "explanation": f"run {run_id} ({kind}) has no centroids to measure against; "
        "only its stored score is known"
    }


def _distances(
    point: list[float], centroids: list[list[float]], labels: dict[int, str]
) -> dict[str, Any]:
    distances = [math.dist(point, centre) for centre in centroids]
    nearest = min(range(len(distances)), key=distances.__getitem__)
    return {
        "nearest_label": nearest,
        "nearest_segment": labels.get(nearest),
        "distances": [
            {"label": i, "segment": labels.get(i), "distance": round(d, 4)}
            for i, d in enumerate(distances)
        ],
    }


def _explain_deployed(
    con: duckdb.DuckDBPyConnection, model: dict[str, Any], person: str, labels: dict[int, str]
) -> dict[str, Any]:
    """A run that stores its deployed assigner (feature space + model): its own transform."""
    from audience.segmentation.assign import SegmentAssigner  # the run's published deploy API

    centroids = model["model"].get("centroids") or model["model"].get("means")
    if not isinstance(centroids, list):
        return _unexplained(str(model.get("type")), model)
    assigner = SegmentAssigner.from_json(model)
    names = assigner.features or [str(n) for n in model.get("features", [])]
    raw = _features(con, person, names)
    point = [float(x) for x in assigner.embed_one(raw)[0]]
    result = _distances(point, centroids, labels)
    result["features"] = {n: raw.get(n) for n in names}
    result["space"] = "the run's clustering space (imputed, logged, clipped, scaled, PCA)"
    return result


def _features(con: duckdb.DuckDBPyConnection, person: str, names: list[str]) -> dict[str, Any]:
    present = [n for n in names if n in feature_columns(con)]
    if not present:
        return {}
    columns = ", ".join(f'"{n}"::DOUBLE' for n in present)
    rows = con.execute(f"SELECT {columns} FROM features WHERE customer_id = ?", [person]).fetchall()
    return dict(zip(present, rows[0], strict=True)) if rows else {}


def transform(name: str, value: float | None, pre: dict[str, Any]) -> float:
    """One raw feature into the clustering space, as the run's preprocessing did it."""
    x = value if value is not None and not math.isnan(value) else pre["imputation"].get(name, 0.0)
    if name in pre.get("log_transformed", []):
        x = math.log1p(max(x, 0.0))
    scale = pre["scale"].get(name) or 1.0
    return float((x - pre["mean"].get(name, 0.0)) / scale)
