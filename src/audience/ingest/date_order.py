"""How each date column of a file is read: day first or month first, decided from its values.

A value that only one order reads proves it: ``31/01/2025`` can only be day first,
``01/31/2025`` only month first, ``45/03/14`` only year first (``14/03/25`` may be day or
year first: it proves nothing). One aggregate over the file's date columns, in the
warehouse, counts these proofs. A column with proofs of one order is read in it; a column
with none (``03/02/2024``) follows ``--date-order`` or the workspace's ``date_order`` (from
its region when unset: month first in the United States, year first in East Asia, day first
elsewhere); a column with proofs of two orders is an error naming a value of each, unless
``--date-order`` says which (the others are then quarantined). Year first concerns dates
with a two-digit year: with the year last, a ``ymd`` column is read day first.
``--date-format`` gives a strptime format for one column (``COLUMN=FORMAT``) or for every
date column of the file (a bare ``FORMAT``), and nothing is guessed for those columns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb

from audience.config import WorkspaceConfig
from audience.errors import InputError
from audience.ingest.date_parsing import DATE_ORDERS, DateOrder, clean_text
from audience.ingest.schemas import FIELDS, Kind
from audience.store.sql import ident, sql_literal

_MONTH_FIRST_REGIONS = frozenset({"US", "PH", "FM", "MH", "PW", "AS", "GU", "MP", "PR", "VI"})
_YEAR_FIRST_REGIONS = frozenset({"CN", "JP", "KR", "KP", "TW", "MN", "HU", "LT"})
_WORDS: dict[DateOrder, str] = {"dmy": "day first", "mdy": "month first", "ymd": "year first"}
# A date whose year is last or has two digits (not ISO): its first two numbers prove orders.
_LEADING = r"^([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{2,4})"


def _proofs(a: str, b: str, c: str, short: str) -> dict[DateOrder, str]:
    """SQL conditions on a date's numbers (a/b/c) proving each order: it alone reads them."""
    can: dict[DateOrder, str] = {
        "dmy": f"({a} BETWEEN 1 AND 31 AND {b} BETWEEN 1 AND 12)",
        "mdy": f"({a} BETWEEN 1 AND 12 AND {b} BETWEEN 1 AND 31)",
        "ymd": f"({short} AND {b} BETWEEN 1 AND 12 AND {c} BETWEEN 1 AND 31)",
    }
    return {
        order: " AND ".join([can[order], *(f"NOT {can[o]}" for o in DATE_ORDERS if o != order)])
        for order in DATE_ORDERS
    }


def _ambiguous(a: str, b: str, c: str, short: str) -> str:
    """SQL: a date that two orders or more read (03/02/2024, 14/03/25)."""
    can = [
        f"({a} BETWEEN 1 AND 31 AND {b} BETWEEN 1 AND 12)",
        f"({a} BETWEEN 1 AND 12 AND {b} BETWEEN 1 AND 31)",
        f"({short} AND {b} BETWEEN 1 AND 12 AND {c} BETWEEN 1 AND 31)",
    ]
    return f"({' + '.join(f'coalesce({x}, false)::INTEGER' for x in can)}) >= 2"


def region_date_order(region: str) -> DateOrder:
    """The usual order of a region's dates (ISO 3166 code)."""
    code = region.upper()
    if code in _MONTH_FIRST_REGIONS:
        return "mdy"
    return "ymd" if code in _YEAR_FIRST_REGIONS else "dmy"


@dataclass(frozen=True)
class DateOptions:
    """What the user said about the dates of one import."""

    order: DateOrder | None = None
    """``--date-order``: the order of columns whose values do not decide it."""
    formats: tuple[tuple[str, str], ...] = ()
    """``--date-format COLUMN=FORMAT``: column (or field) -> strptime format."""
    every_column: str | None = None
    """``--date-format FORMAT``: the format of every date column without its own."""

    @classmethod
    def parse(cls, order: str | None = None, formats: Sequence[str] = ()) -> DateOptions:
        """From the command line's texts; a bad order or format is an :class:`InputError`."""
        if order is not None and order not in DATE_ORDERS:
            raise InputError(f"--date-order {order!r}: expected one of {', '.join(DATE_ORDERS)}")
        named: list[tuple[str, str]] = []
        every: str | None = None
        for option in formats:
            column, sep, fmt = option.partition("=")
            if sep and "%" not in column and column.strip():
                named.append((column.strip(), fmt))
            elif every is None:
                every = option
            else:
                raise InputError(
                    f"--date-format {option!r}: a second format for every column; "
                    "write COLUMN=FORMAT to give a column its own"
                )
        for fmt in [f for _, f in named] + ([every] if every else []):
            _check_format(fmt)
        return cls(order, tuple(named), every)

    def format_of(self, column: str, field_name: str) -> str | None:
        named = dict(self.formats)
        return named.get(column) or named.get(field_name) or self.every_column


