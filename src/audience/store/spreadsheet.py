"""CSV cells a spreadsheet would run as a formula, defused (OWASP's CSV injection rule).

A customer id or a segment name such as ``=HYPERLINK("http://evil.example/","Click")`` or
``+cmd|' /C calc'!A0`` becomes a live formula when a marketer opens the export in Excel,
LibreOffice or Google Sheets. Every *text* cell starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return is written with a single quote in front, which spreadsheets show as text.
Numbers are left alone: a number column is never touched, and a text cell that is only a signed
number (``-12.50``, an E.164 phone number ``+33612345678``, ``+33 6 12 34 56 78``) cannot call
anything, so it keeps its sign. JSON exports are not spreadsheets and keep every value as it is.

Examples
--------
>>> neutralise('=HYPERLINK("http://evil.example/","Click")')
'\\'=HYPERLINK("http://evil.example/","Click")'
>>> neutralise("+33612345678"), neutralise("Champions")
('+33612345678', 'Champions')
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb

from audience.store.sql import ident

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP)."""
PLAIN_NUMBER = r"[+-][0-9][0-9 .]*"
"""A sign, digits, spaces and dots only: a number or a phone number, never a formula call."""

_TEXT_TYPES = ("VARCHAR",)


def neutralise(value: str) -> str:
    """A text cell as a spreadsheet may open it: quoted when it would start a formula."""
    if value.startswith(FORMULA_STARTS) and not re.fullmatch(PLAIN_NUMBER, value):
        return "'" + value
    return value


def neutralise_sql(expr: str) -> str:
    """SQL applying :func:`neutralise` to a text expression (vectorised; NULL stays NULL)."""
    starts = ", ".join(f"chr({ord(c)})" for c in FORMULA_STARTS)
    return (
        f"CASE WHEN left({expr}, 1) IN ({starts}) "
        f"AND NOT regexp_full_match({expr}, '{PLAIN_NUMBER}') "
        f"THEN '''' || {expr} ELSE {expr} END"
    )


def spreadsheet_safe(
    con: duckdb.DuckDBPyConnection, query: str, order_by: Sequence[str] = ()
) -> str:
    """``query`` with every text column neutralised, for ``COPY (...) TO 'x.csv'``.

    Parameters
    ----------
    con:
        The connection that will run the query (its column types are read from it).
    query:
        A SELECT without ORDER BY (an inner ORDER BY may not survive the outer select).
    order_by:
        Output columns of ``query`` to sort by, compared as they are before neutralisation.
    """
    columns = con.execute(f"DESCRIBE {query}").fetchall()
    exprs = []
    for name, kind, *_ in columns:
        source = f"_q.{ident(name)}"
        safe = neutralise_sql(source) if str(kind) in _TEXT_TYPES else source
        exprs.append(f"{safe} AS {ident(name)}")
    order = f" ORDER BY {', '.join(f'_q.{ident(c)}' for c in order_by)}" if order_by else ""
    return f"SELECT {', '.join(exprs)} FROM ({query}) AS _q{order}"
