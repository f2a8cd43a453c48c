"""SQL expressions that parse raw text into typed values, the French way.

Each builder takes a SQL expression yielding the raw text (NULL when absent) and returns a
SQL expression yielding the typed value, NULL when the text cannot be read. Parsing runs in
the warehouse, vectorised, so millions of rows parse in seconds.

Conventions:

- dates are day-first (``25/11/2026``), never month-first;
- a bare number is a spreadsheet serial (5 digits, days since 1899-12-30, the fraction being
  the time of day) or Unix epoch seconds (9-10 digits) or milliseconds (12-13 digits);
- a timestamp without an offset is a local time in the workspace's zone, stored in UTC;
- a date that is not on the calendar (``30/02/2026``, ``2026-04-31``) is not read at all,
  never rolled over to the next month; :func:`calendar_error` says what is wrong with it;
- a comma is the decimal separator unless a dot is also present and comes after it;
  spaces (also non-breaking) are thousands separators; a currency sign or ISO code before or
  after an amount is read apart (:func:`amount_currency`).
"""

from __future__ import annotations

from audience.store.sql import sql_literal

_ZONED_FORMATS = [
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S.%f%z",
    "%Y-%m-%dT%H:%M%z",
]
_LOCAL_FORMATS = [
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y/%m/%d",
]
_DATE_FORMATS = [
    "%d/%m/%Y",
    "%Y-%m-%d",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
]
TRUE_WORDS = ("1", "true", "t", "yes", "y", "oui", "o", "vrai", "x", "granted", "opt-in", "optin")
FALSE_WORDS = ("0", "false", "f", "no", "n", "non", "faux", "denied", "opt-out", "optout")


def _formats(formats: list[str]) -> str:
    return "[" + ", ".join(sql_literal(f) for f in formats) + "]"


def clean_text(raw: str) -> str:
    """Trimmed text, NULL when empty."""
    return f"nullif(trim(CAST({raw} AS VARCHAR)), '')"


_EXCEL_EPOCH = "TIMESTAMP '1899-12-30'"


def _serial(text: str) -> str:
    """A spreadsheet serial number as a wall-clock TIMESTAMP, NULL for anything else."""
    return (
        f"CASE WHEN regexp_full_match({text}, '[1-9][0-9]{{4}}([.,][0-9]+)?') THEN "
        f"{_EXCEL_EPOCH} + to_microseconds(CAST(round(CAST(replace({text}, ',', '.') AS DOUBLE)"
        " * 86400e6) AS BIGINT)) END"
    )


def _epoch(text: str) -> str:
    """Unix epoch seconds or milliseconds as a UTC TIMESTAMP, NULL for anything else."""
    return (
        f"CASE WHEN regexp_full_match({text}, '[0-9]{{9,10}}') "
        f"THEN timezone('UTC', to_timestamp(CAST({text} AS BIGINT))) "
        f"WHEN regexp_full_match({text}, '[0-9]{{12,13}}') "
        f"THEN timezone('UTC', to_timestamp(CAST({text} AS BIGINT) / 1000.0)) END"
    )


def parse_timestamp(text: str, timezone: str) -> str:
    """Text -> TIMESTAMP in UTC; offsets honoured, naive times read in ``timezone``."""
    zone = sql_literal(timezone)
    # A text ending in Z or an offset names its instant: DuckDB's own ISO 8601 cast reads it
    # fastest; strptime covers the rest (its %z reads +01:00 but not the 'Z' of UTC). Given
    # several formats with %z, strptime rolls 2026-02-30 over to March: the day (every zoned
    # format starts with %Y-%m-%d) must first be a date of the calendar.
    has_offset = f"(right({text}, 1) IN ('Z', 'z') OR substr({text}, -6, 1) IN ('+', '-'))"
    zoned = f"regexp_replace({text}, '[Zz]$', '+00:00')"
    day = f"split_part(split_part({text}, 'T', 1), ' ', 1)"
    return (
        f"CASE WHEN {has_offset} THEN CASE WHEN TRY_CAST({day} AS DATE) IS NOT NULL THEN "
        f"coalesce(timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ)), "
        f"timezone('UTC', try_strptime({zoned}, {_formats(_ZONED_FORMATS)}))) END "
        f"WHEN regexp_full_match({text}, '[0-9]+([.,][0-9]+)?') THEN coalesce({_epoch(text)}, "
        f"timezone('UTC', timezone({zone}, {_serial(text)}))) "
        f"ELSE timezone('UTC', timezone({zone}, try_strptime({text}, {_formats(_LOCAL_FORMATS)}))) "
        "END"
    )


def parse_date(text: str) -> str:
    """Text -> DATE, day-first."""
    return (
        f"CASE WHEN regexp_full_match({text}, '[0-9]+([.,][0-9]+)?') "
        f"THEN CAST(coalesce({_serial(text)}, {_epoch(text)}) AS DATE) "
        f"ELSE CAST(try_strptime({text}, {_formats(_DATE_FORMATS)}) AS DATE) END"
    )


_YEAR_FIRST = r"^([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})([T ]|$)"
_DAY_FIRST = r"^([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4})([ T]|$)"


def date_parts(text: str) -> str:
    """Text -> STRUCT(y, m, d) of texts when shaped like a date (year or day first), else NULL."""
    ymd = f"regexp_extract({text}, {sql_literal(_YEAR_FIRST)}, ['y', 'm', 'd'])"
    dmy = f"regexp_extract({text}, {sql_literal(_DAY_FIRST)}, ['d', 'm', 'y'])"
    return (
        f"CASE WHEN regexp_matches({text}, {sql_literal(_YEAR_FIRST)}) THEN {ymd} "
        f"WHEN regexp_matches({text}, {sql_literal(_DAY_FIRST)}) "
        f"THEN struct_pack(y := {dmy}.y, m := {dmy}.m, d := {dmy}.d) END"
    )


def calendar_error(text: str, parts: str) -> str:
    """Why a text shaped like a date is no day of the calendar; NULL when it is one.

    ``parts`` is :func:`date_parts` of ``text`` (a column, so that it is computed once).
    """
    y, m, d = (f"CAST({parts}.{k} AS INTEGER)" for k in "ymd")
    first = f"make_date({y}, {m}, 1)"
    days = f"day(last_day({first}))"
    return (
        f"CASE WHEN {parts} IS NULL THEN NULL "
        f"WHEN {m} NOT BETWEEN 1 AND 12 THEN {quoted(text)} || ' has no month ' || {m} || "
        "': dates are read day first (DD/MM/YYYY) or year first (YYYY-MM-DD)' "
        f"WHEN {d} NOT BETWEEN 1 AND {days} THEN {quoted(text)} || ' is not a calendar date: ' "
        f"|| monthname({first}) || ' ' || {y} || ' has ' || {days} || ' days' END"
    )


def quoted(text: str, limit: int = 40) -> str:
    """SQL: ``text`` between single quotes, for a message; cut after ``limit`` characters."""
    return (
        f"'''' || CASE WHEN length({text}) > {limit} THEN left({text}, {limit}) || '...' "
        f"ELSE {text} END || ''''"
    )


CURRENCY_SIGNS = {"€": "EUR", "£": "GBP", "$": "USD", "¥": "JPY"}
"""A sign in an amount and the currency it stands for (``$`` is read as the US dollar)."""

CURRENCY_CODES = (
    "EUR", "USD", "GBP", "CHF", "CAD", "AUD", "NZD", "JPY", "CNY", "HKD", "SGD", "SEK", "NOK",
    "DKK", "PLN", "CZK", "HUF", "RON", "BGN", "TRY", "MAD", "TND", "DZD", "XOF", "XAF", "XPF",
    "BRL", "MXN", "INR", "ZAR",
)  # fmt: skip
"""ISO 4217 codes an amount may carry before or after the number (``EUR 12,50``,
``12,50 eur``); any other letters make the amount unreadable."""

_CODE = "(" + "|".join(CURRENCY_CODES) + ")"


def parse_decimal(text: str) -> str:
    """Text -> DECIMAL(18, 4), decimal comma or dot, thousands separators removed.

    A currency sign or code before or after the number is decoration (``12,50 EUR``,
    ``€12.50``, ``1 234,50 €``): :func:`amount_currency` says which currency it names.
    """
    signs = "".join(CURRENCY_SIGNS)
    # One pass drops the code at either end, the signs and the spaces.
    bare = (
        f"regexp_replace({text}, '(?i)^\\s*{_CODE}|{_CODE}\\s*$|[\\s\u00a0\u202f{signs}]', '', 'g')"
    )
    normalised = (
        f"CASE WHEN strpos({bare}, ',') > 0 AND strpos({bare}, '.') > 0 THEN "
        f"  CASE WHEN strpos(reverse({bare}), ',') < strpos(reverse({bare}), '.') "
        f"       THEN replace(replace({bare}, '.', ''), ',', '.') "
        f"       ELSE replace({bare}, ',', '') END "
        f"WHEN strpos({bare}, ',') > 0 THEN replace({bare}, ',', '.') "
        f"ELSE {bare} END"
    )
    return f"TRY_CAST({normalised} AS DECIMAL(18, 4))"


def amount_currency(text: str) -> str:
    """SQL: the ISO code of the currency an amount's text names by sign or code, else NULL."""
    signs = " ".join(
        f"WHEN strpos({text}, {sql_literal(sign)}) > 0 THEN {sql_literal(code)}"
        for sign, code in CURRENCY_SIGNS.items()
    )
    before = f"regexp_extract({text}, '(?i)^\\s*{_CODE}', 1)"
    after = f"regexp_extract({text}, '(?i){_CODE}\\s*$', 1)"
    return (
        f"CASE {signs} WHEN regexp_matches({text}, '[A-Za-z]') "
        f"THEN upper(coalesce(nullif({before}, ''), nullif({after}, ''))) END"
    )


def parse_integer(text: str) -> str:
    """Text -> BIGINT; '2,0' is 2, '2,5' is not an integer."""
    value = parse_decimal(text)
    return f"CASE WHEN {value} = trunc({value}) THEN CAST({value} AS BIGINT) END"


def parse_bool(text: str) -> str:
    """Text -> BOOLEAN from French and English yes/no words."""
    word = f"lower({text})"
    return (
        f"CASE WHEN {word} IN ({', '.join(map(sql_literal, TRUE_WORDS))}) THEN true "
        f"WHEN {word} IN ({', '.join(map(sql_literal, FALSE_WORDS))}) THEN false END"
    )


def parse_json(text: str) -> str:
    """Text -> JSON, NULL when not valid JSON."""
    return f"TRY_CAST({text} AS JSON)"
