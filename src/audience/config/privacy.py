"""``privacy`` in audience.yaml: retention, pseudonymised fields, profiling consent.

The key that pseudonyms and keyed hashes are made with is *not* here (this file is versioned
with the project): it comes from the environment or a key file outside the workspace
(``AUDIENCE_PRIVACY__KEY``, ``AUDIENCE_PRIVACY__KEY_FILE``; :mod:`audience.config.settings`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from audience.config.strict import Strict

RetentionTable = Literal[
    "events",
    "order_lines",
    "quarantine",
    "deliveries",
    "dead_letters",
    "memberships",
    "exports",
    "import_replaced_rows",
    "audit_log",
    "regulations",
]
PersonalField = Literal["email", "phone", "first_name", "last_name"]


class PrivacyConfig(Strict):
    """How long data is kept, which personal fields are stored as pseudonyms, and whether
    model-based segments and scores need the person's ``profiling`` consent."""

    retention_days: dict[RetentionTable, int] = Field(
        default_factory=dict,
        description="Table -> days its rows are kept (by their own time: an event's "
        "timestamp, a membership's end...); 'audience retention apply' deletes older ones. "
        "A table not listed is kept.",
    )
    pseudonymise: list[PersonalField] = Field(
        default_factory=list,
        description="Customer fields stored as keyed HMAC pseudonyms at import (the key "
        "outside the workspace); matching still works on them, reading them does not.",
    )
    profiling_consent: Literal["required", "not_required"] = Field(
        default="not_required",
        description="'required': a person whose 'profiling' consent is not granted is left "
        "out of model-based segments (clusters, RFM) and predictive scores; rule segments on "
        "declared data keep her.",
    )
