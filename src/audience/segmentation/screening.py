"""Near-constant features are left out of clustering, each with a warning that says why.

Standardisation gives every feature the same weight, so a feature that barely varies gets its
tiny differences blown up to full weight: on a real order file where every customer was
acquired in the same quarter, tenure (σ 23 days around 500) split two segments on its own.
Two measures, with thresholds in ``segmentation`` of audience.yaml:

- a number's **coefficient of variation** (standard deviation over the absolute mean, on the
  customers who have a value) under ``min_variation`` (default 0.1: typical values sit within
  10% of each other). A column whose mean is 0 has no meaningful CV and is kept (the
  no-variance check of the feature space still drops an all-zero column);
- a category's **normalised entropy** (Shannon entropy of its value shares over the log of the
  number of values, 0 when everyone shares one value, 1 when values are equally common) under
  ``min_entropy`` (default 0.1: about 1.3% of customers differ from the rest). A one-hot group
  (``region=...``) is measured and dropped as a whole, a missing value counting as one more
  value; a number with only two values is a flag and is measured the same way.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from audience.model.fields import CATEGORICAL


@dataclass(frozen=True)
class NearConstant:
    """A feature left out, the measure that decided and its value."""

    feature: str
    measure: str  # "coefficient of variation" or "normalised entropy"
    value: float
    threshold: float
    columns: tuple[str, ...]

    def message(self) -> str:
        return (
            f"feature '{self.feature}' is nearly constant ({self.measure} {self.value:.3f} < "
            f"{self.threshold:g}) and is left out of the clustering; lower "
            "segmentation.min_variation / min_entropy to keep it"
        )


def near_constant(
    raw: pd.DataFrame, min_variation: float, min_entropy: float
) -> list[NearConstant]:
    """Features of ``raw`` (columns as :func:`~audience.segmentation.matrix.load_matrix` gives
    them) that vary too little to cluster on."""
    found: list[NearConstant] = []
    groups: dict[str, list[str]] = {}
    for column in raw.columns:
        prefix = str(column).split("=", 1)[0]
        if "=" in str(column) and prefix in CATEGORICAL:
            groups.setdefault(prefix, []).append(str(column))
            continue
        values = raw[column].to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        if len(np.unique(values)) == 2:
            entropy = _entropy(np.unique(values, return_counts=True)[1])
            if entropy < min_entropy:
                found.append(
                    NearConstant(str(column), "normalised entropy", entropy, min_entropy, (column,))
                )
            continue
        cv = _variation(values)
        if cv is not None and cv < min_variation:
            found.append(
                NearConstant(str(column), "coefficient of variation", cv, min_variation, (column,))
            )
    for prefix, columns in groups.items():
        onehot = raw[columns].to_numpy(dtype=np.float64)
        counts = np.append(onehot.sum(axis=0), (onehot.sum(axis=1) == 0).sum())
        entropy = _entropy(counts)
        if entropy < min_entropy:
            found.append(
                NearConstant(prefix, "normalised entropy", entropy, min_entropy, tuple(columns))
            )
    return found


def drop_near_constant(
    raw: pd.DataFrame, min_variation: float, min_entropy: float
) -> tuple[pd.DataFrame, list[NearConstant]]:
    """``raw`` without its near-constant features, and those features; warns for each one.

    Never drops every column: when all of them are near-constant, the clustering keeps them
    (the warnings still say so) rather than having nothing to cluster on.
    """
    found = near_constant(raw, min_variation, min_entropy)
    dropped = [c for item in found for c in item.columns]
    if not found or len(dropped) == raw.shape[1]:
        return raw, []
    for item in found:
        warnings.warn(item.message(), UserWarning, stacklevel=2)
    return raw.drop(columns=dropped), found


def _variation(values: NDArray[np.float64]) -> float | None:
    if len(values) < 2:
        return None
    mean = float(np.abs(values.mean()))
    std = float(values.std())
    if mean <= 1e-12 or std <= 1e-12:
        return None  # no CV without a mean; no variance is the feature space's own check
    return std / mean


def _entropy(counts: NDArray[np.int64] | NDArray[np.float64]) -> float:
    counts = np.asarray(counts, dtype=np.float64)
    counts = counts[counts > 0]
    if len(counts) < 2:
        return 0.0
    shares = counts / counts.sum()
    return float(-(shares * np.log(shares)).sum() / np.log(len(shares)))
