"""SQL expressions that parse dates and timestamps from raw text, as people write them.

Each builder takes a SQL expression yielding the raw text (NULL when absent) and returns a
SQL expression yielding the typed value, NULL when the text cannot be read. Parsing runs in
the warehouse, vectorised, so millions of rows parse in seconds.

Conventions:

- a date is three numbers separated by ``-``, ``/`` or ``.``: a four-digit first number is
  a year (``2026-11-25``, ``2026/11/25``); with the year last, day and month follow the
  column's order (``25/11/2026`` day first, ``11/25/2026`` month first), decided per column
  from its values by :mod:`audience.ingest.date_order`;
- a two-digit year is the latest year so ending that is not after the import's year: in
  2026, ``25`` is 2025, ``26`` is 2026 and ``27`` is 1927 (the sliding window of a customer
  file, where most two-digit years are birth years or past orders);
- a time follows after ``T`` or spaces: ``13:45``, ``13:45:12``, ``13:45:12.250``,
  ``13h45``, ``13h``, ``10:15 AM``, ``10:15:00 pm``; then maybe an offset, after a space
  or not: ``Z``, ``UTC``, ``GMT``, ``+01``, ``+0100``, ``+01:00``;
- a time without an offset, and a bare date in a timestamp column, is a local time in the
  workspace's zone, stored in UTC (``2025-03-14`` is 2025-03-13 23:00 UTC in Paris);
- a bare number is a spreadsheet serial (5 digits, days since 1899-12-30, the fraction being
  the time of day) or Unix epoch seconds (9-10 digits) or milliseconds (12-13 digits);
- a date that is not on the calendar (``30/02/2026``, ``2026-04-31``) is not read at all,
  never rolled over to the next month; :func:`calendar_error` says what is wrong with it;
"""

from __future__ import annotations

import re
from typing import Literal

from audience.store.sql import sql_literal


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


DateOrder = Literal["dmy", "mdy", "ymd"]
DATE_ORDERS: tuple[DateOrder, ...] = ("dmy", "mdy", "ymd")

