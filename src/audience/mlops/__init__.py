"""Keeping segments true over time: drift, run tracking, the champion registry, segments
matched across runs, the promotion rule of recalibration.

Drift: reference sketches kept with each run (:mod:`.sketches`), the per-feature tests
(:mod:`.drift_tests`), the dataset verdict (:mod:`.drift`) and where they are stored
(:mod:`.drift_store`). Tracking in MLflow (:mod:`.tracking`), the champion per model
(:mod:`.registry`), the Hungarian matching of segments between runs (:mod:`.matching`) and
the rule a refit must pass to be promoted (:mod:`.promote_rule`).

A stage like the others: it imports only the core. What needs another stage's code (the
pyfunc model that rebuilds a segmentation run's assigner, a recalibration that refits) lives
in :mod:`audience.pipelines`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.mlops.drift import DatasetDrift, FeatureDriftResult, check_features, compare
    from audience.mlops.drift_store import (
        keep_reference,
        load_sketches,
        record_check,
        store_sketches,
    )
    from audience.mlops.matching import match_segments
    from audience.mlops.promote_rule import evaluate_rule
    from audience.mlops.registry import champion_run, promote, rollback
    from audience.mlops.sketches import (
        CategorySketch,
        FeatureSketch,
        GridCounts,
        NumericSketch,
        grid_counts,
        sketch_features,
    )
    from audience.mlops.tracking import log_run

__all__ = [
    "CategorySketch",
    "DatasetDrift",
    "FeatureDriftResult",
    "FeatureSketch",
    "GridCounts",
    "NumericSketch",
    "champion_run",
    "check_features",
    "compare",
    "evaluate_rule",
    "grid_counts",
    "keep_reference",
    "load_sketches",
    "log_run",
    "match_segments",
    "promote",
    "record_check",
    "rollback",
    "sketch_features",
    "store_sketches",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "DatasetDrift": "drift",
    "FeatureDriftResult": "drift",
    "check_features": "drift",
    "compare": "drift",
    "keep_reference": "drift_store",
    "load_sketches": "drift_store",
    "record_check": "drift_store",
    "store_sketches": "drift_store",
    "CategorySketch": "sketches",
    "FeatureSketch": "sketches",
    "GridCounts": "sketches",
    "NumericSketch": "sketches",
    "grid_counts": "sketches",
    "sketch_features": "sketches",
    "log_run": "tracking",
    "champion_run": "registry",
    "promote": "registry",
    "rollback": "registry",
    "match_segments": "matching",
    "evaluate_rule": "promote_rule",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
