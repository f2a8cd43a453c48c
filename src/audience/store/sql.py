"""Quoting for SQL built as text: every name and constant goes through here, never raw."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def literal(value: Any) -> str:
    """A Python constant as a typed SQL literal (strings escaped, never interpolated raw)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        return f"'{float(value)!r}'::DOUBLE"
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return sql_literal(value)
    raise TypeError(f"no SQL literal for {value!r}")


NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)
"""DuckDB's numeric column types (a ``DECIMAL(p, s)`` starts with ``DECIMAL``)."""
