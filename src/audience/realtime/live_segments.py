"""How the consumer meets segments: the evaluator, the deployed model, and the change sink.

The consumer depends on three small protocols, so that the rule engine
(``audience.rules.live_evaluator.LiveEvaluator``) and its destinations plug in unchanged:

* :class:`SegmentEvaluator` ``evaluate(profile, now) -> {segment_id: why}``: the segments the
  profile (:func:`audience.realtime.live_profile.view`) is in, each with its explanation;
* :class:`ModelAssigner` ``predict_one(features) -> label`` (River's shape): the deployed
  clustering model, on the features named as in batch;
* :class:`ChangeSink` ``emit(change)``: delivers ``segment.entered`` / ``segment.exited``.

The defaults here are real: rules as Python predicates, a nearest-centroid model, and a sink
appending each change to a JSON Lines file with the time it was emitted.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import orjson

from audience.realtime.events import iso
from audience.store.clock import SYSTEM_CLOCK, Clock


class SegmentEvaluator(Protocol):
    def evaluate(self, profile: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        """Segment id -> why (JSON-able), for every segment the profile is in now."""
        ...


class ModelAssigner(Protocol):
    def predict_one(self, features: Mapping[str, float | None]) -> int:
        """The segment label of one profile's features."""
        ...


class ChangeSink(Protocol):
    async def emit(self, change: Mapping[str, Any]) -> None:
        """Deliver one change (at least once: ``change["id"]`` is stable across retries)."""
        ...


@dataclass(frozen=True)
class PredicateRule:
    """A segment whose membership is a Python predicate over the profile view."""

    segment_id: str
    predicate: Callable[[Mapping[str, Any]], bool]
    why: str


class PredicateEvaluator:
    """Evaluates a list of :class:`PredicateRule`; a rule that raises does not match."""

    def __init__(self, rules: Sequence[PredicateRule] = ()) -> None:
        self.rules = list(rules)

    @property
    def segment_ids(self) -> frozenset[str]:
        """The segments this evaluator decides (a published membership of one is not sticky)."""
        return frozenset(rule.segment_id for rule in self.rules)

    def evaluate(self, profile: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        matched: dict[str, Any] = {}
        for rule in self.rules:
            try:
                inside = bool(rule.predicate(profile))
            except (KeyError, TypeError, ValueError, ArithmeticError):
                inside = False  # a profile lacking a field is simply not in the segment
            if inside:
                matched[rule.segment_id] = rule.why
        return matched


class CentroidAssigner:
    """Nearest centroid over standardised raw features: the plainest deployed model.

    Parameters
    ----------
    features:
        Feature names, in the centroids' column order.
    centroids:
        One row per segment label, in raw units.
    scale:
        Spread of each feature; distances are measured in these units. A missing feature
        counts as the feature's mean over the centroids, so it pulls towards no segment.
    """

    def __init__(
        self,
        features: Sequence[str],
        centroids: Sequence[Sequence[float]],
        scale: Sequence[float] | None = None,
    ) -> None:
        self.features = list(features)
        self.centroids = [list(row) for row in centroids]
        self.scale = list(scale) if scale is not None else [1.0] * len(self.features)

    def predict_one(self, features: Mapping[str, float | None]) -> int:
        means = [sum(col) / len(col) for col in zip(*self.centroids, strict=True)]
        row = [
            means[i] if features.get(name) is None else float(features[name] or 0.0)
            for i, name in enumerate(self.features)
        ]
        distances = [
            math.fsum(((x - c) / s) ** 2 for x, c, s in zip(row, centre, self.scale, strict=True))
            for centre in self.centroids
        ]
        return min(range(len(distances)), key=distances.__getitem__)


@runtime_checkable
class BatchChangeSink(ChangeSink, Protocol):
    """A sink that can also take many changes at once (the consumer's relay prefers it)."""

    async def emit_many(self, changes: Sequence[Mapping[str, Any]]) -> None:
        """Deliver ``changes`` in order; on failure, any of them may have been delivered."""
        ...


class JsonlChangeSink:
    """Appends every change, with ``emitted_at``, to a JSON Lines file.

    The file is opened for each call and closed at once, so that no handle outlives the
    sink whoever owns it (a collector, a worker, a fan-out), and an erasure that rewrites
    the file (renamed over it) is followed by the next call; :meth:`close` syncs it to
    disk. :meth:`emit_many` writes a whole batch with one open and one write.
    """

    def __init__(self, path: Path, clock: Clock = SYSTEM_CLOCK) -> None:
        self.path = path
        self.clock = clock
        self._written = False

    async def emit(self, change: Mapping[str, Any]) -> None:
        await self.emit_many([change])

    async def emit_many(self, changes: Sequence[Mapping[str, Any]]) -> None:
        if not changes:
            return
        if not self._written:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        emitted_at = iso(self.clock.now())
        data = b"".join(orjson.dumps({**c, "emitted_at": emitted_at}) + b"\n" for c in changes)
        with self.path.open("ab") as handle:
            handle.write(data)
        self._written = True

    def close(self) -> None:
        if self._written:
            with self.path.open("ab") as handle:
                os.fsync(handle.fileno())
            self._written = False


def read_changes(path: Path) -> list[dict[str, Any]]:
    """The changes a :class:`JsonlChangeSink` wrote, in order."""
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
