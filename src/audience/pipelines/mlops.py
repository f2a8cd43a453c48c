"""Tracking and the registry, composed: runs logged to MLflow, champions promoted and rolled
back, and batch and live assignment by the champion.

The warehouse keeps its own champion (:mod:`audience.mlops.registry`); with MLflow
configured, the ``champion`` alias of ``models:/<name>@champion`` is moved with it, and the
live path loads the model through that alias. Promoting a clustering run also re-assigns
every customer with it (open memberships), which is what batch activation and ``publish``
read.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from audience.mlops import registry
from audience.mlops.registry import SEGMENTS_MODEL, ChampionEntry, RunRef
from audience.mlops.tracking import (
    ModelLog,
    RunLog,
    SklearnModelLog,
    TrackedRun,
    TrackingTarget,
    champion_run_id,
    load_champion,
    log_run,
    model_version_of,
    quiet_mlflow,
    set_alias,
    skops_trusted_types,
    tracking_target,
)
from audience.segmentation.assign import SegmentAssigner, confidence
from audience.segmentation.labels import NOISE
from audience.segmentation.maps import NOISE_NAME
from audience.segmentation.matrix import load_matrix
from audience.segmentation.persist import write_memberships
from audience.segmentation.stored_runs import load_run
from audience.store.workspace import Workspace

if TYPE_CHECKING:
    from audience.predictive.churn import FittedChurn

INPUT_EXAMPLE_ROWS = 5


def tracking_for(ws: Workspace) -> TrackingTarget | None:
    """Where the workspace's runs are logged, or None (MLflow absent or tracking off)."""
    return tracking_target(ws.settings.mlflow, ws.root)


