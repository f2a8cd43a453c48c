"""The reason codes of quarantined rows: one per row, from this list only.

The documentation of each code lives with the quarantine, :mod:`audience.quality.quarantine`;
the list is here, in the core, because the import writes the codes and the quarantine reads
them, and neither stage may import the other.
"""

from __future__ import annotations

REASON_CODES: tuple[str, ...] = (
    "bad_encoding",
    "malformed_row",
    "missing",
    "bad_timestamp",
    "bad_date",
    "implausible_date",
    "bad_decimal",
    "bad_integer",
    "bad_bool",
    "bad_json",
    "bad_value",
    "duplicate_key",
    "unknown_customer",
    "negative_amount",
    "missing_quantity",
    "currency_mismatch",
    "no_usable_identifier",
    "suppressed",
    "other",
)
"""Every code a quarantined row may carry; ``other`` only for rows stored before codes were."""

OTHER = "other"


def code_sql(reason: str) -> str:
    """SQL: the code of a reason text (``bad_date:birth_date ...`` -> ``bad_date``).

    A reason starts with its code; several reasons joined by ``'; '`` keep the first one's.
    """
    known = ", ".join(f"'{c}'" for c in REASON_CODES)
    prefix = f"regexp_extract({reason}, '^([a-z_]+)', 1)"
    return f"CASE WHEN {prefix} IN ({known}) THEN {prefix} ELSE '{OTHER}' END"
