"""Segments matched across runs, so that ids and names survive a refit.

Two runs of the same data label their segments in any order: cluster 2 of the champion may
be cluster 0 of the refit. Each pair of segments is scored by the Jaccard overlap of their
members (customers in both / customers in either), and the Hungarian method
(:func:`scipy.optimize.linear_sum_assignment`) picks the one-to-one pairing with the largest
total overlap. A pair below ``min_jaccard`` is no match: that new segment is new, and that
old one has dissolved.

The transition matrix of two runs is the same member count, shown as it is (rows: the
earlier run's segments, columns: the later run's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

MIN_JACCARD = 0.5
"""Smallest member overlap for two segments of consecutive runs to count as the same one."""


@dataclass(frozen=True)
class SegmentMatch:
    """A segment of the new run and the one of the earlier run it continues."""

    new_label: int
    old_label: int
    jaccard: float


@dataclass(frozen=True)
class Transitions:
    """Customers per (earlier segment, later segment); rows and columns in label order."""

    old_names: list[str]
    new_names: list[str]
    counts: NDArray[np.int64]

    def shares(self) -> NDArray[np.float64]:
        """Each row as shares of the earlier segment's customers (0 for an empty row)."""
        totals = self.counts.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            result: NDArray[np.float64] = np.where(totals > 0, self.counts / totals, 0.0)
        return result

    def to_dict(self) -> dict[str, object]:
        return {"from": self.old_names, "to": self.new_names, "counts": self.counts.tolist()}


def contingency(old: NDArray[np.int64], new: NDArray[np.int64]) -> NDArray[np.int64]:
    """Member counts per (old label, new label) of two labellings of the same customers."""
    old, new = np.asarray(old, dtype=np.int64), np.asarray(new, dtype=np.int64)
    k_old = int(old.max()) + 1 if len(old) else 0
    k_new = int(new.max()) + 1 if len(new) else 0
    counts = np.bincount(old * k_new + new, minlength=k_old * k_new)
    return counts.reshape(k_old, k_new).astype(np.int64)


def overlap_jaccard(
    counts: NDArray[np.int64],
    old_sizes: NDArray[np.int64] | None = None,
    new_sizes: NDArray[np.int64] | None = None,
) -> NDArray[np.float64]:
    """Jaccard of every (old, new) pair from the shared member counts.

    The sizes default to the margins of ``counts``; pass the runs' own sizes when some
    customers are in one run only (new customers, erased ones) so that they count too.
    """
    a = counts.sum(axis=1) if old_sizes is None else np.asarray(old_sizes)
    b = counts.sum(axis=0) if new_sizes is None else np.asarray(new_sizes)
    union = a[:, None] + b[None, :] - counts
    with np.errstate(divide="ignore", invalid="ignore"):
        result: NDArray[np.float64] = np.where(union > 0, counts / union, 0.0)
    return result


def match_segments(
    counts: NDArray[np.int64],
    min_jaccard: float = MIN_JACCARD,
    old_sizes: NDArray[np.int64] | None = None,
    new_sizes: NDArray[np.int64] | None = None,
) -> list[SegmentMatch]:
    """The one-to-one pairing of old and new segments with the largest total overlap, pairs
    under ``min_jaccard`` left out; sorted by new label."""
    if counts.size == 0:
        return []
    jaccard = overlap_jaccard(counts, old_sizes, new_sizes)
    rows, cols = linear_sum_assignment(jaccard, maximize=True)
    return sorted(
        (
            SegmentMatch(int(c), int(r), round(float(jaccard[r, c]), 4))
            for r, c in zip(rows, cols, strict=True)
            if jaccard[r, c] >= min_jaccard
        ),
        key=lambda m: m.new_label,
    )


def carry_names(
    new_names: list[str], old_names: list[str], matches: list[SegmentMatch]
) -> list[str]:
    """The new run's names, each matched segment taking its predecessor's name.

    An unmatched segment keeps the name it was given; if that name is now taken by a matched
    segment, it gets a number (``Big spenders 2``) so that names stay unique in the run.
    """
    names = list(new_names)
    for match in matches:
        names[match.new_label] = old_names[match.old_label]
    inherited = {names[m.new_label] for m in matches}
    matched = {m.new_label for m in matches}
    for label, name in enumerate(names):
        if label in matched or name not in inherited:
            continue
        n = 2
        while f"{name} {n}" in names:
            n += 1
        names[label] = f"{name} {n}"
    return names
