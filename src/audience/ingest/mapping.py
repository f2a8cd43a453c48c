"""Match a file's columns to canonical fields: explicit mappings first, then names and aliases.

What was matched is shown with every import (:class:`ColumnUse`); what cannot be guessed
safely is asked for: an order file with no order id column names the two ways out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from audience.errors import MappingError
from audience.ingest.schemas import FIELDS, Kind, normalise_column_name


def parse_map_options(options: Sequence[str]) -> dict[str, str]:
    """``["email=courriel", ...]`` -> ``{"email": "courriel"}``."""
    mapping = {}
    for option in options:
        target, sep, source = option.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise MappingError(
                f"--map {option!r}: expected FIELD=COLUMN, for example email=courriel"
            )
        mapping[target.strip()] = source.strip()
    return mapping


def resolve_mapping(
    kind: Kind,
    columns: Sequence[str],
    explicit: Mapping[str, str],
    configured: Mapping[str, str] | None = None,
    *,
    preset: Mapping[str, str] | None = None,
    reserved: Collection[str] = (),
) -> dict[str, str]:
    """Canonical field -> source column for every field found.

    ``explicit`` (from ``--map``) must name real fields and columns; ``preset`` (the columns
    a ``--preset`` found, :func:`audience.ingest.presets.preset_mapping`) comes next, then
    ``configured`` (from ``audience.yaml``) where the file has the column. Other fields are
    matched by name or alias, accents and case ignored, except to the ``reserved`` columns
    (a preset's columns that look like a field but are not it, such as an order's total).
    """
    specs = {spec.name: spec for spec in FIELDS[kind]}
    by_lower = {c.lower(): c for c in columns}
    present = ", ".join(columns)
    mapping: dict[str, str] = {}
    for target, source in explicit.items():
        if target not in specs:
            raise MappingError(
                f"--map {target}={source}: '{target}' is not a {kind} field; "
                f"fields: {', '.join(specs)}"
            )
        if source.lower() not in by_lower:
            raise MappingError(
                f"--map {target}={source}: no column '{source}' in the file; columns present: "
                f"{present}"
            )
        mapping[target] = by_lower[source.lower()]
    for target, source in (preset or {}).items():
        if target not in mapping:
            mapping[target] = source
    for target, source in (configured or {}).items():
        if target in specs and target not in mapping and source.lower() in by_lower:
            mapping[target] = by_lower[source.lower()]
    taken = set(mapping.values()) | set(reserved)
    normalised = {normalise_column_name(c): c for c in columns if c not in taken}
    for spec in FIELDS[kind]:
        if spec.name in mapping:
            continue
        for candidate in (spec.name, *spec.aliases):
            column = normalised.get(normalise_column_name(candidate))
            if column is not None and column not in mapping.values():
                mapping[spec.name] = column
                break
    missing = [s.name for s in FIELDS[kind] if s.required and s.name not in mapping]
    if missing:
        raise MappingError(
            f"no column found for required {kind} field(s) {', '.join(missing)}; columns present: "
            f"{present}; map one with --map {missing[0]}=COLUMN"
        )
    return mapping


@dataclass(frozen=True)
class ColumnUse:
    """What an import made of each column: mapped to a field, kept as a trait, or ignored."""

    mapping: dict[str, str]
    """Canonical field -> source column."""
    traits: list[str]
    """Columns kept as customer traits (customers only: every unmapped column)."""
    ignored: list[str]
    """Columns read and set aside: mapped to no field and not kept."""


def column_use(kind: Kind, columns: Sequence[str], mapping: Mapping[str, str]) -> ColumnUse:
    """Split ``columns`` into mapped, traits and ignored, as the staging SQL treats them."""
    mapped = set(mapping.values())
    unmapped = [c for c in columns if c not in mapped]
    if kind == "customers":
        return ColumnUse(dict(mapping), unmapped, [])
    return ColumnUse(dict(mapping), [], unmapped)


_SHOWN = 30
"""Columns named in a message: a wide file's 10,000 would drown it."""


def require_order_id(
    file: str, columns: Sequence[str], mapping: Mapping[str, str], one_order_per_line: bool
) -> None:
    """Refuse to guess the orders of a file: without an order id, say which way to read it.

    Lines without an order id cannot be grouped into orders; reading each as its own order
    silently would turn a 3-line basket into 3 orders (frequency, basket and CLV all wrong).
    """
    if one_order_per_line and "order_id" in mapping:
        raise MappingError(
            f"{file}: --one-order-per-line with an order id column "
            f"('{mapping['order_id']}'): drop one of the two"
        )
    if not one_order_per_line and "order_id" not in mapping:
        shown = ", ".join(columns[:_SHOWN]) + (", ..." if len(columns) > _SHOWN else "")
        raise MappingError(
            f"{file}: no order id column recognised among: {shown}. Say which "
            "column numbers the orders with --map order_id=COLUMN, or pass "
            "--one-order-per-line if each line really is an order of its own"
        )