def _check_format(fmt: str) -> None:
    if "%" not in fmt:
        raise InputError(f"--date-format {fmt!r}: expected a strptime format such as %d/%m/%Y")
    try:
        duckdb.connect().execute("SELECT try_strptime('', ?)", [fmt]).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"--date-format {fmt!r}: {exc}") from exc


@dataclass(frozen=True)
class Evidence:
    """Values of one column that prove an order: how many, and the first of them."""

    count: int = 0
    example: str = ""
    line: int = 0


@dataclass(frozen=True)
class DateReading:
    """How one date column is read, and why (as the import reports it)."""

    column: str
    order: DateOrder
    strptime: str | None = None
    described: str = ""
    decided: bool = False
    """Whether values, an option or a format decided the order (not a default)."""
    proofs: Mapping[DateOrder, Evidence] = field(default_factory=dict)
    ambiguous: Evidence = Evidence()
    """Values that prove no order (03/02/2024)."""
    first: str = ""


def read_dates(
    con: duckdb.DuckDBPyConnection,
    source: str,
    kind: Kind,
    columns: Mapping[str, str],
    mapping: Mapping[str, str],
    options: DateOptions,
    default: DateOrder,
    earlier: Mapping[str, DateReading] | None = None,
    *,
    file: str = "",
) -> dict[str, DateReading]:
    """Field -> how its column is read, for every text column mapped to a date field.

    ``earlier`` holds the readings of the previous batches of the same file: their evidence
    counts too, and a batch may not prove another order than the one already used.
    """
    earlier = earlier or {}
    texts = {
        spec.name: mapping[spec.name]
        for spec in FIELDS[kind]
        if spec.type in ("date", "timestamp")
        and spec.name in mapping
        and not columns[mapping[spec.name]].upper().startswith(("DATE", "TIMESTAMP"))
    }
    readings: dict[str, DateReading] = {}
    to_scan: dict[str, str] = {}
    for name, column in texts.items():
        fmt = options.format_of(column, name)
        if fmt is not None:
            readings[name] = DateReading(
                column, options.order or default, fmt, f"format {fmt} (--date-format)", True
            )
        else:
            to_scan[name] = column
    if to_scan:
        found = _evidence(con, source, to_scan)
        for name, column in to_scan.items():
            proofs, ambiguous, first = found[name]
            before = earlier.get(name)
            if before is not None:
                proofs = _add(before.proofs, proofs)
                ambiguous = _more(before.ambiguous, ambiguous)
                first = before.first or first
            try:
                reading = _decide(column, proofs, ambiguous, first, options.order, default)
                if before and before.ambiguous.count and reading.order != before.order:
                    raise _conflict(column, before, reading)
            except InputError as exc:
                raise InputError(f"{file}: {exc}" if file else str(exc)) from None
            readings[name] = reading
    return readings


def _evidence(
    con: duckdb.DuckDBPyConnection, source: str, columns: Mapping[str, str]
) -> dict[str, tuple[dict[DateOrder, Evidence], Evidence, str]]:
    """One aggregate over ``source``: per column, its proofs, ambiguous values, first value."""
    pattern = sql_literal(_LEADING)
    parts, aggregates = [], []
    for i, column in enumerate(columns.values()):
        text = clean_text(ident(column))
        # A short pattern: regexp_extract is slow with many groups and optional parts.
        parts.append(f"{text} AS t{i}, regexp_extract({text}, {pattern}, ['p', 'q', 'y']) AS e{i}")
        a, b, c = (f"TRY_CAST(nullif(e{i}.{k}, '') AS INTEGER)" for k in "pqy")
        short = f"length(e{i}.y) = 2"
        proofs = _proofs(a, b, c, short)
        ambiguous = _ambiguous(a, b, c, short)
        for proof in [*proofs.values(), ambiguous]:
            aggregates += [
                f"count(*) FILTER ({proof})",
                f"arg_min(t{i}, _line) FILTER ({proof})",
                f"min(_line) FILTER ({proof})",
            ]
        aggregates.append(f"arg_min(t{i}, _line) FILTER (t{i} IS NOT NULL)")
    row = con.execute(
        f"SELECT {', '.join(aggregates)} FROM (SELECT _line, {', '.join(parts)} FROM {source})"
    ).fetchone()
    assert row is not None  # an aggregate without GROUP BY yields one row
    found: dict[str, tuple[dict[DateOrder, Evidence], Evidence, str]] = {}
    width = 3 * len(DATE_ORDERS) + 4
    for i, name in enumerate(columns):
        cells = row[i * width : (i + 1) * width]
        seen = [
            Evidence(int(cells[k]), str(cells[k + 1]), int(cells[k + 2])) if cells[k] else None
            for k in range(0, width - 1, 3)
        ]
        evidence = {order: e for order, e in zip(DATE_ORDERS, seen, strict=False) if e}
        found[name] = (evidence, seen[-1] or Evidence(), str(cells[-1] or ""))
    return found


def _add(
    a: Mapping[DateOrder, Evidence], b: Mapping[DateOrder, Evidence]
) -> dict[DateOrder, Evidence]:
    return {order: _more(a.get(order), b.get(order)) for order in DATE_ORDERS if order in {*a, *b}}


def _more(was: Evidence | None, more: Evidence | None) -> Evidence:
    """Evidence of two batches: counts added, the earlier example kept."""
    if was is None or not was.count:
        return more or Evidence()
    return was if more is None else Evidence(was.count + more.count, was.example, was.line)


def _decide(
    column: str,
    proofs: dict[DateOrder, Evidence],
    ambiguous: Evidence,
    first: str,
    stated: DateOrder | None,
    default: DateOrder,
) -> DateReading:
    def reading(order: DateOrder, why: str, decided: bool) -> DateReading:
        example = proofs[order].example if order in proofs else ambiguous.example or first
        described = f"{_WORDS[order]} ({shape(example, order)}), {why}" if example else why
        return DateReading(column, order, None, described, decided, proofs, ambiguous, first)

    if len(proofs) > 1:
        if stated is None:
            raise InputError(_mixed(column, proofs))
        others = sum(e.count for o, e in proofs.items() if o != stated)
        return reading(
            stated,
            f"as --date-order says; {others:,} value(s) written otherwise are quarantined",
            True,
        )
    if proofs:
        ((order, evidence),) = proofs.items()
        return reading(order, f"decided from values: {evidence.example}", True)
    if not ambiguous.count:
        if not first:
            return reading(stated or default, "no values", False)
        written = shape(first, None)
        described = f"year first ({written})" if written.startswith("YYYY") else written
        return DateReading(column, stated or default, None, described, False, proofs, first=first)
    if stated is not None:
        return reading(
            stated, f"ambiguous values ({ambiguous.example}); as --date-order says", True
        )
    return reading(
        default,
        f"ambiguous values ({ambiguous.example}); workspace default, override with --date-order",
        False,
    )


def _mixed(column: str, proofs: Mapping[DateOrder, Evidence]) -> str:
    seen = "; ".join(
        f"'{e.example}' (line {e.line}) can only be {_WORDS[o]}"
        + (f", as {e.count - 1:,} more" if e.count > 1 else "")
        for o, e in proofs.items()
    )
    return (
        f"column {column!r} mixes date orders: {seen}. Fix the file, or say how to read it "
        f"with --date-order {'|'.join(proofs)} (values written otherwise are quarantined) "
        f"or --date-format '{column}=%d/%m/%Y'"
    )


def _conflict(column: str, before: DateReading, now: DateReading) -> InputError:
    proof = now.proofs[now.order]
    return InputError(
        f"column {column!r}: earlier lines were read {_WORDS[before.order]} (no value decided "
        f"it), but '{proof.example}' (line {proof.line}) can only be {_WORDS[now.order]}: "
        f"say --date-order {now.order}"
    )


_TIME = re.compile(
    r"^(?P<sep>[Tt]|\s+)(?P<h>\d{1,2})(?P<hs>[:hH])?(?P<m>\d{2})?(?::(?P<s>\d{2}))?"
    r"(?P<f>[.,]\d+)?(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?(?P<tz>.*)$"
)


def shape(example: str, order: DateOrder | None) -> str:
    """How a value is written, for the report: ``31/01/2025 10:15`` -> ``DD/MM/YYYY HH:MM``."""
    if re.fullmatch(r"[0-9]+([.,][0-9]+)?", example):
        return "numbers (spreadsheet serials or Unix times)"
    date = re.match(r"^(\d{1,4})([-/.])(\d{1,2})([-/.])(\d{1,4})", example)
    if date is None:
        return f"e.g. {example}"
    a, s1, _, s2, c = date.groups()
    if len(a) == 4:
        written = f"YYYY{s1}MM{s2}DD"
    else:
        year = "Y" * len(c)
        first, second = ("MM", "DD") if order == "mdy" else ("DD", "MM")
        written = (
            f"YY{s1}MM{s2}DD"
            if order == "ymd" and len(c) == 2
            else f"{first}{s1}{second}{s2}{year}"
        )
    rest = example[date.end() :]
    time = _TIME.match(rest)
    if time is not None:
        g = time.groupdict()
        written += (" " if g["sep"].strip() == "" else "T") + "HH"
        written += f"{g['hs'] or ''}{'MM' if g['m'] else ''}{':SS' if g['s'] else ''}"
        written += ".fff" if g["f"] else ""
        written += " AM/PM" if g["ampm"] else ""
        rest = g["tz"]
    zone = rest.strip()
    if zone:
        written += (" " if rest[0].isspace() else "") + re.sub(r"\d", "0", zone).replace(
            "00", "HH", 1
        ).replace("00", "MM", 1)
    return written


def report_lines(readings: Mapping[str, DateReading]) -> dict[str, str]:
    """Column -> how it was read, for :class:`~audience.ingest.importer.ImportReport`."""
    return {r.column: r.described for r in readings.values()}


def workspace_date_order(config: WorkspaceConfig) -> DateOrder:
    """The workspace's order of ambiguous dates: ``date_order``, else its region's."""
    return config.date_order or region_date_order(config.default_region)
