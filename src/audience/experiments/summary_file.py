"""Results measured elsewhere: the per-variant CSV an e-mail or ad tool exports.

One row per variant, with the columns ``variant,n,sum,sum_squares`` for a mean metric or
``variant,n,conversions`` for a proportion; header names are read without regard to case
or surrounding spaces, other columns are ignored, and commas, semicolons or tabs separate.
The first row is the control unless ``control`` names another. Every error names the row (as
a spreadsheet numbers it, the header being row 1) and what to fix.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from audience.errors import EmptyInputError, EncodingError, InputError
from audience.experiments.estimates import check_variant
from audience.experiments.records import VariantStats

MEANS = ("variant", "n", "sum", "sum_squares")
PROPORTIONS = ("variant", "n", "conversions")


@dataclass(frozen=True)
class Summary:
    """The variants a summary file holds, the control first."""

    metric: str
    """The file's name without extension, used as the metric's name."""
    proportion: bool
    variants: tuple[VariantStats, ...]


def read_summary(path: Path, control: str | None = None) -> Summary:
    """Read and check a summary file; InputError naming the row on any bad value."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EncodingError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") from exc
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise EmptyInputError(f"{path}: the file is empty; give a header and one row per variant")
    delimiter = max(",;\t", key=lines[0].count)
    rows = list(csv.reader(lines, delimiter=delimiter))
    header = [name.strip().lower() for name in rows[0]]
    proportion = "conversions" in header
    needed = PROPORTIONS if proportion else MEANS
    missing = [name for name in needed if name not in header]
    if missing:
        raise InputError(
            f"{path}: no column {', '.join(missing)}; give "
            f"{','.join(MEANS)} (means) or {','.join(PROPORTIONS)} (proportions)"
        )
    index = {name: header.index(name) for name in needed}
    variants = [
        _variant(path, number, row, index, proportion)
        for number, row in enumerate(rows[1:], start=2)
    ]
    if len(variants) < 2:
        raise InputError(
            f"{path}: {len(variants)} variant row(s); give a control and at least one treatment"
        )
    seen: dict[str, int] = {}
    for number, variant in enumerate(variants, start=2):
        if variant.name in seen:
            raise InputError(
                f"{path}, row {number}: variant {variant.name!r} already on row "
                f"{seen[variant.name]}; give one row per variant"
            )
        seen[variant.name] = number
    if control is not None:
        if control not in seen:
            raise InputError(
                f"{path}: --control {control!r} is not a variant of the file ({', '.join(seen)})"
            )
        variants.sort(key=lambda v: v.name != control)
    return Summary(path.stem, proportion, tuple(variants))


def _variant(
    path: Path, number: int, row: list[str], index: dict[str, int], proportion: bool
) -> VariantStats:
    where = f"{path}, row {number}"
    if len(row) <= max(index.values()):
        raise InputError(f"{where}: {len(row)} cells, the header has more; fill every column")
    cells = {name: row[i].strip() for name, i in index.items()}
    name = cells["variant"]
    if not name:
        raise InputError(f"{where}: the variant has no name; name it")
    where = f"{where} (variant {name!r})"
    n = _integer(where, "n", cells["n"])
    if proportion:
        conversions = _number(where, "conversions", cells["conversions"])
        variant = VariantStats(name, n, conversions, conversions, proportion=True)
    else:
        variant = VariantStats(
            name,
            n,
            _number(where, "sum", cells["sum"]),
            _number(where, "sum_squares", cells["sum_squares"]),
        )
    try:
        check_variant(variant)
    except InputError as exc:
        # The engine names the variant; the file's reader adds the row.
        raise InputError(f"{path}, row {number}: {exc}") from exc
    return variant


def _number(where: str, column: str, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise InputError(f"{where}: {column} {cell!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{where}: {column} {cell!r} is not a finite number")
    return value


def _integer(where: str, column: str, cell: str) -> int:
    value = _number(where, column, cell)
    if value != int(value):
        raise InputError(f"{where}: {column} {cell!r} is not a whole number of units")
    return int(value)
