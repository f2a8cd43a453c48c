"""What a segmentation run produced, per segment and as a whole, as stored and printed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class SegmentProfile:
    """One segment: its size and, per feature, mean, median, z-score and lift."""

    label: int
    size: int
    share: float
    features: dict[str, dict[str, float | None]]
    name: str = ""
    description: str = ""
    name_fit: float | None = None
    rule: str = ""
    """Plain rule from the surrogate tree, e.g. 'recency ≤ 21 days and orders ≥ 6'."""
    kpis: dict[str, float | None] = field(default_factory=dict)
    jaccard: float | None = None
    """Mean bootstrap Jaccard (Hennig): would this segment come out again on other customers."""
    stability_band: str | None = None
    """Hennig's band of ``jaccard``: dissolved < 0.6 <= doubtful < 0.75 <= patterns < 0.85 <=
    stable."""
    stable_id: str = ""
    """Id that persists through refits: the segment id of the first run this segment was
    found in (matched run to run on members); empty until stored."""
    matched_from: str | None = None
    """The earlier run's segment this one continues (its members overlap most), if any."""

    def signature(self) -> dict[str, float]:
        return {f: float(v["z"] or 0.0) for f, v in self.features.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "name": self.name,
            "description": self.description,
            "name_fit": self.name_fit,
            "rule": self.rule,
            "size": self.size,
            "share": self.share,
            "kpis": self.kpis,
            "stability": {"jaccard": self.jaccard, "band": self.stability_band},
            "stable_id": self.stable_id,
            "matched_from": self.matched_from,
            "profile": self.features,
        }


@dataclass
class SegmentRun:
    """The outcome of a run."""

    run_id: str
    method: str
    k: int
    n_customers: int
    features: list[str]
    metrics: dict[str, Any]
    selection: list[dict[str, Any]]
    preprocessing: dict[str, Any]
    segments: list[SegmentProfile]
    as_of: str
    warnings: list[str]
    explanation: dict[str, Any] = field(default_factory=dict)
    bias: list[dict[str, Any]] = field(default_factory=list)
    kpis_unavailable: dict[str, str] = field(default_factory=dict)
    """KPI whose prediction run is missing -> what to show: ``n/a (run `audience predict clv`)``."""
    space: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    """Customers in the clustering space (rows aligned with ``labels``), for maps; not stored."""
    labels: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64), repr=False)
    model: dict[str, Any] = field(default_factory=dict, repr=False)
    """The fitted state that assigns new customers (JSON), stored with the run."""

    def segment_id(self, label: int) -> str:
        return f"{self.run_id}:{label}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "method": self.method,
            "k": self.k,
            "n_customers": self.n_customers,
            "as_of": self.as_of,
            "features": self.features,
            "metrics": self.metrics,
            "selection": self.selection,
            "preprocessing": self.preprocessing,
            "explanation": self.explanation,
            "bias": self.bias,
            "warnings": self.warnings,
            "kpis_unavailable": self.kpis_unavailable,
            "segments": [
                {"segment_id": self.segment_id(s.label), **s.to_dict()} for s in self.segments
            ],
        }
