from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import duckdb
import pytest

from audience.ingest import parsing


def evaluate(expression: str, value: str | None) -> object:
    rows = duckdb.connect().execute(f"SELECT {expression} FROM (SELECT ?::VARCHAR AS x)", [value])
    return rows.fetchall()[0][0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25/11/2026", datetime(2026, 11, 24, 23, 0)),  # midnight in Paris is 23:00 UTC
        ("25/11/2026 14:03", datetime(2026, 11, 25, 13, 3)),
        ("2026-11-25T14:03:00+01:00", datetime(2026, 11, 25, 13, 3)),
        ("2026-07-01T14:03:00+02:00", datetime(2026, 7, 1, 12, 3)),
        ("2026-07-01 14:03", datetime(2026, 7, 1, 12, 3)),  # summer time: UTC+2
        ("2026-11-25T14:03:00Z", datetime(2026, 11, 25, 14, 3)),
        ("2026-11-25T14:03:00.250Z", datetime(2026, 11, 25, 14, 3, 0, 250000)),
        ("46351", datetime(2026, 11, 24, 23, 0)),  # spreadsheet serial: a Paris midnight
        ("46351.5", datetime(2026, 11, 25, 11, 0)),  # noon in Paris
        ("1795611780", datetime(2026, 11, 25, 13, 3)),  # epoch seconds are UTC
        ("1795611780000", datetime(2026, 11, 25, 13, 3)),  # epoch milliseconds
        ("31/02/2026", None),
        ("11/25/2026", None),  # month-first is not a French date
        ("hier", None),
    ],
)
def test_timestamps_are_read_the_french_way_and_stored_in_utc(text: str, expected: object) -> None:
    assert evaluate(parsing.parse_timestamp("x", "Europe/Paris"), text) == expected


def test_naive_timestamps_follow_the_configured_zone() -> None:
    assert evaluate(parsing.parse_timestamp("x", "UTC"), "25/11/2026 14:03") == datetime(
        2026, 11, 25, 14, 3
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12,50", Decimal("12.5")),
        ("1 234,56", Decimal("1234.56")),
        ("1\u00a0234,56", Decimal("1234.56")),
        ("1.234,56", Decimal("1234.56")),
        ("1,234.56", Decimal("1234.56")),
        ("12.5", Decimal("12.5")),
        ("-3,20 €", Decimal("-3.2")),
        ("douze", None),
    ],
)
def test_decimals_accept_commas_spaces_and_currency_signs(text: str, expected: object) -> None:
    assert evaluate(parsing.parse_decimal("x"), text) == expected


@pytest.mark.parametrize(("text", "expected"), [("3", 3), ("2,0", 2), ("2,5", None)])
def test_integers_refuse_fractions(text: str, expected: object) -> None:
    assert evaluate(parsing.parse_integer("x"), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25/01/1969", date(1969, 1, 25)),
        ("1969-01-25", date(1969, 1, 25)),
        ("25-01-1969", date(1969, 1, 25)),
        ("25.01.1969", date(1969, 1, 25)),
        ("1969", None),
        ("25228", date(1969, 1, 25)),
        ("-5", None),
    ],
)
def test_dates_are_day_first(text: str, expected: object) -> None:
    assert evaluate(parsing.parse_date("x"), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("oui", True), ("Non", False), ("1", True), ("0", False), ("O", True), ("peut-être", None)],
)
def test_booleans_read_french_and_english_words(text: str, expected: object) -> None:
    assert evaluate(parsing.parse_bool("lower(x)"), text) == expected