# One grammar for every written date: three numbers with - / or . between them; then maybe a
# time after a T or spaces (13:45, 13:45:12.250, 13h45, 13h, 10:15 AM, 10 pm); then maybe an
# offset, after a space or not (Z, UTC, GMT, +01, +0100, +01:00). Which number is the day, the
# month and the year is decided afterwards from their lengths and the column's order. One
# regular expression is faster than trying a list of strptime formats, and it never rolls
# 30/02 over to March.
_DATE_TEXT = (
    r"([0-9]{1,4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,4})"
    r"(?:(?:[Tt]|\s+)([0-9]{1,2})(?:([:hH])([0-9]{2})?(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?)?)?"
    r"\s*((?i:[ap]\.?m\.?))?"
    r"\s*((?i:z|utc|gmt)|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_PIECES = "['a', 'b', 'c', 'hh', 'sep', 'mi', 'ss', 'frac', 'ampm', 'tz']"
_NUMBER = "'[0-9]+([.,][0-9]+)?'"
_MONTHS = (
    "['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', "
    "'October', 'November', 'December']"
)
_HOW_READ: dict[DateOrder, str] = {
    "dmy": "dates are read day first (DD/MM/YYYY) or year first (YYYY-MM-DD)",
    "mdy": "dates of this column are read month first (MM/DD/YYYY) or year first (YYYY-MM-DD)",
    "ymd": "dates of this column are read year first (YY/MM/DD or YYYY-MM-DD)",
}


def date_match(text: str) -> str:
    """SQL: the pieces of a text shaped like a date, a STRUCT of texts; NULL for other texts.

    Compute it once per value (a column of a CTE) and hand it to :func:`date_fields`.
    """
    pattern = sql_literal(_DATE_TEXT)
    return (
        f"CASE WHEN regexp_full_match({text}, {pattern}) "
        f"THEN regexp_extract({text}, {pattern}, {_PIECES}) END"
    )


def _int(piece: str) -> str:
    return f"CAST(nullif({piece}, '') AS INTEGER)"


def _year(piece: str, this_year: int) -> str:
    """A year of four digits as written; of two, the latest year so ending not after this one."""
    two = f"({this_year // 100 * 100} + {_int(piece)})"
    return (
        f"CASE WHEN length({piece}) = 4 THEN {_int(piece)} "
        f"WHEN {two} > {this_year} THEN {two} - 100 ELSE {two} END"
    )


def date_fields(match: str, order: DateOrder, this_year: int) -> str:
    """SQL: STRUCT(y, m, d, hh, mi, ss, us, off, bad_time) from :func:`date_match`.

    A four-digit first number is a year (year first, ISO) and a four-digit last number is a
    year (the other two read month first for ``mdy``, day first otherwise); with a two-digit
    year all three follow ``order``, the year being the latest so ending not after
    ``this_year``. ``hh`` is on 24 hours; ``off`` is the offset in minutes, NULL for a naive
    time; ``bad_time`` says the time is no time of the day. The day may be off the calendar:
    :func:`date_valid` says whether it is on it. NULL when no such reading exists.
    """
    a, b, c = (f"{match}.{k}" for k in "abc")
    iso = f"(length({a}) = 4 AND length({c}) <= 2)"
    year_last = f"(length({c}) = 4 AND length({a}) <= 2)"
    short = f"(length({c}) = 2 AND length({a}) <= 2)"
    first_m, first_d = (a, b) if order == "mdy" else (b, a)
    short_y, short_m, short_d = (a, b, c) if order == "ymd" else (c, first_m, first_d)
    y = (
        f"CASE WHEN {iso} THEN {_int(a)} WHEN {year_last} THEN {_int(c)} "
        f"ELSE {_year(short_y, this_year)} END"
    )
    m, d = (
        f"CASE WHEN {iso} THEN {_int(iso_k)} WHEN {year_last} THEN {_int(last_k)} "
        f"ELSE {_int(short_k)} END"
        for iso_k, last_k, short_k in ((b, first_m, short_m), (c, first_d, short_d))
    )
    hour = f"coalesce({_int(match + '.hh')}, 0)"
    half = f"upper(left({match}.ampm, 1))"
    hh = f"CASE {half} WHEN 'A' THEN {hour} % 12 WHEN 'P' THEN {hour} % 12 + 12 ELSE {hour} END"
    minute, second = (f"coalesce({_int(f'{match}.{k}')}, 0)" for k in ("mi", "ss"))
    digits = f"regexp_replace({match}.tz, '[^0-9]', '', 'g')"
    off_h, off_m = f"{_int(f'left({digits}, 2)')}", f"coalesce({_int(f'substr({digits}, 3)')}, 0)"
    off = (
        f"CASE WHEN {match}.tz = '' THEN NULL WHEN {digits} = '' THEN 0 "
        f"ELSE CASE WHEN left({match}.tz, 1) = '-' THEN -1 ELSE 1 END "
        f"* ({off_h} * 60 + {off_m}) END"
    )
    # An hour alone needs an h or AM/PM (2025-03-14 13 is no time); AM/PM needs an hour 1-12.
    bad_time = (
        f"({match}.hh <> '' AND {match}.sep = '' AND {match}.ampm = '') "
        f"OR ({match}.ampm <> '' AND NOT {hour} BETWEEN 1 AND 12) "
        f"OR {hour} > 23 OR {minute} > 59 OR {second} > 59 "
        f"OR coalesce({off_h} > 14 OR {off_m} > 59, false)"
    )
    return (
        f"CASE WHEN {iso} OR {year_last} OR {short} THEN struct_pack(y := {y}, m := {m}, "
        f"d := {d}, hh := {hh}, mi := {minute}, ss := {second}, "
        f"us := coalesce({_int(f'left(rpad({match}.frac, 6, {chr(39)}0{chr(39)}), 6)')}, 0), "
        f"off := {off}, bad_time := {bad_time}) END"
    )


def _days_in_month(fields: str) -> str:
    y, m = f"{fields}.y", f"{fields}.m"
    leap = f"CASE WHEN ({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0 THEN 1 ELSE 0 END"
    return f"CASE WHEN {m} = 2 THEN 28 + {leap} ELSE 30 + ({m} + {m} // 8) % 2 END"


def date_valid(fields: str) -> str:
    """SQL: whether :func:`date_fields` are a day of the calendar and a time of the day."""
    return (
        f"({fields} IS NOT NULL AND {fields}.y >= 1 AND {fields}.m BETWEEN 1 AND 12 "
        f"AND {fields}.d BETWEEN 1 AND {_days_in_month(fields)} AND NOT {fields}.bad_time)"
    )


def timestamp_of(text: str, fields: str, timezone: str) -> str:
    """SQL: TIMESTAMP in UTC from the text and its :func:`date_fields`, NULL when unreadable.

    A time with an offset is that instant; a naive time, a bare date included, is a local
    time in ``timezone``; a bare number is a spreadsheet serial (local) or Unix time (UTC).
    """
    zone = sql_literal(timezone)
    local = (
        f"make_timestamp({fields}.y, {fields}.m, {fields}.d, {fields}.hh, {fields}.mi, "
        f"{fields}.ss) + to_microseconds({fields}.us)"
    )
    return (
        f"CASE WHEN regexp_full_match({text}, {_NUMBER}) THEN coalesce({_epoch(text)}, "
        f"timezone('UTC', timezone({zone}, {_serial(text)}))) "
        f"WHEN {date_valid(fields)} THEN CASE WHEN {fields}.off IS NULL "
        f"THEN timezone('UTC', timezone({zone}, {local})) "
        f"ELSE {local} - to_minutes({fields}.off) END END"
    )


def date_of(text: str, fields: str) -> str:
    """SQL: DATE from the text and its :func:`date_fields` (a time, if any, is dropped)."""
    return (
        f"CASE WHEN regexp_full_match({text}, {_NUMBER}) "
        f"THEN CAST(coalesce({_serial(text)}, {_epoch(text)}) AS DATE) "
        f"WHEN {date_valid(fields)} THEN make_date({fields}.y, {fields}.m, {fields}.d) END"
    )


# The shape of a column's first value, read by DuckDB's own parsers (several times faster than
# the regular expression above): values of exactly that length that they read are read; the
# others take the general path. Single-format strptime and the TIMESTAMPTZ cast both refuse a
# day off the calendar.
_SIMPLE = re.compile(
    r"(\d{2}|\d{4})([-/.])(\d{2})\2(\d{2}|\d{4})(?:([T ])(\d{2}):(\d{2})(:\d{2})?)?"
)
_ISO_ZONED = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}:?\d{2})"
)


