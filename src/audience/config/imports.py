"""``imports`` in audience.yaml: what an import of the user's files accepts."""

from __future__ import annotations

from pydantic import Field

from audience.config.strict import Strict


class ImportSettings(Strict):
    """How much of a file may be set aside before the import refuses it."""

    max_quarantined_share: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Largest share of a file's rows the quarantine may take: above it the "
        "import fails and loads nothing (unless --accept-partial). 1 never fails.",
    )
