"""Experiments on segments: deterministic assignment, metrics from the warehouse, analysis."""

from __future__ import annotations

from audience.experiments.records import (
    AnalysisOptions,
    AnalysisResult,
    VariantResult,
    VariantStats,
)

__all__ = ["AnalysisOptions", "AnalysisResult", "VariantResult", "VariantStats"]

# The statistics engine (issue 14, part A).
from audience.experiments.analysis import adjust, analyze
from audience.experiments.sizing import power, required_n, sample_size
from audience.experiments.summary_file import Summary, read_summary

__all__ += ["Summary", "adjust", "analyze", "power", "read_summary", "required_n", "sample_size"]
