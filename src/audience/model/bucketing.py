"""Deterministic buckets: which variant a person gets, the same in batch, live and over HTTP.

A person's bucket is a number in [0, 1) that depends only on a salt and her id:

    bucket(salt, id) = first 4 bytes of sha256(utf8(salt + ":" + id)), big-endian, / 2**32

SHA-256 rather than GrowthBook's FNV-1a: DuckDB ships ``sha256()`` as a standard function
whose output is fixed by the standard, so the warehouse computes exactly the same number as
Python for millions of rows in one query (DuckDB's own ``hash()`` changes between versions).
A 32-bit integer divided by 2**32 is exact in a double on both sides, so every comparison
with a threshold gives the same answer in SQL and in Python (tests check it row by row).

An experiment (:class:`Allocation`) first takes a range of its namespace (two experiments of
one namespace take disjoint ranges, so never share a person), then a holdout, then the
variants by weight. Each decision uses its own salt, so they are independent, and none depends
on who else is in the segment: a person keeps her variant when the segment grows.

This module is in the core because the experiments stage (batch), the realtime stage (live
profiles) and the API (HTTP) must all run the very same function, and stages never import
each other.

Examples
--------
>>> bucket("s", "42") == bucket("s", "42")
True
>>> a = Allocation("exp", "seg", "exp", "exp", 0.0, 1.0, 0.0, (("control", 0.5), ("b", 0.5)))
>>> a.assign("42") in ("control", "b")
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

HOLDOUT = "holdout"
"""What :meth:`Allocation.assign` returns for a person kept in the experiment's holdout."""

_SCALE = 2**32


def bucket(salt: str, unit: str) -> float:
    """The bucket in [0, 1) of ``unit`` (a person id) under ``salt``."""
    digest = hashlib.sha256(f"{salt}:{unit}".encode()).hexdigest()
    return int(digest[:8], 16) / _SCALE


def bucket_sql(salt_sql: str, unit_sql: str) -> str:
    """The same bucket as :func:`bucket`, as a DuckDB expression of two VARCHAR expressions."""
    return (
        f"(('0x' || substr(sha256(({salt_sql}) || ':' || ({unit_sql})), 1, 8))::UBIGINT"
        f" / {_SCALE}.0)"
    )


def _text(value: str) -> str:
    # The core's model layer sits below the store, so it quotes its own (few) literals.
    return "'" + value.replace("'", "''") + "'"


def _double(value: float) -> str:
    # A string cast to DOUBLE is parsed exactly (a bare 0.3 would be a DECIMAL first).
    return f"'{value!r}'::DOUBLE"


def namespace_salt(namespace: str) -> str:
    return f"namespace:{namespace}"


def holdout_salt(segment_id: str) -> str:
    return f"holdout:{segment_id}"


def in_segment_holdout(segment_id: str, unit: str, fraction: float) -> bool:
    """Whether a member of ``segment_id`` is in its holdout of ``fraction`` (0-1)."""
    return bucket(holdout_salt(segment_id), unit) < fraction


def segment_holdout_sql(segment_id_sql: str, unit_sql: str, fraction_sql: str) -> str:
    """:func:`in_segment_holdout` as a SQL boolean expression."""
    salt = f"'holdout:' || ({segment_id_sql})"
    return f"({bucket_sql(salt, unit_sql)} < ({fraction_sql}))"


@dataclass(frozen=True)
class Allocation:
    """How an experiment splits the persons of its segment.

    Parameters
    ----------
    name, segment_id:
        The experiment and the segment it randomises.
    salt:
        Salt of the variant bucket (default: the experiment's name).
    namespace, range_start, range_end:
        The experiment takes persons whose namespace bucket is in [start, end).
    holdout:
        Share (0-1) of the persons in range kept out of every variant.
    variants:
        (name, weight) in order, control first; weights are shares summing to 1.
    """

    name: str
    segment_id: str
    salt: str
    namespace: str
    range_start: float
    range_end: float
    holdout: float
    variants: tuple[tuple[str, float], ...]

    def thresholds(self) -> list[tuple[str, float]]:
        """Upper bucket bound of the holdout and each variant; the last is 1.0 exactly."""
        bounds = [(HOLDOUT, self.holdout)] if self.holdout > 0 else []
        cumulative = 0.0
        for name, weight in self.variants:
            cumulative += weight
            bounds.append((name, self.holdout + (1.0 - self.holdout) * cumulative))
        bounds[-1] = (bounds[-1][0], 1.0)
        return bounds

    def in_range(self, unit: str) -> bool:
        b = bucket(namespace_salt(self.namespace), unit)
        return self.range_start <= b < self.range_end

    def assign(self, unit: str) -> str | None:
        """The variant of ``unit``, :data:`HOLDOUT`, or None outside the experiment's range."""
        if not self.in_range(unit):
            return None
        b = bucket(self.salt, unit)
        for name, upper in self.thresholds():
            if b < upper:
                return name
        return self.variants[-1][0]  # unreachable: the last bound is 1.0 and b < 1

    def assign_sql(self, unit_sql: str) -> str:
        """:meth:`assign` as a SQL CASE expression over a VARCHAR id expression."""
        ns = bucket_sql(_text(namespace_salt(self.namespace)), unit_sql)
        b = bucket_sql(_text(self.salt), unit_sql)
        arms = " ".join(
            f"WHEN {b} < {_double(upper)} THEN {_text(name)}" for name, upper in self.thresholds()
        )
        return (
            f"CASE WHEN NOT ({ns} >= {_double(self.range_start)} AND "
            f"{ns} < {_double(self.range_end)}) THEN NULL {arms} "
            f"ELSE {_text(self.variants[-1][0])} END"
        )
