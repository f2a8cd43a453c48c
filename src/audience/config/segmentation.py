"""``segmentation`` and ``features`` in audience.yaml: what segments are made of and named."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from audience.config.strict import Strict

Direction = Literal["high", "low"]

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
        "spread_days_between",
        "discount_share",
        "tenure_days",
        "category_mode",
        "category_beaute",
        "category_maison",
        "category_high_tech",
        "category_sport",
        "category_epicerie_fine",
        "category_jouets",
        "category_livres",
    ],
    "acquisition": [
        "tenure_days",
        "visits",
        "product_views",
        "cart_adds",
        "email_opens",
        "email_clicks",
        "mobile_share",
        "evening_share",
        "app_share",
        "frequency",
        "age_band",
        "region",
    ],
}
"""Default feature sets; ``segmentation.feature_sets`` in audience.yaml overrides them.

Categorical features (``age_band``, ``region``) are one-hot encoded; ``category_<name>``
features follow the taxonomy of ``quality.taxonomy``."""

Method = Literal[
    "auto",
    "kmeans",
    "minibatch",
    "hierarchical",
    "dbscan",
    "hdbscan",
    "gmm",
    "rfm",
    "autoencoder+kmeans",
    "autoencoder+gmm",
    "autoencoder+hdbscan",
]
MapMethod = Literal["pca", "tsne", "umap"]


class SegmentName(Strict):
    """A name given to a segment whose feature signature matches ``when`` (relative evidence)
    and whose medians and lifts pass the absolute thresholds (absolute evidence)."""

    name: str
    when: dict[str, Direction] = Field(
        description="Feature -> 'high' or 'low' compared with the whole population."
    )
    median_at_most: dict[str, float] = Field(
        default_factory=dict,
        description="Feature -> the most the segment's median may be, e.g. recency_days: 90.",
    )
    median_at_least: dict[str, float] = Field(
        default_factory=dict, description="Feature -> the least the segment's median may be."
    )
    lift_above: dict[str, float] = Field(
        default_factory=dict,
        description="Feature -> the segment's mean over the population's must exceed this.",
    )
    description: str = ""


DEFAULT_SEGMENT_NAMES: list[SegmentName] = [
    SegmentName(
        name="Champions",
        when={"recency_days": "low", "frequency": "high", "monetary": "high"},
        median_at_most={"recency_days": 90},
        lift_above={"frequency": 1.0, "monetary": 1.0},
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
        median_at_most={"tenure_days": 90, "recency_days": 90},
        description="Arrived recently and bought once or twice.",
    ),
    SegmentName(
        name="Dormant customers",
        when={"recency_days": "high", "visits": "low", "email_opens": "low"},
        median_at_least={"recency_days": 90},
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
        median_at_least={"recency_days": 90},
        lift_above={"monetary": 1.0},
        description="Spent a lot but have not bought for a long time.",
    ),
]


class FeatureSettings(Strict):
    """How behavioural features are computed."""

    as_of: str | None = Field(
        default=None,
        description="Date the features are computed at (ISO); default: latest data timestamp.",
    )
    engagement_half_life_days: float = Field(
        default=90.0, gt=0, description="Half-life of the time decay on engagement counts."
    )


class SegmentationSettings(Strict):
    """How clustering runs and how its segments are named."""

    method: Method = Field(
        default="kmeans",
        description="Clustering method; 'auto' compares k-means, GMM, Ward, HDBSCAN and DBSCAN "
        "by the selection rule (slower), 'rfm' scores quintiles; 'autoencoder+<method>' "
        "clusters an autoencoder's latent space (extra: audience[deep]).",
    )
    k: int | None = Field(default=None, ge=2, description="Fixed number of segments.")
    k_range: tuple[int, int] = Field(default=(2, 12), description="Range of k searched.")
    features: list[str] | None = Field(
        default=None, description="Features to cluster on; default: the objective's feature set."
    )
    feature_sets: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in OBJECTIVE_FEATURES.items()},
        description="Feature set of each objective (retention, acquisition, value).",
    )
    max_noise_share: float = Field(
        default=0.5, gt=0, le=1, description="Most customers a density method may leave as noise."
    )
    silhouette_size: int = Field(
        default=4_000, ge=500, description="Customers each candidate's silhouette is taken on."
    )
    stability_refits: int = Field(
        default=3, ge=2, description="Refits on sub-samples to measure stability."
    )
    stability_size: int = Field(default=5_000, ge=500, description="Customers refits draw from.")
    jaccard_bootstraps: int = Field(
        default=20,
        ge=0,
        description="Bootstrap rounds of each segment's Jaccard stability (Hennig); 0 skips it.",
    )
    match_min_jaccard: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Member overlap (Jaccard) from which a segment of a refit continues a "
        "segment of the champion, taking its name and stable id.",
    )
    holdout: float = Field(
        default=0.0,
        ge=0.0,
        lt=100.0,
        description="Percent of each cluster segment's members kept from activation, to "
        "measure its lift with 'audience lift' (0: none).",
    )
    winsorize: float = Field(
        default=0.01, ge=0, lt=0.5, description="Share clipped in each tail of every feature."
    )
    scaling: Literal["standard", "robust"] = "standard"
    pca_variance: float | None = Field(
        default=0.95, gt=0, le=1, description="Variance the principal components keep; null: none."
    )
    explain_depth: int = Field(
        default=3, ge=1, le=6, description="Most conditions in a segment's rule."
    )
    reference_shares: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Known population shares per group, e.g. census age bands, to test for bias.",
    )
    sample_size: int = Field(
        default=20_000, ge=500, description="Customers sampled to choose k and score it."
    )
    min_segment_share: float = Field(
        default=0.02, ge=0, lt=0.5, description="Smallest share of customers a segment may hold."
    )
    max_segments: int = Field(default=12, ge=2, description="Never more segments than this.")
    min_useful_k: int = Field(
        default=3,
        ge=2,
        description="Fewest segments chosen unless the data show no structure at that k "
        "(see the selection rule); a fixed k or a k_range below it is obeyed.",
    )
    min_variation: float = Field(
        default=0.1,
        ge=0,
        description="Numeric features whose coefficient of variation is below this are left "
        "out of clustering, with a warning.",
    )
    min_entropy: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Categorical and two-valued features whose normalised entropy is below "
        "this are left out of clustering, with a warning.",
    )
    autoencoder_in_auto: bool = Field(
        default=True,
        description="With PyTorch installed, 'auto' also clusters the autoencoder's latent space "
        "and keeps it when its segments separate customers better (see the README).",
    )
    autoencoder_latent_dims: list[int] = Field(
        default_factory=lambda: [2, 3, 4, 6, 8],
        min_length=1,
        description="Latent dimensions the autoencoder tries; the smallest within 5% of the best "
        "validation reconstruction error is kept.",
    )
    random_state: int = 42
    names: list[SegmentName] = Field(default_factory=lambda: list(DEFAULT_SEGMENT_NAMES))

    @field_validator("k_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if low < 2 or high < low:
            raise ValueError(f"k_range must be two integers 2 <= low <= high, got {value}")
        return value
