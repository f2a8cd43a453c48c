"""The workspace configuration, ``audience.yaml``: what an analysis decides.

The file is validated by pydantic models with ``extra="forbid"``, so a misspelt key is an
error that names it instead of a setting silently ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from audience.errors import ConfigError
from audience.predictive.settings import PredictiveSettings

Objective = Literal["retention", "acquisition", "value"]
Direction = Literal["high", "low"]

KPI_NAMES = (
    "size",
    "share",
    "conversion_rate",
    "average_order_value",
    "purchase_frequency",
    "revenue",
    "revenue_share",
    "average_recency_days",
    "email_click_rate",
)

# Features clustered by default for each objective. They are all computed by
# audience.features.behaviour; an objective changes which of them drive the segments.
OBJECTIVE_FEATURES: dict[str, list[str]] = {
    "retention": [
        "recency_days",
        "frequency",
        "monetary",
        "avg_basket",
        "mean_days_between",
        "tenure_days",
        "visits",
        "email_opens",
        "email_clicks",
        "mobile_share",
        "discount_share",
    ],
    "value": [
        "recency_days",
        "frequency",
        "monetary",
        "avg_basket",
        "mean_days_between",
        "discount_share",
        "tenure_days",
    ],
    "acquisition": [
        "tenure_days",
        "visits",
        "product_views",
        "cart_adds",
        "email_opens",
        "email_clicks",
        "mobile_share",
        "frequency",
    ],
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SegmentName(_Strict):
    """A name given to a segment whose feature signature matches ``when``."""

    name: str
    when: dict[str, Direction] = Field(
        description="Feature -> 'high' or 'low' compared with the whole population."
    )
    description: str = ""


DEFAULT_SEGMENT_NAMES: list[SegmentName] = [
    SegmentName(
        name="Champions",
        when={"recency_days": "low", "frequency": "high", "monetary": "high"},
        description="Bought recently, often, and spend the most.",
    ),
    SegmentName(
        name="Bargain hunters",
        when={"avg_basket": "low", "discount_share": "high", "frequency": "high"},
        description="Buy often in small baskets, mostly on discount.",
    ),
    SegmentName(
        name="New customers",
        when={"tenure_days": "low", "recency_days": "low"},
        description="Arrived recently and bought once or twice.",
    ),
    SegmentName(
        name="Dormant customers",
        when={"recency_days": "high", "visits": "low", "email_opens": "low"},
        description="Bought in the past, silent for months.",
    ),
    SegmentName(
        name="Window shoppers",
        when={"frequency": "low", "visits": "high"},
        description="Browse a lot, rarely or never buy.",
    ),
    SegmentName(
        name="Mobile-first",
        when={"mobile_share": "high"},
        description="Mostly active from the mobile app.",
    ),
    SegmentName(
        name="At-risk high spenders",
        when={"recency_days": "high", "monetary": "high"},
        description="Spent a lot but have not bought for a long time.",
    ),
]


class FeatureSettings(_Strict):
    """How behavioural features are computed."""

    as_of: str | None = Field(
        default=None,
        description="Date the features are computed at (ISO); default: latest data timestamp.",
    )
    engagement_half_life_days: float = Field(
        default=90.0, gt=0, description="Half-life of the time decay on engagement counts."
    )


class SegmentationSettings(_Strict):
    """How clustering runs and how its segments are named."""

    method: Literal["kmeans"] = "kmeans"
    k: int | None = Field(default=None, ge=2, description="Fixed number of segments.")
    k_range: tuple[int, int] = Field(default=(2, 10), description="Range of k searched.")
    features: list[str] | None = Field(
        default=None, description="Features to cluster on; default: those of the objective."
    )
    sample_size: int = Field(
        default=20_000, ge=500, description="Customers sampled to choose k and score it."
    )
    min_segment_share: float = Field(
        default=0.02, ge=0, lt=0.5, description="Smallest share of customers a segment may hold."
    )
    max_segments: int = Field(default=12, ge=2, description="Never more segments than this.")
    random_state: int = 42
    names: list[SegmentName] = Field(default_factory=lambda: list(DEFAULT_SEGMENT_NAMES))

    @field_validator("k_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if low < 2 or high < low:
            raise ValueError(f"k_range must be two integers 2 <= low <= high, got {value}")
        return value


class DedupeSettings(_Strict):
    """How records are recognised as the same person."""

    keys: list[list[str]] = Field(
        default_factory=lambda: [["email"], ["phone"]],
        description="Deterministic keys: records equal on every field of one key are one "
        "person. Fields: email, phone, first_name, last_name, birth_date, postcode, city_insee.",
    )
    fuzzy_blocks: list[list[str]] = Field(
        default_factory=lambda: [["postcode", "birth_date"]],
        description="Records compared by name only within the same block.",
    )
    fuzzy_threshold: float = Field(
        default=90.0, ge=0, le=100, description="Least name similarity (0-100) to link records."
    )
    max_records_per_key: int = Field(
        default=5, ge=2, description="A key value shared by more records is a hub: ignored."
    )

    @field_validator("keys", "fuzzy_blocks")
    @classmethod
    def _known_fields(cls, value: list[list[str]]) -> list[list[str]]:
        known = {"email", "phone", "first_name", "last_name", "birth_date", "postcode",
                 "city_insee"}  # fmt: skip
        for key in value:
            unknown = [f for f in key if f not in known]
            if unknown or not key:
                raise ValueError(f"unknown field(s) {unknown or key}; known: {sorted(known)}")
        return value


DEFAULT_TAXONOMY: dict[str, list[str]] = {
    "Mode": ["vêtements", "vetements", "habillement", "fashion"],
    "Beauté": ["cosmétiques", "beauty", "parfums"],
    "Maison": ["maison & déco", "décoration", "home"],
    "High-Tech": ["hi-tech", "high tech", "électronique", "informatique"],
    "Sport": ["sports", "sport & loisirs"],
    "Épicerie fine": ["épicerie", "gastronomie", "alimentation"],
    "Jouets": ["jouet", "jeux", "toys"],
    "Livres": ["livre", "librairie", "books"],
}


class QualitySettings(_Strict):
    """Normalisation, de-duplication, survivorship, imputation and freshness."""

    fix_email_typos: bool = Field(
        default=False,
        description="Replace a likely domain typo (gmial.com) instead of flagging it.",
    )
    city_min_score: float = Field(
        default=85.0, ge=0, le=100, description="Least similarity to accept a fuzzy city match."
    )
    city_min_score_in_postcode: float = Field(
        default=75.0,
        ge=0,
        le=100,
        description="Least similarity among the communes of the record's own postcode.",
    )
    category_min_score: float = Field(
        default=85.0, ge=0, le=100, description="Least similarity to accept a fuzzy category."
    )
    taxonomy: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_TAXONOMY.items()},
        description="Product categories: canonical name -> synonyms; others are fuzzy-matched.",
    )
    dedupe: DedupeSettings = Field(default_factory=DedupeSettings)
    source_priority: list[str] = Field(
        default_factory=list,
        description="Sources whose values win first; then the most recent non-empty value.",
    )
    imputation: dict[str, Literal["knn", "iterative"]] = Field(
        default_factory=dict,
        description="Numeric feature -> imputation method; a '<feature>_imputed' flag is kept.",
    )
    freshness_days: int = Field(
        default=30, ge=1, description="Warn when a source's latest import is older than this."
    )

    @field_validator("imputation")
    @classmethod
    def _never_identifiers(cls, value: dict[str, str]) -> dict[str, str]:
        forbidden = [c for c in value if c.endswith("_id") or c.startswith("consent")
                     or c in ("email", "phone")]  # fmt: skip
        if forbidden:
            raise ValueError(f"identifiers and consent are never imputed: {forbidden}")
        return value


class ReportSettings(_Strict):
    """What the HTML report shows."""

    map_sample: int = Field(default=5_000, ge=100, description="Points drawn on the 2-D map.")


class WorkspaceConfig(_Strict):
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
    kpis: list[str] = Field(
        default_factory=lambda: [
            "size",
            "share",
            "conversion_rate",
            "average_order_value",
            "purchase_frequency",
            "revenue_share",
        ]
    )
    mappings: dict[Literal["customers", "orders", "events"], dict[str, str]] = Field(
        default_factory=dict,
        description="Per source: canonical field -> column name in the user's files.",
    )
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    segmentation: SegmentationSettings = Field(default_factory=SegmentationSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    predictive: PredictiveSettings = Field(default_factory=PredictiveSettings)

    @field_validator("kpis")
    @classmethod
    def _known_kpis(cls, value: list[str]) -> list[str]:
        unknown = [k for k in value if k not in KPI_NAMES]
        if unknown:
            raise ValueError(f"unknown KPI {unknown}; known: {', '.join(KPI_NAMES)}")
        return value

    @model_validator(mode="after")
    def _k_within_bounds(self) -> WorkspaceConfig:
        seg = self.segmentation
        if seg.k is not None and seg.k > seg.max_segments:
            raise ValueError(f"segmentation.k={seg.k} exceeds max_segments={seg.max_segments}")
        return self

    def clustering_features(self) -> list[str]:
        """Features the segmentation uses: the configured list or the objective's."""
        return list(self.segmentation.features or OBJECTIVE_FEATURES[self.objective])

    # -- file I/O -----------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> WorkspaceConfig:
        """Read and validate ``audience.yaml``; every problem becomes a :class:`ConfigError`."""
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}{where}: invalid YAML ({exc})") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise ConfigError(
                f"{path}: {field}: {first['msg']} ({exc.error_count()} problem(s) in all)"
            ) from exc

    def dump(self, path: Path) -> None:
        """Write the configuration as commented-free YAML, keys in declaration order."""
        data = self.model_dump(mode="json")
        path.write_text(
            "# Audience workspace configuration. See README.md, section Configuration.\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )
