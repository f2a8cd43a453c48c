"""Turn a source relation into typed rows, each with the reasons it cannot be loaded.

The source relation has ``_line`` (physical line or row number) and the file's columns. The
typed relation has ``_line``, one column per canonical field, ``_reasons`` (a list, empty when
the row is good) and, for customers, ``_trait_texts`` (the cells of every unmapped column,
typed by :mod:`audience.ingest.traits` from the whole import, then written typed as the rows
are loaded). The raw record is not carried along: the few rows that end in quarantine get it
back from the source by line.
"""

from __future__ import annotations

from collections.abc import Mapping

from audience.ingest import date_parsing, value_parsing
from audience.ingest.date_order import DateReading
from audience.ingest.date_parsing import DateOrder
from audience.ingest.schemas import FIELDS, FUTURE_YEARS, RULES, DateBounds, FieldSpec, Kind
from audience.ingest.traits import TEXTS, texts_select, trait_columns
from audience.store.sql import NUMERIC_TYPES, ident, literal, sql_literal


def _typed_expr(spec: FieldSpec, text: str, column: str, source_type: str, timezone: str) -> str:
    """Typed value of ``column``: native types kept as they are, text parsed.

    Dates and times written as text are read by :func:`_date_expr` instead.
    """
    native = source_type.upper()
    if spec.type in ("id", "text"):
        return text
    if spec.type == "timestamp":
        if native.startswith("TIMESTAMP WITH TIME ZONE"):
            return f"timezone('UTC', {column})"
        return f"timezone('UTC', timezone({sql_literal(timezone)}, {column}::TIMESTAMP))"
    if spec.type == "date":
        return f"CAST({column} AS DATE)"
    if native.startswith(NUMERIC_TYPES) and spec.type in ("decimal", "integer"):
        target = "DECIMAL(18, 4)" if spec.type == "decimal" else "BIGINT"
        return f"TRY_CAST({column} AS {target})"
    if spec.type == "decimal":
        return value_parsing.parse_decimal(text)
    if spec.type == "integer":
        return value_parsing.parse_integer(text)
    if spec.type == "bool":
        return column if native == "BOOLEAN" else value_parsing.parse_bool(text)
    return column if native == "JSON" else value_parsing.parse_json(text)


_WHAT_TO_WRITE = {
    "decimal": "is not a number: write 1234,50 or 1234.50",
    "integer": "is not a whole number",
    "bool": "is not a yes or a no: write oui or non, yes or no, true or false, 1 or 0",
    "json": "is not valid JSON",
}
_DATE_WRITTEN: dict[DateOrder, tuple[str, str]] = {
    "dmy": ("DD/MM/YYYY", "day first"),
    "mdy": ("MM/DD/YYYY", "month first"),
    "ymd": ("YY/MM/DD", "year first"),
}


def _what_to_write(spec: FieldSpec, reading: DateReading | None) -> str:
    if spec.type not in ("date", "timestamp"):
        return _WHAT_TO_WRITE[spec.type]
    if reading is not None and reading.strptime is not None:
        return f"does not match the format {reading.strptime} given with --date-format"
    written, order = _DATE_WRITTEN[reading.order if reading else "dmy"]
    if spec.type == "date":
        return f"is not a date: write {written} ({order}) or YYYY-MM-DD"
    return (
        f"is not a date and time: write {written} HH:MM ({order}) or ISO 8601, "
        "2026-11-25T14:03:00+01:00"
    )


def _date_expr(spec: FieldSpec, text: str, fields: str, reading: DateReading, timezone: str) -> str:
    """SQL: a date or time written as text, read as ``reading`` says."""
    if reading.strptime is None:
        if spec.type == "date":
            return date_parsing.date_of(text, fields)
        return date_parsing.timestamp_of(text, fields, timezone)
    value = f"try_strptime({text}, {sql_literal(reading.strptime)})"
    if spec.type == "date":
        return f"CAST({value} AS DATE)"
    if "%z" in reading.strptime or "%Z" in reading.strptime:
        return f"timezone('UTC', {value})"
    return f"timezone('UTC', timezone({sql_literal(timezone)}, {value}))"