def _simple_format(example: str, order: DateOrder) -> str | None:
    shaped = _SIMPLE.fullmatch(example)
    if shaped is None:
        return None
    a, sep, _, c, t, _, _, seconds = shaped.groups()
    if len(a) == 4 and len(c) == 2:
        date = f"%Y{sep}%m{sep}%d"
    elif len(a) == 2 and len(c) == 4:
        date = f"%m{sep}%d{sep}%Y" if order == "mdy" else f"%d{sep}%m{sep}%Y"
    else:
        return None
    return date + (f"{t}%H:%M" + (":%S" if seconds else "") if t else "")


def quick_read(text: str, example: str, order: DateOrder, timezone: str | None) -> str:
    """SQL: the value, read fast when shaped exactly like ``example``, else NULL.

    A UTC TIMESTAMP for a timestamp column (``timezone`` given), a DATE otherwise.
    """
    same = f"length({text}) = {len(example)}"
    fmt = _simple_format(example, order)
    if fmt is not None:
        value = f"try_strptime({text}, {sql_literal(fmt)})"
        if timezone is None:
            return f"CASE WHEN {same} THEN CAST({value} AS DATE) END"
        return (
            f"CASE WHEN {same} THEN timezone('UTC', timezone({sql_literal(timezone)}, {value})) END"
        )
    if timezone is not None and _ISO_ZONED.fullmatch(example):
        # DuckDB's cast takes offsets up to 15:59; none is beyond 14:00.
        if example[-1] in "Zz":
            zoned = f"right({text}, 1) IN ('Z', 'z')"
        elif example[-3] == ":":
            zoned = (
                f"substr({text}, -6, 1) IN ('+', '-') AND substr({text}, -3, 1) = ':' "
                f"AND substr({text}, -5, 2) <= '14'"
            )
        else:
            zoned = f"substr({text}, -5, 1) IN ('+', '-') AND substr({text}, -4, 2) <= '14'"
        return (
            f"CASE WHEN {same} AND {zoned} "
            f"THEN timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ)) END"
        )
    return f"NULL::{'DATE' if timezone is None else 'TIMESTAMP'}"


