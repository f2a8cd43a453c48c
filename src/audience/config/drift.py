"""What ``audience.yaml`` decides about drift detection: the ``drift:`` section.

Defaults follow Evidently's choice of test per column, so that a verdict here means what it
means there: for a reference of at most ``small_reference`` rows, Kolmogorov-Smirnov for
numbers and chi-square for categories (and numbers with few values), drift when p < 0.05;
beyond, the normed Wasserstein distance for numbers and the Jensen-Shannon distance for
categories, drift when the distance is at least 0.1. The dataset drifts when the share of
drifted features reaches ``share``. Where Evidently takes a Z-test (a small reference and a
column of two values), chi-square is used: both test the same shares.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from audience.config.strict import Strict

DriftMethod = Literal["auto", "ks", "chisquare", "wasserstein", "jensenshannon", "psi"]

P_VALUE_METHODS = frozenset({"ks", "chisquare"})
"""Methods whose statistic is a p-value: drift when it is *below* the threshold."""

DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05,
    "chisquare": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
}


class FeatureDriftSettings(Strict):
    """A method or threshold for one feature, overriding the section's."""

    method: DriftMethod = "auto"
    threshold: float | None = Field(
        default=None, gt=0, description="Default: the method's threshold of the section."
    )


class DriftSettings(Strict):
    """How drift is tested, per feature and for the whole data set."""

    method: DriftMethod = Field(
        default="auto",
        description="Test of every feature: auto (by type and reference size, as Evidently), "
        "ks, chisquare, wasserstein, jensenshannon or psi.",
    )
    thresholds: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS),
        description="Per method: a p-value below it (ks, chisquare) or a distance at least "
        "it (wasserstein, jensenshannon, psi) is drift.",
    )
    features: dict[str, FeatureDriftSettings] = Field(
        default_factory=dict, description="Per feature: its own method and threshold."
    )
    share: float = Field(
        default=0.5, gt=0, le=1, description="Share of drifted features that makes dataset drift."
    )
    small_reference: int = Field(
        default=1_000,
        ge=1,
        description="References up to this many rows keep their exact values (KS exact) and "
        "get the p-value tests in auto mode.",
    )
    few_values: int = Field(
        default=5, ge=1, description="A number with at most this many values is a category."
    )
    bins: int = Field(
        default=100, ge=10, le=1_000, description="Quantile bins of a numeric reference sketch."
    )
    notify: bool = Field(
        default=True,
        description="Send drift.detected to the activation's webhook destinations on drift.",
    )

    @field_validator("thresholds")
    @classmethod
    def _known_methods(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(DEFAULT_THRESHOLDS))
        if unknown:
            raise ValueError(
                f"unknown drift method(s) {', '.join(unknown)}; known: "
                f"{', '.join(DEFAULT_THRESHOLDS)}"
            )
        if any(v <= 0 for v in value.values()):
            raise ValueError("drift thresholds must be positive")
        return {**DEFAULT_THRESHOLDS, **value}

    def threshold(self, method: str, feature: str) -> float:
        """The threshold of ``method`` for ``feature``: the feature's own, else the section's."""
        own = self.features.get(feature)
        if own is not None and own.threshold is not None:
            return own.threshold
        return self.thresholds.get(method, DEFAULT_THRESHOLDS[method])

    def method_for(self, feature: str) -> str:
        own = self.features.get(feature)
        if own is not None and own.method != "auto":
            return own.method
        return self.method
