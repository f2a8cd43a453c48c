"""Segmentation: preprocessing, clustering with model selection, profiles and names.

The estimators follow scikit-learn's API (``fit``, ``predict``, ``labels_``):
:class:`AutoSegmenter` compares methods and numbers of segments by a stated rule
(:data:`SELECTION_RULE`); :class:`AutoKMeans`, :class:`MiniBatchSegments`,
:class:`WardSegments`, :class:`DBSCANSegments`, :class:`HDBSCANSegments` and
:class:`MixtureSegments` are the methods it chooses among; :class:`RFMSegmenter` scores
recency, frequency and monetary value. :class:`FeatureSpace` prepares the features they
cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.segmentation.algorithms import MiniBatchSegments
    from audience.segmentation.assign import SegmentAssigner
    from audience.segmentation.density import DBSCANSegments, HDBSCANSegments
    from audience.segmentation.explain import Explanation, explain_segments
    from audience.segmentation.hierarchical import WardSegments
    from audience.segmentation.kmeans import AutoKMeans
    from audience.segmentation.maps import SegmentMap, segment_map
    from audience.segmentation.mixture import MixtureSegments
    from audience.segmentation.preprocess import FeaturePreprocessor
    from audience.segmentation.profiling import profile_segments
    from audience.segmentation.rfm import RFM_FEATURES, RFMSegmenter
    from audience.segmentation.selection import SELECTION_RULE, AutoSegmenter
    from audience.segmentation.space import FeatureSpace
    from audience.segmentation.stored_runs import StoredRun, load_run

__all__ = [
    "RFM_FEATURES",
    "SELECTION_RULE",
    "AutoKMeans",
    "AutoSegmenter",
    "DBSCANSegments",
    "Explanation",
    "FeaturePreprocessor",
    "FeatureSpace",
    "HDBSCANSegments",
    "MiniBatchSegments",
    "MixtureSegments",
    "RFMSegmenter",
    "SegmentAssigner",
    "SegmentMap",
    "StoredRun",
    "WardSegments",
    "explain_segments",
    "load_run",
    "profile_segments",
    "segment_map",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "MiniBatchSegments": "algorithms",
    "SegmentAssigner": "assign",
    "DBSCANSegments": "density",
    "HDBSCANSegments": "density",
    "Explanation": "explain",
    "explain_segments": "explain",
    "WardSegments": "hierarchical",
    "AutoKMeans": "kmeans",
    "SegmentMap": "maps",
    "segment_map": "maps",
    "MixtureSegments": "mixture",
    "FeaturePreprocessor": "preprocess",
    "profile_segments": "profiling",
    "RFM_FEATURES": "rfm",
    "RFMSegmenter": "rfm",
    "SELECTION_RULE": "selection",
    "AutoSegmenter": "selection",
    "FeatureSpace": "space",
    "StoredRun": "stored_runs",
    "load_run": "stored_runs",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