def numbers(values: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The finite numbers of a metrics document (MLflow metrics are floats)."""
    out: dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if np.isfinite(value):
            out[f"{prefix}{key}"] = float(value)
    return out


def track_segment_run(
    ws: Workspace,
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    report: Path | None = None,
    tags: dict[str, str] | None = None,
) -> TrackedRun | None:
    """Log a stored segmentation run to MLflow: parameters, metrics (silhouette,
    Davies-Bouldin, Calinski-Harabasz, stability, per-segment Jaccard), profiles, maps and
    report, and its model as a pyfunc (feature frame -> segment). None without tracking."""
    target = tracking_for(ws)
    if target is None:
        return None
    stored = load_run(con, run_id)
    row = con.execute("SELECT params FROM segment_runs WHERE run_id = ?", [run_id]).fetchone()
    params = json.loads(row[0]) if row else {}
    metrics = numbers(stored.metrics)
    jaccards = [s["stability"]["jaccard"] for s in stored.segments if s.get("stability")]
    jaccards = [j for j in jaccards if j is not None]
    for segment in stored.segments:
        value = (segment.get("stability") or {}).get("jaccard")
        if value is not None:
            metrics[f"jaccard_segment_{segment['label']}"] = float(value)
    if jaccards:
        metrics["jaccard_min"] = float(min(jaccards))
    with tempfile.TemporaryDirectory(prefix="audience-mlflow-") as tmp:
        folder = Path(tmp)
        profiles = folder / "profiles.json"
        profiles.write_text(json.dumps(stored.segments, indent=1, default=str), encoding="utf-8")
        artifacts = [profiles, *sorted(ws.reports_dir.glob(f"{run_id}-*.png"))]
        if report is not None:
            artifacts.append(report)
        model = _segments_model(
            con, stored.run_id, stored.method, stored.model, stored.segments, folder
        )
        log = RunLog(
            run_id=run_id,
            params={"method": stored.method, **params},
            metrics=metrics,
            tags={
                "audience.kind": "segmentation",
                "audience.method": stored.method,
                **(tags or {}),
            },
            artifacts=artifacts,
            model=model,
        )
        return log_run(target, log)


def _segments_model(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    method: str,
    model: dict[str, Any],
    segments: list[dict[str, Any]],
    folder: Path,
) -> ModelLog | None:
    """The pyfunc of a clustering run: its JSON document and the code that rebuilds it."""
    if method == "rfm" or "space" not in model:
        return None  # RFM assigns by quintiles of the whole base, not one customer at a time
    with quiet_mlflow():  # importing MLflow's pyfunc warns about its own type hints
        from audience.pipelines.pyfunc_models import (
            ENTRY_CODE,
            SegmentsModel,
            segments_document,
        )

    document = folder / "segments_model.json"
    named = [
        {"label": s["label"], "segment_id": s["segment_id"], "name": s["name"]} for s in segments
    ]
    document.write_text(segments_document(run_id, model, named), encoding="utf-8")
    code = folder / "segments_pyfunc.py"
    code.write_text(ENTRY_CODE, encoding="utf-8")
    _, raw = load_matrix(con, list(model["inputs"]))
    example = raw.reindex(columns=model["features"], fill_value=0.0).head(INPUT_EXAMPLE_ROWS)
    example = example.astype(float).reset_index(drop=True)
    pyfunc = SegmentsModel()
    pyfunc.load_document(json.loads(document.read_text(encoding="utf-8")))
    return ModelLog(
        registered_name=registry.model_name(method),
        code=code,
        artifacts={"run": document},
        input_example=example,
        output_example=pyfunc.predict(None, example),
    )


def track_prediction_run(
    ws: Workspace,
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    churn_model: FittedChurn | None = None,
) -> TrackedRun | None:
    """Log a CLV or churn run: parameters, metrics (AUC, Brier, log-likelihoods...), its
    fitted parameters as an artefact, and its model: CLV's rebuilt from the JSON, churn's
    (``churn_model``, the run's in-memory model: the warehouse does not keep it) in the
    sklearn flavour. None without tracking."""
    target = tracking_for(ws)
    if target is None:
        return None
    row = con.execute(
        "SELECT kind, params, model, metrics FROM prediction_runs WHERE run_id = ?", [run_id]
    ).fetchone()
    if row is None:
        return None
    kind, params, model, metrics = row
    with tempfile.TemporaryDirectory(prefix="audience-mlflow-") as tmp:
        fitted = Path(tmp) / f"{kind}_model.json"
        fitted.write_text(model, encoding="utf-8")
        flat = flatten(json.loads(metrics))
        options = json.loads(params)
        log = RunLog(
            run_id=run_id,
            params={"kind": kind, **options},
            metrics=numbers(flat),
            tags={"audience.kind": str(kind)},
            artifacts=[fitted],
            model=(
                _clv_model(ws, con, run_id, json.loads(model), options, Path(tmp))
                if kind == "clv"
                else _churn_model(churn_model)
            ),
        )
        return log_run(target, log)


def _clv_model(
    ws: Workspace,
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    model: dict[str, Any],
    options: dict[str, Any],
    folder: Path,
) -> ModelLog:
    """The pyfunc of a CLV run (purchase summaries -> CLV), rebuilt from its parameters."""
    from datetime import date

    from audience.predictive.purchases import customer_summary

    with quiet_mlflow():
        from audience.pipelines.pyfunc_models import CLV_ENTRY_CODE, ClvModel

    document = {"run_id": run_id, "model": model, "options": options}
    path = folder / "clv_model.json"
    path.write_text(json.dumps(document, default=str), encoding="utf-8")
    code = folder / "clv_pyfunc.py"
    code.write_text(CLV_ENTRY_CODE, encoding="utf-8")
    end = options.get("calibration_end")
    summary = customer_summary(
        con,
        ws.config.timezone,
        str(options["time_unit"]),
        date.fromisoformat(end) if end else None,
    )
    X = summary.X[:INPUT_EXAMPLE_ROWS]
    example = pd.DataFrame(
        {
            "frequency": X[:, 0],
            "recency": X[:, 1],
            "T": X[:, 2],
            "mean_spend": summary.mean_spend[:INPUT_EXAMPLE_ROWS],
            "spend_frequency": summary.spend_frequency[:INPUT_EXAMPLE_ROWS],
        }
    ).astype(float)
    pyfunc = ClvModel()
    pyfunc.load_document(document)
    return ModelLog(
        registered_name=registry.model_name("clv"),
        code=code,
        artifacts={"run": path},
        input_example=example,
        output_example=pyfunc.predict(None, example),
    )


def _churn_model(fitted: FittedChurn | None) -> SklearnModelLog | None:
    """The churn classifier as a skops file; its pyfunc gives ``predict_proba``: column 1 is
    the churn probability (classes 0 = bought again, 1 = churned)."""
    if fitted is None:
        return None  # a stored run: its model was not kept
    estimator = fitted.estimator
    return SklearnModelLog(
        registered_name=registry.model_name("churn"),
        estimator=estimator,
        input_example=fitted.example,
        output_example=estimator.predict_proba(fitted.example),
        trusted_types=skops_trusted_types(estimator),
        metadata={
            "output": "predict_proba: column 1 is the churn probability",
            "classes": ",".join(str(c) for c in estimator.classes_),
        },
    )


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@dataclass(frozen=True)
class Promotion:
    """A champion set: the run, and the MLflow model version aliased (None without MLflow)."""

    run: RunRef
    mlflow_version: str | None
    reassigned: int
    """Customers re-assigned by the new champion (0 for models other than clustering)."""


def promote_run(
    ws: Workspace,
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    reason: str = "",
    action: registry.Action = "promote",
) -> Promotion:
    """Make ``run_id`` its model's champion in MLflow (when configured) and the warehouse,
    then re-assign the customers with it. A run that does not exist is a
    :class:`~audience.errors.RegistryError`, and MLflow is asked before anything changes."""
    run = registry.find_run(con, run_id)
    version = _alias_in_mlflow(ws, con, run)
    registry.promote(con, run.run_id, ws.clock.now(), action, reason, version)
    return Promotion(run, version, assign_with(con, run, ws.clock.now()))


def _alias_in_mlflow(ws: Workspace, con: duckdb.DuckDBPyConnection, run: RunRef) -> str | None:
    target = tracking_for(ws)
    if target is None or run.kind == "rfm":
        return None  # a model logged without a pyfunc: the warehouse's champion only
    version = model_version_of(target, run.model, run.run_id)
    if version is None and run.kind == "churn":
        return None  # logged untracked: its model was not kept, it cannot be logged now
    if version is None:  # made before tracking was on: logged now
        tracked = (
            track_segment_run(ws, con, run.run_id)
            if run.model == SEGMENTS_MODEL
            else track_prediction_run(ws, con, run.run_id)
        )
        version = tracked.model_version if tracked else None
    if version is not None:
        set_alias(target, run.model, version, run.run_id)
    return version


def rollback_model(
    ws: Workspace, con: duckdb.DuckDBPyConnection, model: str = SEGMENTS_MODEL, reason: str = ""
) -> ChampionEntry:
    """Return the model to its previous champion, in MLflow and the warehouse."""
    entry = registry.rollback(con, model, ws.clock.now(), reason)
    target = tracking_for(ws)
    if target is not None and entry.mlflow_version is not None:
        set_alias(target, model, entry.mlflow_version, entry.run_id)
    assign_with(con, registry.find_run(con, entry.run_id), ws.clock.now())
    return entry


def assign_with(con: duckdb.DuckDBPyConnection, run: RunRef, now: datetime) -> int:
    """Batch assignment by a clustering run's stored model: every customer's open membership
    becomes the run's segment for today's features. Returns the customers assigned."""
    if run.model != SEGMENTS_MODEL or "space" not in run.model_json:
        return 0
    assigner = SegmentAssigner.from_json(run.model_json)
    ids, raw = load_matrix(con, list(run.model_json["inputs"]))
    frame = raw.reindex(columns=run.model_json["features"], fill_value=0.0)
    labels = assigner.predict(frame)
    noise = con.execute(
        "SELECT label FROM segments WHERE run_id = ? AND name = ?", [run.run_id, NOISE_NAME]
    ).fetchone()
    if noise is not None:
        labels = np.where(labels == NOISE, int(noise[0]), labels)
    scores = confidence(assigner.model, assigner.embed(frame))
    write_memberships(con, run.run_id, run.kind, ids, labels, scores, now)
    return len(labels)


def keep_champion(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime) -> str | None:
    """After a new run is stored: when its model has a promoted champion other than it, the
    champion keeps assigning (its memberships are written again) and its id is returned; the
    new run waits for ``audience model promote``. None when the new run is the one in use
    (no run was ever promoted: the latest run is deployed, as before registries)."""
    run = registry.find_run(con, run_id)
    entry = registry.champion(con, run.model)
    if entry is None or entry.run_id == run_id:
        return None
    assign_with(con, registry.find_run(con, entry.run_id), now)
    return entry.run_id


def champion_assigner(
    ws: Workspace, con: duckdb.DuckDBPyConnection
) -> tuple[SegmentAssigner, str] | None:
    """The clustering champion's assigner and run id: loaded from
    ``models:/audience-segments@champion`` when MLflow is configured and the alias names a
    run of this workspace (a tracking server may serve several), else from the warehouse's
    champion (or latest run). None when there is no model."""
    target = tracking_for(ws)
    aliased = champion_run_id(target, SEGMENTS_MODEL) if target is not None else None
    if target is not None and aliased is not None and _stored(con, aliased):
        model = load_champion(target, SEGMENTS_MODEL).unwrap_python_model()
        return model.assigner, model.run_id
    run = registry.champion_run(con, SEGMENTS_MODEL)
    if run is None or "space" not in run.model_json:
        return None
    return SegmentAssigner.from_json(run.model_json), run.run_id


def _stored(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    return con.execute(
        "SELECT count(*) FROM segment_runs WHERE run_id = ?", [run_id]
    ).fetchone() == (1,)