def typed_select(
    kind: Kind,
    source: str,
    columns: Mapping[str, str],
    mapping: Mapping[str, str],
    timezone: str,
    bounds: DateBounds,
    dates: Mapping[str, DateReading] | None = None,
) -> str:
    """SQL selecting typed, validated rows from relation ``source``.

    Each reason starts with a code and the field (``bad_date:birth_date``), then says what
    is wrong with the value as written and how to write it.

    Parameters
    ----------
    columns:
        Source column name -> DuckDB type.
    mapping:
        Canonical field -> source column.
    bounds:
        The plausible dates and times of this import.
    dates:
        Field -> how its column of dates written as text is read (default: day first).
    """
    specs = FIELDS[kind]
    texts: list[str] = []
    quicks: list[str] = []
    matches: list[str] = []
    fields: list[str] = []
    values: list[str] = []
    reasons: list[str] = []
    for spec in specs:
        column = mapping.get(spec.name)
        if column is None:
            texts.append(f"NULL::VARCHAR AS {ident('t_' + spec.name)}")
            if spec.type == "decimal":
                texts.append(f"NULL::VARCHAR AS {ident('c_' + spec.name)}")
            values.append(
                f"{_currency(specs, None) if spec.name == 'currency' else _null_of(spec)}"
                f" AS {ident(spec.name)}"
            )
            continue
        source_type = columns[column]
        raw_text = date_parsing.clean_text(ident(column))
        texts.append(f"{raw_text} AS {ident('t_' + spec.name)}")
        texts.append(f"{ident(column)} AS {ident('n_' + spec.name)}")
        text, value = ident("t_" + spec.name), ident(spec.name)
        if spec.type == "decimal":  # the currency an amount names by sign or code
            quicks.append(f"{value_parsing.amount_currency(text)} AS {ident('c_' + spec.name)}")
        reading = (dates or {}).get(spec.name) or DateReading(column, "dmy")
        as_text = spec.type in ("date", "timestamp") and _is_text(source_type)
        if as_text and reading.strptime is None:
            # Read fast when shaped like the column's first value; else the pieces of the
            # text, then its numbers, each computed once per value.
            quick = ident("q_" + spec.name)
            zone = timezone if spec.type == "timestamp" else None
            quicks.append(
                f"{date_parsing.quick_read(text, reading.first, reading.order, zone)} AS {quick}"
            )
            match, field = ident("r_" + spec.name), ident("f_" + spec.name)
            matches.append(
                f"CASE WHEN {quick} IS NULL THEN {date_parsing.date_match(text)} END AS {match}"
            )
            this_year = bounds.latest_day.year
            fields.append(f"{date_parsing.date_fields(match, reading.order, this_year)} AS {field}")
        if as_text:
            expr = _date_expr(spec, text, ident("f_" + spec.name), reading, timezone)
            if reading.strptime is None:
                quick = ident("q_" + spec.name)
                expr = f"CASE WHEN {quick} IS NOT NULL THEN {quick} ELSE {expr} END"
        else:
            expr = _typed_expr(spec, text, ident("n_" + spec.name), source_type, timezone)
        if spec.name == "currency":
            expr = _currency(specs, text)
        values.append(f"{expr} AS {value}")
        if spec.type in ("id", "text"):
            continue
        where = spec.name if column == spec.name else f"{spec.name} (column {column})"
        unreadable = (
            f"{sql_literal(f'bad_{spec.type}:{where} ')} || {date_parsing.quoted(text)} || "
            f"{sql_literal(' ' + _what_to_write(spec, reading))}"
        )
        if as_text and reading.strptime is None:
            field = ident("f_" + spec.name)
            not_on_calendar = (
                f"{sql_literal(f'bad_date:{where} ')} || "
                f"{date_parsing.calendar_error(text, field, reading.order)}"
            )
            unreadable = f"coalesce({not_on_calendar}, {unreadable})"
        reasons.append(f"CASE WHEN {text} IS NOT NULL AND {value} IS NULL THEN {unreadable} END")
        if spec.type in ("date", "timestamp"):
            reasons.append(_implausible(spec, where, text, value, bounds))
    for spec in specs:
        if spec.required:
            empty = (
                f"missing:{spec.name} column {mapping.get(spec.name, spec.name)} is empty: "
                f"every row of {kind} needs a {spec.name}"
            )
            reasons.append(
                f"CASE WHEN {ident(spec.name)} IS NULL AND {ident('t_' + spec.name)} IS NULL "
                f"THEN {sql_literal(empty)} END"
            )
    reasons.extend(_rules(kind, mapping))
    traits = ""
    if kind == "customers":  # typed later by audience.ingest.traits, over the whole import
        traits = f", {texts_select(trait_columns(list(columns), mapping))}"
    names = [ident(s.name) for s in specs]
    if kind == "events":  # Segment requires a messageId; without one, the content names the event
        content = " || '|' || ".join(f"coalesce({ident('t_' + s.name)}, '')" for s in specs)
        names[0] = f"coalesce(message_id, 'md5-' || md5({content})) AS message_id"
    return f"""
        WITH texts AS (
            SELECT _line, {", ".join(texts)}{traits} FROM {source}
        ), quick AS (
            SELECT *{"".join(", " + q for q in quicks)} FROM texts
        ), matched AS (
            SELECT *{"".join(", " + m for m in matches)} FROM quick
        ), read AS (
            SELECT *{"".join(", " + f for f in fields)} FROM matched
        ), typed AS (
            SELECT *, {", ".join(values)} FROM read
        )
        SELECT _line, {", ".join(names)},
               list_filter([{", ".join(reasons)}], lambda r: r IS NOT NULL) AS _reasons
               {", " + TEXTS if kind == "customers" else ""}
        FROM typed
    """


