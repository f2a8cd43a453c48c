"""Match a file's columns to canonical fields: explicit mappings first, then names and aliases."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

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
