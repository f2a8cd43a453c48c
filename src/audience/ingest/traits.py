"""Custom traits: the columns of a customer file that map to no field, typed and catalogued.

Each trait column gets one type, decided from its values over the loaded rows of the import:

``boolean``
    every value is a yes/no word (``oui``/``non``, ``yes``/``no``, ``true``/``false``...) and
    at least one is not a digit (a column of 0 and 1 is a count, hence a number);
``number``
    every value reads as a number, decimal comma or dot, thousands separators and currency
    signs allowed (``1 234,50``); a value with a leading zero (``007``) is an identifier;
``date``
    every value reads as a date (day first, or ISO) and none is a bare number;
``category``
    at most :data:`MAX_CATEGORIES` distinct values, each seen twice on average;
``text``
    anything else, and columns with no value at all.

The decision is one aggregate over the trait cells of the import (unnested, so a file of
10,000 columns costs one query with a fixed number of expressions). Values are then stored
typed in ``customers.traits``: JSON numbers, JSON booleans, dates as ``YYYY-MM-DD`` strings,
categories and texts as trimmed strings; a value that does not read as its column's type is
null. Every decision goes to ``trait_catalog`` and to the import report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import duckdb

from audience.ingest import date_parsing, value_parsing
from audience.ingest.schemas import normalise_column_name
from audience.store.sql import ident, sql_literal

TraitType = Literal["number", "date", "boolean", "category", "text"]
MAX_CATEGORIES = 50
"""A column with more distinct values than this is text, not a category."""

TEXTS = "_trait_texts"
"""Column of the staged relation holding the trait cells, trimmed, '' as NULL, in order."""


FEW_TRAITS = 100
"""Up to this many trait columns, each is read and typed by expressions of its own (up to three
times faster than one lambda over all cells, but the optimiser's time grows with the square of
the number of expressions)."""


def trait_columns(columns: Sequence[str], mapping: Mapping[str, str]) -> list[str]:
    """The source columns kept as traits: every column no field is mapped from, in order."""
    mapped = set(mapping.values())
    return [c for c in columns if c not in mapped]


def trait_names(columns: Sequence[str]) -> list[str]:
    """Trait names of ``columns``: normalised (``Loyalty Tier`` -> ``loyalty_tier``), unique.

    Two columns normalising alike get ``_2``, ``_3``...; a name with no letter or digit left
    is named after its position (``column_4``).
    """
    names: list[str] = []
    seen: set[str] = set()
    for i, column in enumerate(columns, start=1):
        base = normalise_column_name(column) or f"column_{i}"
        name, n = base, 1
        while name in seen:
            n += 1
            name = f"{base}_{n}"
        seen.add(name)
        names.append(name)
    return names


def texts_select(columns: Sequence[str]) -> str:
    """SQL for :data:`TEXTS`: the cells of ``columns`` as one list of trimmed texts.

    One list expression rather than one per column: DuckDB's optimiser takes time quadratic
    in the number of expressions of a projection, and a file may have 10,000 columns.
    """
    if not columns:
        return f"[]::VARCHAR[] AS {TEXTS}"
    if len(columns) <= FEW_TRAITS:  # a third of the time of the lambda, for few columns
        trimmed = ", ".join(date_parsing.clean_text(ident(c)) for c in columns)
        return f"[{trimmed}] AS {TEXTS}"
    cells = "[" + ", ".join(f"CAST({ident(c)} AS VARCHAR)" for c in columns) + "]"
    return f"list_transform({cells}, lambda v: nullif(trim(v), '')) AS {TEXTS}"


def _is_number(v: str) -> str:
    # Four letters in a row are no amount (a currency code has three): most values of a text
    # column skip the costly parse.
    return (
        f"CASE WHEN regexp_matches({v}, '[A-Za-z]{{4}}') THEN false "
        f"ELSE {value_parsing.parse_decimal(v)} IS NOT NULL "
        f"AND NOT regexp_matches({v}, '^[+-]?0[0-9]') END"
    )


def _is_bare_number(v: str) -> str:
    return f"regexp_full_match({v}, '[+-]?[0-9]+([.,][0-9]+)?')"


def _looks_like_date(v: str) -> str:
    """Cheap test before the costly parse: digits, a separator, digits, a separator, digits."""
    return f"regexp_matches({v}, '^[0-9]{{1,4}}[-/.][0-9]{{1,2}}[-/.][0-9]{{1,4}}')"


def _decide(
    con: duckdb.DuckDBPyConnection, columns: Sequence[str], names: Sequence[str], import_id: str
) -> None:
    """Insert one ``trait_catalog`` row per trait, decided over the good rows of ``_typed``."""
    v = "v"
    is_bool = f"{value_parsing.parse_bool(v)} IS NOT NULL"
    con.execute(
        f"""INSERT INTO trait_catalog
            WITH cells AS (
                SELECT unnest(range(1, len({TEXTS}) + 1)) AS i, unnest({TEXTS}) AS v
                FROM _typed WHERE len(_reasons) = 0
            ), distinct_values AS (  -- each value parsed once, however often it repeats
                SELECT i, v, count(*) AS n FROM cells WHERE v IS NOT NULL GROUP BY i, v
            ), stats AS (
                SELECT i, sum(n) AS n_values, count(*) AS n_distinct,
                       count(*) FILTER (WHERE {is_bool}) AS n_bool,
                       count(*) FILTER (WHERE {is_bool} AND NOT {_is_bare_number(v)}) AS n_words,
                       count(*) FILTER (WHERE {_is_number(v)}) AS n_number,
                       count(*) FILTER (WHERE {_looks_like_date(v)}
                                          AND {date_parsing.parse_date(v)} IS NOT NULL) AS n_date,
                       max_by(v, (n, v), 3) AS examples
                FROM distinct_values GROUP BY i
            ), named AS (
                SELECT unnest(range(1, {len(names)} + 1)) AS i, unnest($names) AS name,
                       unnest($columns) AS source_column
            )
            SELECT name, {sql_literal(import_id)},
                   CASE WHEN n_values IS NULL THEN 'text'
                        WHEN n_bool = n_distinct AND n_words > 0 THEN 'boolean'
                        WHEN n_number = n_distinct THEN 'number'
                        WHEN n_date = n_distinct THEN 'date'
                        WHEN n_distinct <= {MAX_CATEGORIES} AND n_distinct * 2 <= n_values
                        THEN 'category'
                        ELSE 'text' END,
                   source_column, coalesce(n_values, 0), coalesce(n_distinct, 0),
                   coalesce(examples, [])
            FROM named LEFT JOIN stats USING (i)
            ORDER BY i""",
        {"names": list(names), "columns": list(columns)},
    )


def _as_json(text: str, kind: TraitType) -> str:
    """SQL: the JSON value of the cell ``text`` read as ``kind``."""
    if kind == "number":
        return f"to_json(CAST({value_parsing.parse_decimal(text)} AS DOUBLE))"
    if kind == "boolean":
        return f"to_json({value_parsing.parse_bool(text)})"
    if kind == "date":
        return f"to_json(strftime({date_parsing.parse_date(text)}, '%Y-%m-%d'))"
    return f"to_json({text})"


def _typed_value(v: str) -> str:
    """SQL: the JSON value of cell ``v[1]`` read as type ``v[2]`` (a list_zip pair)."""
    text, kind = f"{v}[1]", f"{v}[2]"
    kinds: tuple[TraitType, ...] = ("number", "boolean", "date")
    cases = " ".join(f"WHEN {sql_literal(k)} THEN {_as_json(text, k)}" for k in kinds)
    return f"CASE {kind} {cases} ELSE {_as_json(text, 'text')} END"


@dataclass(frozen=True)
class TypedTraits:
    """The trait columns of an import, their decided types, and how to write them typed."""

    names: list[str]
    types: list[TraitType]

    @property
    def sql(self) -> str:
        """SQL over a relation holding :data:`TEXTS`: the JSON object of typed traits, by name.

        Needs the parameters :attr:`params`.
        """
        if not self.names:
            return "NULL::JSON"
        if len(self.names) <= FEW_TRAITS:
            pairs = (
                f"{sql_literal(name)}, {_as_json(f'{TEXTS}[{i}]', kind)}"
                for i, (name, kind) in enumerate(zip(self.names, self.types, strict=True), 1)
            )
            return f"json_object({', '.join(pairs)})"
        values = f"list_transform(list_zip({TEXTS}, $trait_types), lambda p: {_typed_value('p')})"
        return f"to_json(map($trait_names, {values}))"

    @property
    def params(self) -> dict[str, object]:
        """Names and types as parameters: a literal list of 10,000 strings takes long to parse."""
        if len(self.names) <= FEW_TRAITS:
            return {}
        return {"trait_names": self.names, "trait_types": self.types}

    def by_name(self) -> dict[str, TraitType]:
        return dict(zip(self.names, self.types, strict=True))


def type_traits(
    con: duckdb.DuckDBPyConnection, columns: Sequence[str], import_id: str
) -> TypedTraits:
    """Decide the type of every trait column and catalogue it.

    ``_typed`` holds :data:`TEXTS`, the cells of ``columns``. The values are written typed
    (:attr:`TypedTraits.sql`) by the statement that selects the rows to load, not by a copy of
    the staged table here.
    """
    names = trait_names(columns)
    if not names:
        return TypedTraits([], [])
    _decide(con, columns, names, import_id)
    rows = con.execute(
        "SELECT name, type FROM trait_catalog WHERE import_id = ?", [import_id]
    ).fetchall()
    types: dict[str, TraitType] = {str(n): t for n, t in rows}
    return TypedTraits(names, [types[n] for n in names])
