"""Recalibration: refit, compare with the champion, promote only when the rule holds, and
record why.

The comparison puts the candidate's metrics (silhouette, Davies-Bouldin,
Calinski-Harabasz, refit stability, per-segment Jaccard) beside the champion's, and adds the
adjusted Rand index between the champion's assignment of today's customers and the
candidate's. The promotion rule (:mod:`audience.mlops.promote_rule`) reads them. A candidate
that is not promoted stays a stored run; the champion keeps assigning (its memberships are
written again). Every decision is a row of ``recalibrations`` (and tags on the MLflow run).
"""

from __future__ import annotations

import json
import math
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

from audience.errors import InputError, TrackingUnavailableError
from audience.mlops import registry
from audience.mlops.promote_rule import DEFAULT_RULE, evaluate_rule, parse_rule
from audience.mlops.registry import SEGMENTS_MODEL, RunRef
from audience.model.runs import SegmentRun
from audience.pipelines.mlops import assign_with, promote_run, track_segment_run
from audience.pipelines.segment_run import run_segmentation
from audience.segmentation.assign import SegmentAssigner
from audience.segmentation.matrix import load_matrix
from audience.store.warehouse import Warehouse
from audience.store.workspace import Workspace

COMPARED = ("silhouette", "davies_bouldin", "calinski_harabasz", "stability")


@dataclass
class Recalibration:
    """What one recalibration did and why."""

    champion_run: str | None
    candidate_run: str | None
    rule: str
    promoted: bool
    reason: str
    comparison: dict[str, float] = field(default_factory=dict)
    skipped: str | None = None
    """Why nothing was refitted (no drift, drift detection absent), else None."""
    tracking_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "champion_run": self.champion_run,
            "candidate_run": self.candidate_run,
            "rule": self.rule,
            "promoted": self.promoted,
            "reason": self.reason,
            "comparison": {k: (None if math.isnan(v) else v) for k, v in self.comparison.items()},
            "skipped": self.skipped,
            "tracking_error": self.tracking_error,
        }


def _segment_values(metrics: dict[str, Any], jaccards: list[float | None]) -> dict[str, float]:
    values = {name: float(metrics.get(name, math.nan)) for name in COMPARED}
    known = [j for j in jaccards if j is not None]
    values["jaccard_min"] = min(known) if known else math.nan
    values["jaccard_mean"] = float(np.mean(known)) if known else math.nan
    return values


def _champion_values(con: Any, champion: RunRef) -> dict[str, float]:
    profiles = [
        json.loads(r[0])
        for r in con.execute(
            "SELECT profile FROM segments WHERE run_id = ?", [champion.run_id]
        ).fetchall()
    ]
    jaccards = [(p.get("stability") or {}).get("jaccard") for p in profiles]
    values = _segment_values(champion.metrics, jaccards)
    values["k"] = float(len(profiles))
    return values


def _champion_labels(con: Any, champion: RunRef) -> np.ndarray:
    """The champion's assignment of today's customers (ordered by customer id)."""
    model = champion.model_json
    _, raw = load_matrix(con, list(model["inputs"]))
    return SegmentAssigner.from_json(model).predict(
        raw.reindex(columns=model["features"], fill_value=0.0)
    )


def compare(con: Any, champion: RunRef, candidate: SegmentRun) -> dict[str, float]:
    """The candidate's metrics, the champion's (``champion.<name>``), and ``ari``."""
    values = _segment_values(candidate.metrics, [s.jaccard for s in candidate.segments])
    values["k"] = float(len(candidate.segments))
    old = _champion_labels(con, champion)
    values["ari"] = float(adjusted_rand_score(old, candidate.labels))
    for name, value in _champion_values(con, champion).items():
        values[f"champion.{name}"] = value
    return {k: round(v, 6) if not math.isnan(v) else v for k, v in values.items()}


def _specification(con: Any, champion: RunRef) -> tuple[int | None, tuple[int, int] | None]:
    """The champion's own k (or range of k): a recalibration refits the same model on
    today's data, it does not choose another one."""
    row = con.execute("SELECT params FROM segment_runs WHERE run_id = ?", [champion.run_id])
    params = json.loads(row.fetchone()[0])
    k = params.get("k")
    k_range = params.get("k_range")
    return (
        int(k) if k else None,
        (int(k_range[0]), int(k_range[1])) if k_range and not k else None,
    )


def drift_says_refit(ws: Workspace) -> str | None:
    """None when the champion's data drifted (refit), else why not to refit."""
    from audience.pipelines.drift import drift_report  # heavy: only with --if-drift

    report = drift_report(ws, "champion")
    if report.drift.dataset_drift:
        return None
    return "no dataset drift against the champion; nothing refitted"


