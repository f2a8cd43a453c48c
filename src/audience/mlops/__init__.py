"""Keeping segments true over time: drift of the features a run was made on.

Part A (drift): reference sketches kept with each run (:mod:`.sketches`), the per-feature
tests (:mod:`.drift_tests`), the dataset verdict (:mod:`.drift`) and their storage
(:mod:`.drift_store`). Other parts of the package (tracking, registry, stability across
runs, recalibration) add their names below.
"""

from __future__ import annotations

from audience.mlops.drift import DatasetDrift, FeatureDriftResult, check_features, compare
from audience.mlops.drift_store import (
    keep_reference,
    load_sketches,
    record_check,
    store_sketches,
)
from audience.mlops.sketches import (
    CategorySketch,
    FeatureSketch,
    GridCounts,
    NumericSketch,
    grid_counts,
    sketch_features,
)

__all__ = [
    "CategorySketch",
    "DatasetDrift",
    "FeatureDriftResult",
    "FeatureSketch",
    "GridCounts",
    "NumericSketch",
    "check_features",
    "compare",
    "grid_counts",
    "keep_reference",
    "load_sketches",
    "record_check",
    "sketch_features",
    "store_sketches",
]
