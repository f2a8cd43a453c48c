"""What ``audience.yaml`` decides about predictive models: ``predictive:`` section.

Defaults follow the customer-base analysis literature (weekly time unit, one-year horizon)
so that a workspace without the section still gets sensible CLV tiers and churn bands.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from audience.config.strict import Strict

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dwmy])\s*$")
DAYS_PER_UNIT = {"d": 1.0, "w": 7.0, "m": 365.25 / 12, "y": 365.25}
TIME_UNIT_DAYS = {"day": 1, "week": 7}


def parse_duration(text: str) -> float:
    """Days in a duration such as ``90d``, ``13w``, ``6m`` or ``1y``.

    Raises ``ValueError`` (pydantic turns it into a validation message; the CLI into an
    :class:`~audience.errors.InputError`) when the text is not a positive duration.

    Examples
    --------
    >>> parse_duration("90d"), parse_duration("2w"), parse_duration("1y")
    (90.0, 14.0, 365.25)
    """
    match = _DURATION.match(text.lower())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(
            f"'{text}' is not a duration; write a positive number and a unit d, w, m or y "
            "such as 90d, 13w, 6m or 1y"
        )
    return float(match.group(1)) * DAYS_PER_UNIT[match.group(2)]


class Band(Strict):
    """One tier or band: customers whose value is at least ``min`` (and below the next)."""

    name: str
    min: float = Field(description="Lower bound, inclusive (a quantile or a value).")
    description: str = ""


def _check_bands(bands: list[Band]) -> list[Band]:
    if not bands:
        raise ValueError("at least one band is needed")
    mins = [b.min for b in bands]
    if len(set(mins)) != len(mins):
        raise ValueError(f"band lower bounds must differ, got {mins}")
    if len({b.name for b in bands}) != len(bands):
        raise ValueError("band names must differ")
    return sorted(bands, key=lambda b: b.min, reverse=True)


class ClvTiers(Strict):
    """CLV tiers: by quantile of CLV among scored customers, or by CLV value."""

    basis: Literal["quantile", "value"] = "quantile"
    tiers: list[Band] = Field(
        default_factory=lambda: [
            Band(name="Top CLV", min=0.9, description="The 10% with the highest CLV."),
            Band(name="High CLV", min=0.7, description="CLV between the 70th and 90th centile."),
            Band(name="Medium CLV", min=0.4, description="CLV between the 40th and 70th centile."),
            Band(name="Low CLV", min=0.0, description="The 40% with the lowest CLV."),
        ]
    )

    @field_validator("tiers")
    @classmethod
    def _sorted(cls, value: list[Band]) -> list[Band]:
        return _check_bands(value)

    @model_validator(mode="after")
    def _quantiles_in_range(self) -> ClvTiers:
        if self.basis == "quantile" and any(not 0 <= b.min < 1 for b in self.tiers):
            raise ValueError("quantile tiers need 0 <= min < 1")
        return self


def _default_churn_bands() -> list[Band]:
    return [
        Band(name="High churn risk", min=0.7, description="70% or more likely to churn."),
        Band(name="Medium churn risk", min=0.4, description="40% to 70% likely to churn."),
        Band(name="Low churn risk", min=0.0, description="Under 40% likely to churn."),
    ]


class PredictiveSettings(Strict):
    """CLV, churn and cohort defaults; every CLI option overrides its setting."""

    model: Literal["bgnbd", "pnbd"] = Field(
        default="bgnbd", description="Transaction model: BG/NBD or Pareto/NBD."
    )
    time_unit: Literal["day", "week"] = Field(
        default="week", description="Unit of recency, T and horizons inside the models."
    )
    clv_horizon: str = Field(default="52w", description="Horizon of CLV and expected spend.")
    discount_rate: float = Field(
        default=0.10, ge=0, lt=1, description="Annual discount rate of future revenue."
    )
    interval_level: float = Field(
        default=0.90, gt=0, lt=1, description="Coverage of parameter and CLV intervals."
    )
    bootstrap: int = Field(
        default=0, ge=0, description="Bootstrap refits for parameter intervals (0: Hessian only)."
    )
    drop_nonpositive_amounts: bool = Field(
        default=False,
        exclude=True,  # read from older files, never written to new ones
        description=(
            "Deprecated, no effect (a CLV run warns when it is true): free purchases count as "
            "purchases and are left out of the spend model only; returns are left out of both."
        ),
    )
    churn_horizon: str = Field(default="90d", description="No purchase within it = churned.")
    clv_tiers: ClvTiers = Field(default_factory=ClvTiers)
    churn_bands: list[Band] = Field(default_factory=_default_churn_bands)
    random_state: int = 42

    @field_validator("clv_horizon", "churn_horizon")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("churn_bands")
    @classmethod
    def _bands(cls, value: list[Band]) -> list[Band]:
        value = _check_bands(value)
        if any(not 0 <= b.min < 1 for b in value):
            raise ValueError("churn bands are probabilities: need 0 <= min < 1")
        return value
