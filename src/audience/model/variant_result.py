"""One variant of an experiment against its control: what the analysis engine returns and
what the report and the dashboard show (core, so that the report stage needs no other)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VariantResult:
    """One variant against the control (the control's own row has no lift)."""

    name: str
    n: int
    mean: float
    lift: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    adjusted_p_value: float | None = None
    chance_to_win: float | None = None
    expected_loss: float | None = None