def _implausible(spec: FieldSpec, where: str, text: str, value: str, bounds: DateBounds) -> str:
    """SQL: the reason a date or time that was read lies outside ``bounds``, else NULL."""
    if spec.type == "date":
        read_as = f"strftime({value}, '%Y-%m-%d')"
        latest = literal(bounds.latest_day)
        after = f"is after the day of the import, {bounds.latest_day.isoformat()}"
    else:
        read_as = f"strftime({value}, '%Y-%m-%d %H:%M') || ' UTC'"
        latest = literal(bounds.latest_time)
        after = (
            f"is more than {FUTURE_YEARS} years after the import, {bounds.now:%Y-%m-%d %H:%M} UTC"
        )
    said = (
        f"{sql_literal(f'implausible_date:{where} ')} || {date_parsing.quoted(text)} || "
        f"' (read as ' || {read_as}"
    )
    return (
        f"CASE WHEN {value} < {literal(bounds.earliest)} THEN {said} || "
        f"{sql_literal(f') is before {bounds.earliest.year}: check the year')} "
        f"WHEN {value} > {latest} THEN {said} || {sql_literal(f') {after}: check the year')} END"
    )


def raw_record(columns: Mapping[str, str]) -> str:
    """SQL rebuilding a source row as read: a JSON object of its columns, as text."""
    return _json_object(list(columns), trim=False)


def _json_object(columns: list[str], *, trim: bool) -> str:
    """SQL for a JSON object of ``columns`` as text (trimmed, '' as null, when ``trim``).

    One map over two lists rather than ``json_object(k1, v1, k2, v2, ...)``: DuckDB's
    optimiser takes time quadratic in the number of expressions of a projection (common
    subexpressions), and a file may have 10,000 columns. The object is the same text.
    """
    if not columns:
        return "NULL::JSON"
    names = "[" + ", ".join(sql_literal(c) for c in columns) + "]"
    values = "[" + ", ".join(f"CAST({ident(c)} AS VARCHAR)" for c in columns) + "]"
    if trim:
        values = f"list_transform({values}, lambda v: nullif(trim(v), ''))"
    return f"to_json(map({names}, {values}))"


def _is_text(source_type: str) -> bool:
    """Whether a column of this type holds dates as text (not native DATE or TIMESTAMP)."""
    return not source_type.upper().startswith(("DATE", "TIMESTAMP"))


def _null_of(spec: FieldSpec) -> str:
    sql_type = {
        "id": "VARCHAR",
        "text": "VARCHAR",
        "timestamp": "TIMESTAMP",
        "date": "DATE",
        "decimal": "DECIMAL(18, 4)",
        "integer": "BIGINT",
        "bool": "BOOLEAN",
        "json": "JSON",
    }[spec.type]
    return f"NULL::{sql_type}"


def _currency(specs: tuple[FieldSpec, ...], text: str | None) -> str:
    """SQL: a line's currency, from its column, else from the sign or code of its amounts."""
    named = [text] if text else []
    named += [ident("c_" + s.name) for s in specs if s.type == "decimal"]
    return f"coalesce({', '.join(named)})" if named else "NULL::VARCHAR"


def _rules(kind: Kind, mapping: Mapping[str, str]) -> list[str]:
    """The table's declared checks, for the columns the file has, as SQL: a reason or NULL."""
    reasons = []
    for rule in RULES[kind]:
        if rule.when_mapped is not None and rule.when_mapped not in mapping:
            continue
        column = mapping.get(rule.field, rule.field)
        where = rule.field if column == rule.field else f"{rule.field} (column {column})"
        reasons.append(
            f"CASE WHEN {rule.fails} THEN {sql_literal(f'{rule.code}:{where} ')} || "
            f"{rule.message} END"
        )
    return reasons
