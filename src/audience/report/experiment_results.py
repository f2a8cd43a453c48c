"""The report's experiments section: the engine's row per variant of each experiment.

The pipeline analyses each experiment (the report stage imports no other stage) and hands the
rows here; an experiment that cannot be analysed yet (no exposures, no data for its metric)
comes with the reason instead, so the section says why it is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from audience.model.variant_result import VariantResult


@dataclass(frozen=True)
class ExperimentSection:
    """One experiment as the report shows it."""

    name: str
    segment: str
    metric: str
    status: str
    rows: tuple[VariantResult, ...] = ()
    srm_flagged: bool = False
    unavailable: str | None = None
    """Why there are no rows (nothing exposed yet, a metric without data)."""
    notes: tuple[str, ...] = field(default_factory=tuple)
