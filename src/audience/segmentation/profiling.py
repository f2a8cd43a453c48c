"""What each segment looks like, and the name its signature earns.

A segment's *signature* is the z-score of its mean on every feature, in the space the
clusters were found in (population mean 0, spread 1). A name from the catalogue in
``audience.yaml`` fits a segment by the mean of its signed z-scores over the features the
name cares about ('high' counts +z, 'low' counts -z); a name whose features the run did not
use cannot be given. That is relative evidence; a name also needs absolute evidence, its
thresholds on the segment's medians and lifts (``median_at_most``, ``median_at_least``,
``lift_above``: "Champions" only when their median recency is at most 90 days, "At-risk high
spenders" only when they spend more than the average customer), and a name whose threshold
feature the run did not profile cannot be given either. Names are matched one-to-one so that
the sum of fits is the highest (Hungarian algorithm); a segment whose best fit is weak gets a
plain-language name from its two most distinctive features instead
(:mod:`audience.segmentation.plain_names`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from audience.config import SegmentName
from audience.model.runs import SegmentProfile
from audience.segmentation.plain_names import plain_description, plain_name

MIN_NAME_FIT = 0.35


def profile_segments(
    raw: pd.DataFrame, transformed: NDArray[np.float64], labels: NDArray[np.int64]
) -> list[SegmentProfile]:
    """Profiles of every label; ``transformed`` columns align with ``raw`` columns."""
    population_mean = raw.mean(skipna=True)
    t_mean = transformed.mean(axis=0)
    t_std = transformed.std(axis=0)
    t_std[t_std == 0] = 1.0
    profiles = []
    n = len(labels)
    for label in range(int(labels.max()) + 1):
        members = labels == label
        part = raw[members]
        z = (transformed[members].mean(axis=0) - t_mean) / t_std
        features: dict[str, dict[str, float | None]] = {}
        for j, name in enumerate(raw.columns):
            mean = part[name].mean(skipna=True)
            pop = population_mean[name]
            features[name] = {
                "mean": _num(mean),
                "median": _num(part[name].median(skipna=True)),
                "z": _num(z[j]),
                "lift": _num(mean / pop) if pop and not np.isnan(pop) else None,
            }
        size = int(members.sum())
        profiles.append(SegmentProfile(label, size, size / n, features))
    return profiles


def _num(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    result = float(value)
    return None if np.isnan(result) else round(result, 4)


def name_fit(signature: dict[str, float], rule: SegmentName) -> float | None:
    """Mean signed z-score of the rule's features; None unless the run has them all."""
    if not rule.when or any(feature not in signature for feature in rule.when):
        return None
    scores = [
        signature[feature] * (1 if direction == "high" else -1)
        for feature, direction in rule.when.items()
    ]
    return float(np.mean(scores))


def absolute_evidence(profile: SegmentProfile, rule: SegmentName) -> bool:
    """Whether the segment's medians and lifts pass the rule's thresholds (all of them)."""
    checks: list[tuple[float | None, float, int]] = [  # value, threshold, sign of the gap
        *((_stat(profile, f, "median"), t, -1) for f, t in rule.median_at_most.items()),
        *((_stat(profile, f, "median"), t, 1) for f, t in rule.median_at_least.items()),
    ]
    lifts = [(_stat(profile, f, "lift"), t) for f, t in rule.lift_above.items()]
    return all(v is not None and sign * (v - t) >= 0 for v, t, sign in checks) and all(
        v is not None and v > t for v, t in lifts
    )


def _stat(profile: SegmentProfile, feature: str, key: str) -> float | None:
    value = profile.features.get(feature, {}).get(key)
    return None if value is None else float(value)


def name_segments(profiles: list[SegmentProfile], catalogue: list[SegmentName]) -> None:
    """Give each profile a distinct name (in place)."""
    if not profiles:
        return
    fits = np.full((len(profiles), max(len(catalogue), 1)), -np.inf)
    for i, profile in enumerate(profiles):
        signature = profile.signature()
        for k, rule in enumerate(catalogue):
            fit = name_fit(signature, rule)
            if fit is not None and absolute_evidence(profile, rule):
                fits[i, k] = fit
    rows, cols = linear_sum_assignment(np.where(np.isfinite(fits), -fits, 1e6))
    chosen = dict(zip(rows.tolist(), cols.tolist(), strict=True))
    used: set[str] = set()
    for i, profile in enumerate(profiles):
        j: int | None = chosen.get(i)
        if j is not None and j < len(catalogue) and fits[i, j] >= MIN_NAME_FIT:
            profile.name = catalogue[j].name
            profile.description = catalogue[j].description
            profile.name_fit = round(float(fits[i, j]), 3)
        else:
            profile.name = plain_name(profile)
            profile.description = plain_description(profile)
        while profile.name in used:
            profile.name += f" ({profile.label})"
        used.add(profile.name)