def recalibrate(ws: Workspace, rule: str = DEFAULT_RULE, if_drift: bool = False) -> Recalibration:
    """Refit the clustering model, compare it with the champion, promote when ``rule`` holds."""
    parse_rule(rule)  # a bad rule fails before any refit
    if if_drift:
        reason = drift_says_refit(ws)
        if reason is not None:
            return Recalibration(None, None, rule, False, reason, skipped=reason)
    now = ws.clock.now()
    with ws.warehouse() as warehouse:
        with warehouse.transaction() as con:
            champion = registry.champion_run(con, SEGMENTS_MODEL)
            if champion is None or "space" not in champion.model_json:
                raise InputError(
                    "no clustering champion to recalibrate; run 'audience segment' (and "
                    "'audience model promote RUN') first"
                )
            if registry.champion(con, SEGMENTS_MODEL) is None:
                # The latest run was deployed implicitly; pinned, so the refit (now the latest
                # run) does not replace it unless the rule says so.
                registry.promote(
                    con, champion.run_id, now, reason="deployed when recalibration started"
                )
            k, k_range = _specification(con, champion)
            candidate = run_segmentation(
                con, ws.config, k=k, method=champion.kind, k_range=k_range, clock=ws.clock
            )
            comparison = compare(con, champion, candidate)
            verdict = evaluate_rule(rule, comparison)
            reason = verdict.explain()
            if not verdict.holds:
                assign_with(con, champion, now)  # the champion keeps assigning
            con.execute(
                "INSERT INTO recalibrations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    now,
                    SEGMENTS_MODEL,
                    champion.run_id,
                    candidate.run_id,
                    rule,
                    verdict.holds,
                    reason,
                    json.dumps({k: None if math.isnan(v) else v for k, v in comparison.items()}),
                ],
            )
        result = Recalibration(
            champion.run_id, candidate.run_id, rule, verdict.holds, reason, comparison
        )
        _track_and_promote(ws, warehouse, result)
    return result


def _track_and_promote(ws: Workspace, warehouse: Warehouse, result: Recalibration) -> None:
    """Log the candidate (tagged with the decision), and promote it when the rule held; the
    warehouse decides even when MLflow does not answer, and the result says so."""
    assert result.candidate_run is not None
    tags = {
        "audience.recalibration.promoted": str(result.promoted).lower(),
        "audience.recalibration.rule": result.rule,
        "audience.recalibration.reason": result.reason[:5000],
        "audience.recalibration.champion": result.champion_run or "",
    }
    try:
        track_segment_run(ws, warehouse.con, result.candidate_run, tags=tags)
    except TrackingUnavailableError as exc:
        result.tracking_error = str(exc)
    if not result.promoted:
        return
    with warehouse.transaction() as con:
        if result.tracking_error is None:
            try:
                promote_run(ws, con, result.candidate_run, result.reason, "recalibrate")
                return
            except TrackingUnavailableError as exc:  # asked before anything was written
                result.tracking_error = str(exc)
        registry.promote(con, result.candidate_run, ws.clock.now(), "recalibrate", result.reason)
        assign_with(con, registry.find_run(con, result.candidate_run), ws.clock.now())


_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_interval(text: str) -> float:
    """'30d' -> seconds (s, m, h, d, w)."""
    match = _INTERVAL.match(text)
    if not match or float(match.group(1)) <= 0:
        raise InputError(f"--every {text!r}: expected a number and a unit, e.g. 30d, 12h or 90m")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def run_every(
    interval: float,
    once: Callable[[], Recalibration],
    sleep: Callable[[float], None],
    on_result: Callable[[Recalibration], None] = lambda _: None,
    iterations: int | None = None,
) -> int:
    """Recalibrate, wait ``interval`` seconds, again, for ever (or ``iterations`` times, for
    tests); ``sleep`` is injected so that tests run at once. Returns the rounds run."""
    done = 0
    while iterations is None or done < iterations:
        on_result(once())
        done += 1
        if iterations is None or done < iterations:
            sleep(interval)
    return done


_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z]+$")


def _audience_command() -> list[str]:
    """The ``audience`` console script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("audience")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "audience.cli"]


def crontab_line(schedule: str, root: Path, rule: str, if_drift: bool = False) -> str:
    """The crontab line that runs ``audience recalibrate`` on ``schedule`` (5 fields)."""
    fields = schedule.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise InputError(
            f"--cron {schedule!r}: expected 5 fields (minute hour day month weekday), "
            "e.g. '0 3 1 * *' for 03:00 on the first of each month"
        )
    command = [
        *_audience_command(),
        "recalibrate",
        "--workspace",
        str(root),
        "--promote-if",
        rule,
    ]
    if if_drift:
        command.append("--if-drift")
    line = " ".join(shlex.quote(part) for part in command).replace("%", "\\%")
    log = shlex.quote(str(root / "recalibrate.log"))
    return f"{' '.join(fields)} {line} >> {log} 2>&1"
