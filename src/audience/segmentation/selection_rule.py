"""The rule that picks one candidate out of the selection table, stated once for code and report.

Kept apart from the fitting (:mod:`audience.segmentation.selection`) so that the rule can be
read, tested and changed on its own: it sees only the table and the per-customer silhouettes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from audience.errors import ModelError

TIE_Z = 2.0
"""Silhouettes closer than this many standard errors of their difference are tied."""

STRUCTURE_SILHOUETTE = 0.25
"""Below this mean silhouette no substantial structure has been found (Kaufman & Rousseeuw,
1990, "Finding Groups in Data", ch. 2: 0.26-0.50 weak, 0.51-0.70 reasonable, > 0.70 strong)."""

SELECTION_RULE = (
    "Every candidate -- a method and a number of segments k (DBSCAN and HDBSCAN find their own "
    "k) -- is fitted on the same random sample of customers and scored on it: silhouette (on a "
    "fixed sub-sample shared by all candidates, with its standard error), Davies-Bouldin, "
    "Calinski-Harabasz, the share of the smallest segment and of noise, and stability (mean "
    "adjusted Rand index between refits on 80% sub-samples). A candidate is admissible when it "
    "has at least 2 and at most max_segments segments (noise counts as one), its smallest "
    "segment holds at least min_share of the customers, and the density method left at most "
    "max_noise_share of them as noise. A useful candidate also finds at least min_useful_k "
    "segments (3 by default): the silhouette rewards cutting any elongated or skewed cloud "
    "in two (on a real order file it chose a 65/35 split of one-time against repeat buyers, "
    "which a marketer knows without a model), so fewer segments are reported, not chosen -- "
    "unless no useful candidate reaches a silhouette of "
    f"{STRUCTURE_SILHOUETTE:g} (Kaufman and Rousseeuw's 'no substantial structure'): then "
    "the data show no clear groups, a warning says so, and the fewest segments are chosen "
    "(usually 2: a split of a continuum is easier to read as two ranges than as many). When "
    "k is fixed, or k_range stops below min_useful_k, the asked k is obeyed. Among useful "
    "admissible candidates the highest silhouette leads; every candidate whose silhouette is "
    f"within {TIE_Z:g} standard errors of the "
    "leader's (standard error of the difference, paired on the same customers) is tied with "
    "it, and among tied candidates the most stable wins (then fewer segments, then the simpler "
    "method: kmeans, gmm, hierarchical, hdbscan, dbscan). Silhouette decides because it measures "
    "what a segment should be -- customers closer to their own segment than to the next one; "
    "stability settles what the silhouette cannot tell apart, because the segmentation that "
    "comes back on other customers is the one worth acting on. Davies-Bouldin and "
    "Calinski-Harabasz are reported, not used: on clear structure they agree with the "
    "silhouette, on unclear structure they lean towards many small or few large segments. The "
    "chosen method and k are then refitted on every customer. When no candidate is admissible, "
    "the highest silhouette is chosen and a warning says why none passed. Known limit: the "
    "silhouette prefers compact, round segments; elongated groups that a Gaussian mixture fits "
    "well can score lower than a cut across them, so read the table and force the method "
    "when the data are known to be shaped so; in one or two dimensions even structureless "
    f"data reach a silhouette of {STRUCTURE_SILHOUETTE:g}, so the no-structure test only "
    "speaks for spaces of three or more components; data made of exactly two groups get "
    "three segments (one group cut in two) unless k is fixed."
)


def choose(
    rows: list[dict[str, Any]],
    silhouettes: Sequence[NDArray[np.float64] | None],
    method_order: Sequence[str],
    min_useful_k: int = 2,
) -> dict[str, Any]:
    """Mark ``useful``, ``tied`` and ``chosen`` in every row of the table (in place); return
    the winner.

    ``silhouettes[i]`` holds row i's per-customer silhouettes on the shared customers, or
    None when that candidate found a single group. When every candidate was asked for a single
    segment (k=1), the most stable wins: there is nothing to separate.
    """
    rank = {method: r for r, method in enumerate(method_order)}
    if all(row["k"] == 1 for row in rows):
        winner = max(range(len(rows)), key=lambda i: _tie_break(rows[i], rank))
        for i, row in enumerate(rows):
            row.update(tied=True, chosen=i == winner)
        return rows[winner]
    pool = [i for i, row in enumerate(rows) if row["admissible"] and silhouettes[i] is not None]
    if not pool:
        pool = _fallback(rows, silhouettes)
    pool = _useful(rows, pool, min_useful_k)
    leader = max(pool, key=lambda i: float(rows[i]["silhouette"]))
    best = silhouettes[leader]
    assert best is not None  # the pool only holds candidates with silhouettes
    for i, row in enumerate(rows):
        values = silhouettes[i]
        gap, error = _paired_gap(best, values) if values is not None else (np.nan, np.nan)
        row["silhouette_gap"] = round(gap, 4)
        row["silhouette_gap_se"] = round(error, 4)
        row["tied"] = bool(i in pool and gap <= TIE_Z * error + 1e-12)
        row["chosen"] = False
    tied = [i for i in pool if rows[i]["tied"]]
    winner = max(tied, key=lambda i: _tie_break(rows[i], rank))
    rows[winner]["chosen"] = True
    return rows[winner]


def _found(row: dict[str, Any]) -> int:
    """Segments a candidate found, noise not counted."""
    return int(row["n_segments"]) - int(float(row.get("noise_share") or 0.0) > 0)


def _useful(rows: list[dict[str, Any]], pool: list[int], min_useful_k: int) -> list[int]:
    """The candidates the rule chooses among: those with at least ``min_useful_k`` segments
    when they show structure, else the ones with the fewest segments (with a warning)."""
    useful = [i for i in pool if _found(rows[i]) >= min_useful_k]
    for row in rows:
        row["useful"] = _found(row) >= min_useful_k
    if not useful or min_useful_k <= 2:
        return pool  # k fixed, k_range below min_useful_k, or the plain rule asked for
    best = max(float(rows[i]["silhouette"]) for i in useful)
    if best >= STRUCTURE_SILHOUETTE:
        return useful
    fewest = min(_found(rows[i]) for i in pool)
    warnings.warn(
        f"these customers show no clear groups: the best silhouette with {min_useful_k} or "
        f"more segments is {best:.2f}, under {STRUCTURE_SILHOUETTE:g}; {fewest} segments are "
        "chosen -- read them as ranges of one continuum, not as types of customers",
        UserWarning,
        stacklevel=4,
    )
    return [i for i in pool if _found(rows[i]) == fewest]


def _paired_gap(best: NDArray[np.float64], values: NDArray[np.float64]) -> tuple[float, float]:
    """Leader's mean silhouette minus this one's, and the standard error of that difference."""
    difference = best - values
    error = difference.std(ddof=1) / np.sqrt(len(difference)) if len(difference) > 1 else 0.0
    return float(difference.mean()), float(error)


def _tie_break(row: dict[str, Any], rank: dict[str, int]) -> tuple[float, int, int]:
    stability = row.get("stability")
    stable = float(stability) if stability is not None and np.isfinite(stability) else -np.inf
    return stable, -int(row["n_segments"]), -rank.get(str(row["method"]), len(rank))


def _fallback(
    rows: list[dict[str, Any]], silhouettes: Sequence[NDArray[np.float64] | None]
) -> list[int]:
    """Candidates to choose from when none is admissible, with a warning that says why."""
    scored = [i for i, row in enumerate(rows) if silhouettes[i] is not None]
    if not scored:
        raise ModelError(
            "no method found two or more segments in these customers; check that the "
            "features differ between customers (audience features) or try another method"
        )
    quiet = [i for i in scored if "noise" not in str(rows[i]["reason"])]
    pool = quiet or scored
    reasons = sorted({str(rows[i]["reason"]) for i in pool})
    warnings.warn(
        "no candidate passes the segmentation guards (" + " | ".join(reasons) + "); "
        "choosing by silhouette alone: consider segmentation.min_segment_share or max_segments",
        UserWarning,
        stacklevel=3,
    )
    return pool
