"""Experiments on segments: deterministic assignment, metrics from the warehouse, analysis."""

from __future__ import annotations

from audience.experiments.records import (
    AnalysisOptions,
    AnalysisResult,
    VariantResult,
    VariantStats,
)

__all__ = ["AnalysisOptions", "AnalysisResult", "VariantResult", "VariantStats"]
