from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import duckdb
import pytest

from audience.ingest import date_parsing, value_parsing


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
    assert evaluate(date_parsing.parse_timestamp("x", "Europe/Paris"), text) == expected


def test_naive_timestamps_follow_the_configured_zone() -> None:
    assert evaluate(date_parsing.parse_timestamp("x", "UTC"), "25/11/2026 14:03") == datetime(
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
    assert evaluate(value_parsing.parse_decimal("x"), text) == expected


@pytest.mark.parametrize(("text", "expected"), [("3", 3), ("2,0", 2), ("2,5", None)])
def test_integers_refuse_fractions(text: str, expected: object) -> None:
    assert evaluate(value_parsing.parse_integer("x"), text) == expected


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
    assert evaluate(date_parsing.parse_date("x"), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("oui", True), ("Non", False), ("1", True), ("0", False), ("O", True), ("peut-être", None)],
)
def test_booleans_read_french_and_english_words(text: str, expected: object) -> None:
    assert evaluate(value_parsing.parse_bool("lower(x)"), text) == expected


# Each format shape read with a day that is not on the calendar: none is rolled over.
IMPOSSIBLE = [
    "30/02/2026 10:00:00",
    "30/02/2026 10:00",
    "30/02/2026",
    "2026-02-30T10:00:00",
    "2026-02-30T10:00:00.5",
    "2026-02-30 10:00:00",
    "2026-02-30 10:00:00.5",
    "2026-02-30 10:00",
    "2026-02-30",
    "30-02-2026 10:00:00",
    "30-02-2026 10:00",
    "30-02-2026",
    "30.02.2026 10:00",
    "30.02.2026",
    "2026/02/30",
    "2026-02-30T10:00:00Z",
    "2026-02-30T10:00:00+01:00",
    "2026-02-30T10:00:00.5+01:00",
    "2026-02-30 10:00:00+01:00",
    "2026-02-30 10:00:00.5+01:00",
    "2026-02-30T10:00+01:00",
    "31/04/2026",
    "2025-02-29T10:00:00Z",
]


@pytest.mark.parametrize("text", IMPOSSIBLE)
def test_a_day_off_the_calendar_is_never_rolled_over(text: str) -> None:
    assert evaluate(date_parsing.parse_timestamp("x", "Europe/Paris"), text) is None
    assert evaluate(date_parsing.parse_date("x"), text) is None


def test_a_leap_day_is_on_the_calendar() -> None:
    assert evaluate(date_parsing.parse_timestamp("x", "UTC"), "2024-02-29T10:00:00Z") == datetime(
        2024, 2, 29, 10
    )
    assert evaluate(date_parsing.parse_date("x"), "29/02/2024") == date(2024, 2, 29)


def calendar_error(value: str) -> object:
    sql = (
        f"SELECT {date_parsing.calendar_error('x', 'f')} FROM (SELECT x, "
        f"{date_parsing.date_fields(date_parsing.date_match('x'), 'dmy', 2026)} AS f "
        "FROM (SELECT ?::VARCHAR AS x))"
    )
    return duckdb.connect().execute(sql, [value]).fetchall()[0][0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02-30", "'2026-02-30' is not a calendar date: February 2026 has 28 days"),
        ("31/04/2026 10:00", "'31/04/2026 10:00' is not a calendar date: April 2026 has 30 days"),
        ("30.02.2024", "'30.02.2024' is not a calendar date: February 2024 has 29 days"),
        ("00/01/2026", "'00/01/2026' is not a calendar date: January 2026 has 31 days"),
        (
            "11/25/2026",
            "'11/25/2026' has no month 25: dates are read day first (DD/MM/YYYY) or year first "
            "(YYYY-MM-DD)",
        ),
        ("2026-02-28", None),  # on the calendar
        ("hier", None),  # not shaped like a date
        ("46351", None),
    ],
)
def test_calendar_error_says_why_a_date_is_not_a_day(text: str, expected: object) -> None:
    assert calendar_error(text) == expected
