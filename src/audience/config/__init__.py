"""The workspace configuration, ``audience.yaml``: what an analysis decides.

The file is validated by pydantic models with ``extra="forbid"``, so a misspelt key is an
error that names it instead of a setting silently ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from audience.config.activation import ActivationSettings
from audience.config.drift import DriftSettings
from audience.config.imports import ImportSettings
from audience.config.kpis import KPI_NAMES, KPIS, OBJECTIVE_KPIS, KpiInfo, unknown_kpis_message
from audience.config.predictive import PredictiveSettings
from audience.config.privacy import PrivacyConfig
from audience.config.quality import DEFAULT_TAXONOMY, DedupeSettings, QualitySettings
from audience.config.segmentation import (
    DEFAULT_SEGMENT_NAMES,
    OBJECTIVE_FEATURES,
    Direction,
    FeatureSettings,
    MapMethod,
    SegmentationSettings,
    SegmentName,
)
from audience.config.strict import Strict
from audience.config.yamlmarks import load_marked_file
from audience.errors import ConfigError

Objective = Literal["retention", "acquisition", "value"]

__all__ = [
    "DEFAULT_SEGMENT_NAMES",
    "DEFAULT_TAXONOMY",
    "KPIS",
    "KPI_NAMES",
    "OBJECTIVE_FEATURES",
    "OBJECTIVE_KPIS",
    "ActivationSettings",
    "DedupeSettings",
    "Direction",
    "DriftSettings",
    "FeatureSettings",
    "ImportSettings",
    "KpiInfo",
    "Objective",
    "PredictiveSettings",
    "PrivacyConfig",
    "QualitySettings",
    "ReportSettings",
    "SegmentName",
    "SegmentationSettings",
    "WorkspaceConfig",
]


# Features clustered by default for each objective. They are all computed by
# audience.features.behaviour; an objective changes which of them drive the segments.
class ReportSettings(Strict):
    """What the HTML report shows."""

    map_sample: int = Field(default=5_000, ge=100, description="Points drawn on the 2-D map.")
    maps: list[MapMethod] = Field(
        default_factory=lambda: list[MapMethod](["pca"]),
        description="Maps drawn in the report: pca, tsne, umap.",
    )


class WorkspaceConfig(Strict):
    """Everything ``audience.yaml`` holds."""

    version: int = 1
    name: str = "audience"
    objective: Objective = "retention"
    timezone: str = Field(
        default="Europe/Paris",
        description="Zone of timestamps that carry no offset in imported files.",
    )
    currency: str = "EUR"
    default_region: str = Field(default="FR", description="Region for phone numbers.")
    date_order: Literal["dmy", "mdy", "ymd"] | None = Field(
        default=None,
        description="Order of imported dates that no value of their column decides "
        "(03/02/2024): dmy (day first), mdy (month first) or ymd; default: the region's "
        "(mdy for US, dmy for FR).",
    )
    kpis: list[str] = Field(
        default_factory=list,
        description="KPIs shown per segment; default: the objective's (see config/kpis.py).",
    )
    mappings: dict[Literal["customers", "orders", "events"], dict[str, str]] = Field(
        default_factory=dict,
        description="Per source: canonical field -> column name in the user's files.",
    )
    imports: ImportSettings = Field(default_factory=ImportSettings)
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    segmentation: SegmentationSettings = Field(default_factory=SegmentationSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    predictive: PredictiveSettings = Field(default_factory=PredictiveSettings)
    activation: ActivationSettings = Field(default_factory=ActivationSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)

    @field_validator("kpis")
    @classmethod
    def _known_kpis(cls, value: list[str]) -> list[str]:
        problem = unknown_kpis_message(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _objective_kpis(self) -> WorkspaceConfig:
        # Written out rather than left empty, so that audience.yaml shows what to edit.
        if not self.kpis:
            self.kpis = list(OBJECTIVE_KPIS[self.objective])
        return self

    @model_validator(mode="after")
    def _k_within_bounds(self) -> WorkspaceConfig:
        seg = self.segmentation
        if seg.k is not None and seg.k > seg.max_segments:
            raise ValueError(f"segmentation.k={seg.k} exceeds max_segments={seg.max_segments}")
        return self

    def clustering_features(self) -> list[str]:
        """Features the segmentation uses: the configured list or the objective's."""
        seg = self.segmentation
        chosen = seg.features or seg.feature_sets.get(self.objective)
        return list(chosen or OBJECTIVE_FEATURES[self.objective])

    # -- file I/O -----------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> WorkspaceConfig:
        """Read and validate ``audience.yaml``; every problem is a :class:`ConfigError` that
        names the file, the line and the field."""
        marked = load_marked_file(path)
        raw = marked.data or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(top level)"
            line = marked.line_of([str(p) if isinstance(p, str) else p for p in first["loc"]])
            where = f" line {line}" if line else ""
            raise ConfigError(
                f"{path}{where}: {field}: {first['msg']} ({exc.error_count()} problem(s) in all)"
            ) from exc

    def dump(self, path: Path) -> None:
        """Write the configuration as commented-free YAML, keys in declaration order."""
        data = self.model_dump(mode="json")
        path.write_text(
            "# Audience workspace configuration. See README.md, section Configuration.\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )
