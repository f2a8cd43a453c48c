"""Rule segments on the live path: evaluate one profile as the batch engine would.

Stable surface for the real-time consumer::

    evaluator = LiveEvaluator(load_activation(root))        # or a list of definitions
    traces = evaluator.evaluate(profile, now)                # {segment_id: Trace}
    ids = evaluator.matches(profile, now)                    # fast path, no traces

A live profile is one flat mapping; a key it lacks (or holds None, NaN, or a value of the wrong
type) is a *missing* value, and any comparison on a missing value is false (see
:mod:`audience.model.conditions`). What it must hold, for each kind of condition:

``field`` conditions
    the field under its catalogue name (:data:`audience.model.fields.FIELDS`), the same
    names as the warehouse columns: traits (``email``, ``city``, ``signup_at``...), features
    (``recency_days``, ``frequency``, ``monetary``...), predictive scores (``p_alive``,
    ``churn_probability``...), and the derived ``last_order_at`` / ``first_seen_at``.
    Numbers as int or float; timestamps as datetime (aware ones are converted to UTC; naive
    ones are taken as UTC) or ISO strings; dates as date; ``sources`` as a list of strings.
    :attr:`LiveEvaluator.required_fields` lists the fields the definitions use, with types.
    A custom trait ``traits.<name>`` is read from ``traits``, a mapping of trait name to
    JSON value (the live profile's identify traits): numbers as int or float, booleans as
    bool, dates as ``YYYY-MM-DD`` strings, categories and texts as strings; a value of
    another shape is missing, as in the warehouse.
event conditions (``performed`` / ``did_not_perform``)
    either ``events``: the person's events, each ``{"event": name, "timestamp": datetime or
    ISO string, "properties": dict}``, covering at least :attr:`LiveEvaluator.event_horizon`
    back from ``now`` (None: the whole history) -- only the names in
    :attr:`LiveEvaluator.event_names` are looked at; or ``event_counts``: a mapping from
    :func:`counter_key` of each :attr:`LiveEvaluator.counters` to the number of such events
    in the window at ``now``, for a consumer that keeps the counts itself. A count found in
    ``event_counts`` wins over counting ``events``.
``in_segment`` on a stored segment (cluster, RFM, predictive band)
    ``segments``: a collection of the ids *and/or* names of the segments the person is
    currently in. Rule segments referenced by ``in_segment`` are evaluated in the same call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from audience.model.activation_plan import ActivationPlan
from audience.model.conditions import EventCondition, EventCounter, FieldType, describe_event
from audience.model.rule_segment import SegmentDefinition, Trace
from audience.rules.compile_python import PythonRules, Values
from audience.store.clock import to_utc_naive


def counter_key(counter: EventCounter) -> str:
    """The key of a counter in a live profile's ``event_counts``: its readable description."""
    return describe_event(EventCondition(counter.event, 1, None, counter.within, counter.where))


class LiveEvaluator:
    """Evaluate every rule segment against one profile, with group priorities.

    Parameters
    ----------
    definitions:
        An :class:`ActivationPlan` or definitions in dependency order (as the plan holds them).
    """

    def __init__(self, definitions: ActivationPlan | Sequence[SegmentDefinition]) -> None:
        defs = definitions.definitions if isinstance(definitions, ActivationPlan) else definitions
        self.rules = PythonRules(defs)
        self._groups = [(i, d.group, d.rank) for i, d in enumerate(self.rules.definitions)]
        self._ids = [d.segment_id for d in self.rules.definitions]
        self._keys = {c: counter_key(c) for c in self.rules.counters}

    @property
    def required_fields(self) -> dict[str, FieldType]:
        """Profile keys the definitions test, with the type each must have."""
        return dict(self.rules.fields)

    @property
    def event_names(self) -> frozenset[str]:
        return self.rules.event_names

    @property
    def counters(self) -> list[EventCounter]:
        return list(self.rules.counters)

    @property
    def event_horizon(self) -> timedelta | None:
        """How far back events must go; None when a condition counts the whole history."""
        windows = [c.within for c in self.rules.counters]
        if any(w is None for w in windows):
            return None
        return max((w for w in windows if w is not None), default=timedelta(0))

    def _values(self, profile: Mapping[str, Any], now: datetime) -> Values:
        v = self.rules.values(profile, now)
        counts = profile.get("event_counts")
        if isinstance(counts, Mapping):
            for counter, key in self._keys.items():
                n = counts.get(key)
                if isinstance(n, int) and not isinstance(n, bool):
                    v[self.rules.counter_slots[counter]] = n
        return v

    def _assigned(self, hits: list[bool]) -> list[int]:
        best: dict[str, tuple[int, int]] = {}
        kept = []
        for i, group, rank in self._groups:
            if not hits[i]:
                continue
            if group is None:
                kept.append(i)
            elif group not in best or rank < best[group][0]:
                best[group] = (rank, i)
        return sorted(kept + [i for _, i in best.values()])

    def matches(self, profile: Mapping[str, Any], now: datetime) -> list[str]:
        """Ids of the segments the profile is in at ``now`` (after group priorities)."""
        now = to_utc_naive(now)
        v = self._values(profile, now)
        return [self._ids[i] for i in self._assigned(self.rules.run(v, now))]

    def evaluate(self, profile: Mapping[str, Any], now: datetime) -> dict[str, Trace]:
        """Segment id -> :class:`Trace` for every segment the profile is in at ``now``."""
        now = to_utc_naive(now)
        v = self._values(profile, now)
        chosen = self._assigned(self.rules.run(v, now))
        return {self._ids[i]: self.rules.trace(i, v, now) for i in chosen}