def _once(value: str, name: str, use: str) -> str:
    """SQL: ``use`` with ``name`` bound to ``value``, computed once (a one-element list)."""
    return f"list_transform([{value}], lambda {name}: {use})[1]"


def parse_timestamp(
    text: str, timezone: str, order: DateOrder = "dmy", this_year: int = 2000
) -> str:
    """Text -> TIMESTAMP in UTC, as one expression (an import computes :func:`date_match` and
    :func:`date_fields` as columns instead, once per value)."""
    fields = _once(date_match(text), "_m", date_fields("_m", order, this_year))
    return _once(fields, "_f", timestamp_of(text, "_f", timezone))


def parse_date(text: str, order: DateOrder = "dmy", this_year: int = 2000) -> str:
    """Text -> DATE, as one expression (see :func:`parse_timestamp`).

    ``25/11/2026`` and ``2026-11-25`` (any of ``-/.`` between) are read by ``strptime``,
    several times faster than the general grammar and the same day: both refuse a day off the
    calendar (a year 0 takes the general path, which refuses it).
    """
    fields = _once(date_match(text), "_m", date_fields("_m", order, this_year))
    general = _once(fields, "_f", date_of(text, "_f"))
    year_last = "%m/%d/%Y" if order == "mdy" else "%d/%m/%Y"
    return (
        f"CASE WHEN regexp_full_match({text}, '[0-9]{{2}}[-/.][0-9]{{2}}[-/.][1-9][0-9]{{3}}') "
        f"THEN CAST(try_strptime(translate({text}, '-.', '//'), '{year_last}') AS DATE) "
        f"WHEN regexp_full_match({text}, '[1-9][0-9]{{3}}[-/.][0-9]{{2}}[-/.][0-9]{{2}}') "
        f"THEN CAST(try_strptime(translate({text}, '/.', '--'), '%Y-%m-%d') AS DATE) "
        f"ELSE {general} END"
    )


def calendar_error(text: str, fields: str, order: DateOrder = "dmy") -> str:
    """Why a text shaped like a date is no day of the calendar; NULL when it is one.

    ``fields`` is :func:`date_fields` of ``text`` (a column, so that it is computed once).
    """
    m, days = f"{fields}.m", _days_in_month(fields)
    return (
        f"CASE WHEN {fields} IS NULL THEN NULL "
        f"WHEN {m} NOT BETWEEN 1 AND 12 THEN {quoted(text)} || ' has no month ' || {m} || "
        f"{sql_literal(': ' + _HOW_READ[order])} "
        f"WHEN {fields}.d NOT BETWEEN 1 AND {days} THEN {quoted(text)} || "
        f"' is not a calendar date: ' || {_MONTHS}[{m}] || ' ' || {fields}.y || ' has ' || "
        f"{days} || ' days' END"
    )


def quoted(text: str, limit: int = 40) -> str:
    """SQL: ``text`` between single quotes, for a message; cut after ``limit`` characters."""
    return (
        f"'''' || CASE WHEN length({text}) > {limit} THEN left({text}, {limit}) || '...' "
        f"ELSE {text} END || ''''"
    )
