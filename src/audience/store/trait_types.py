"""Custom traits as the warehouse holds them: their current types, and their typed values.

The import stores each trait typed in a JSON object (``customers.traits``, merged per person
into ``profiles.traits``): numbers as JSON numbers, booleans as JSON booleans, dates as
``YYYY-MM-DD`` strings, categories and texts as strings. Reading one back, a value counts
only if it has its type's JSON shape; anything else (a value stored while the trait had
another type, a live identify trait sent as the wrong type) is missing, exactly as the live
path reads it (:mod:`audience.rules.compile_python`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from audience.errors import ConfigError

DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
"""The one shape of a stored date trait; the live path accepts exactly the same."""

_JSON_NUMBER = "('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')"


PEOPLE_TRAITS = "SELECT customer_id, traits FROM persons"
"""Custom traits per person: of her profile after ``audience clean``, else of her record."""


def trait_types(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every custom trait of the warehouse with its current type (view ``trait_types``)."""
    rows = con.execute("SELECT name, type FROM trait_types ORDER BY name").fetchall()
    return {str(name): str(kind) for name, kind in rows}


def read_trait_types(warehouse: Path) -> dict[str, str]:
    """:func:`trait_types` of the warehouse file ``warehouse``, opened read-only for it.

    A workspace without a warehouse yet has no trait.
    """
    if not warehouse.exists():
        return {}
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            known = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
            return trait_types(con) if "trait_types" in known else {}
    except duckdb.Error as exc:
        raise ConfigError(
            f"cannot read the custom traits of {warehouse}: {exc}; rules naming traits.<name> "
            "need the warehouse (is another command writing it? run again when it is done)"
        ) from exc


def known_traits(known: dict[str, str], limit: int = 20) -> str:
    """The end of an unknown-trait message: the traits there are, with their types."""
    if not known:
        return (
            "no custom trait is known yet: import a customer file whose extra columns "
            "(loyalty tier, interests...) become traits"
        )
    shown = [f"traits.{n} ({t})" for n, t in list(known.items())[:limit]]
    more = f" and {len(known) - limit} more" if len(known) > limit else ""
    return f"known traits: {', '.join(shown)}{more}"


def trait_value_sql(column: str, name: str, trait_type: str) -> str:
    """SQL: trait ``name`` of JSON column ``column`` as its type, NULL when absent or mistyped.

    Numbers are DOUBLE, booleans BOOLEAN, dates DATE, categories and texts VARCHAR.
    """
    path = "'$.\"" + name.replace("'", "''").replace('"', '\\"') + "\"'"
    kind = f"json_type({column}, {path})"
    text = f"json_extract_string({column}, {path})"
    if trait_type == "number":
        return f"CASE WHEN {kind} IN {_JSON_NUMBER} THEN CAST({text} AS DOUBLE) END"
    if trait_type == "boolean":
        return f"CASE WHEN {kind} = 'BOOLEAN' THEN {text} = 'true' END"
    if trait_type == "date":
        return (
            f"CASE WHEN {kind} = 'VARCHAR' AND regexp_full_match({text}, '{DATE_PATTERN}') "
            f"THEN TRY_CAST({text} AS DATE) END"
        )
    return f"CASE WHEN {kind} = 'VARCHAR' THEN {text} END"
