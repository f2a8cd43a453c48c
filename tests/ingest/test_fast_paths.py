"""The fast readings of common values give exactly what the general readings give.

Plain amounts are cast directly, the currency is looked for only in values with more than
digits, common dates go through ``strptime``, and a file with few trait columns types them by
one expression per column: each is checked here against the general path, on values chosen
at its edges.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from audience.ingest import date_parsing, traits, value_parsing
from audience.ingest.traits import TraitType, TypedTraits


def evaluate(expression: str, value: str | None) -> object:
    rows = duckdb.connect().execute(f"SELECT {expression} FROM (SELECT ?::VARCHAR AS x)", [value])
    return rows.fetchall()[0][0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", Decimal("12")),
        ("12,5", Decimal("12.5")),
        ("12.50", Decimal("12.5")),
        ("007", Decimal("7")),
        ("12.34567", Decimal("12.3457")),  # rounded to four places, as the general reading
        ("99999999999999", Decimal("99999999999999")),
        ("999999999999999", None),  # beyond DECIMAL(18, 4): unreadable, not an error
        ("12,", Decimal("12")),  # not plain: the general reading, as before
        (",5", Decimal("0.5")),  # not plain: the general reading
        ("1 234,50", Decimal("1234.5")),
        ("12,50 EUR", Decimal("12.5")),
    ],
)
def test_plain_amounts_read_as_the_general_reading_does(text: str, expected: object) -> None:
    assert evaluate(value_parsing.parse_decimal("x"), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12,50", None),
        ("1234", None),
        ("1.234,50", None),
        ("12,50 EUR", "EUR"),
        ("€12.50", "EUR"),
        ("12.50 $", "USD"),
        ("usd 3", "USD"),
        ("12 XYZ", None),
        (None, None),
    ],
)
def test_only_an_amount_with_more_than_digits_names_a_currency(
    text: str | None, expected: object
) -> None:
    assert evaluate(value_parsing.amount_currency("x"), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        ("00000000000042", 42),
        ("2,0", 2),
        ("2,5", None),
        ("123456789012345", None),  # 15 digits: beyond the amounts' DECIMAL, as before
        ("1 000", 1000),
    ],
)
def test_integers_read_fast_or_not_alike(text: str, expected: object) -> None:
    assert evaluate(value_parsing.parse_integer("x"), text) == expected


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("25/11/2026", "dmy", date(2026, 11, 25)),
        ("25.11.2026", "dmy", date(2026, 11, 25)),
        ("25/11-2026", "dmy", date(2026, 11, 25)),  # mixed separators, as the grammar takes
        ("11/25/2026", "mdy", date(2026, 11, 25)),
        ("25/11/2026", "ymd", date(2026, 11, 25)),  # a four-digit last year: day first
        ("2026/11/25", "mdy", date(2026, 11, 25)),
        ("29/02/2024", "dmy", date(2024, 2, 29)),
        ("29/02/2023", "dmy", None),
        ("2026-04-31", "dmy", None),
        ("01/01/0000", "dmy", None),  # no year 0: the general reading refuses it too
        ("0000-01-01", "dmy", None),
        ("5/1/2026", "dmy", date(2026, 1, 5)),  # one-digit day: the general reading
    ],
)
def test_common_dates_read_by_strptime_as_by_the_grammar(
    text: str, order: date_parsing.DateOrder, expected: object
) -> None:
    assert evaluate(date_parsing.parse_date("x", order), text) == expected


CELLS: list[tuple[str, TraitType, list[str | None]]] = [
    ("points", "number", ["1 234,50", "7", None, "x", "12,50 EUR"]),
    ("depuis", "date", ["14/03/2025", "2024-01-31", None, "31/02/2024", "5/1/2020"]),
    ("vip", "boolean", ["oui", "NON", None, "peut-être", "1"]),
    ("tier", "category", ["gold", 'or "24"', None, "ü\\n", "1"]),
    ("note", "text", ["aime le thé", "tab\tthere", None, '{"a": 1}', "12"]),
]


def _typed(few: int, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The traits JSON of each row of :data:`CELLS`, with ``few`` as :data:`FEW_TRAITS`."""
    monkeypatch.setattr(traits, "FEW_TRAITS", few)
    con = duckdb.connect()
    rows = list(zip(*(cells for _, _, cells in CELLS), strict=True))
    con.execute("CREATE TABLE src (c1 VARCHAR, c2 VARCHAR, c3 VARCHAR, c4 VARCHAR, c5 VARCHAR)")
    con.executemany("INSERT INTO src VALUES (?, ?, ?, ?, ?)", [list(r) for r in rows])
    texts = traits.texts_select(["c1", "c2", "c3", "c4", "c5"])
    con.execute(f"CREATE TABLE staged AS SELECT rowid AS n, {texts} FROM src")
    typed = TypedTraits([name for name, _, _ in CELLS], [kind for _, kind, _ in CELLS])
    got = con.execute(f"SELECT CAST({typed.sql} AS VARCHAR) FROM staged ORDER BY n", typed.params)
    return [r[0] for r in got.fetchall()]


def test_few_traits_are_typed_as_many_are(monkeypatch: pytest.MonkeyPatch) -> None:
    few, many = _typed(100, monkeypatch), _typed(0, monkeypatch)
    assert few == many  # the same JSON text, not only the same values
    first = json.loads(str(few[0]))
    assert first == {
        "points": 1234.5,
        "depuis": "2025-03-14",
        "vip": True,
        "tier": "gold",
        "note": "aime le thé",
    }
    assert json.loads(str(few[3]))["depuis"] is None  # 31/02 is no day
    assert json.loads(str(few[2])) == dict.fromkeys(first)  # empty cells are nulls
