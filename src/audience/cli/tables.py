"""Tables that fit the terminal: text wraps, numbers never do, and when even that is too wide
the columns that matter least are left out (and the title says so) rather than a number cut
to ``1,…``.

Rich shrinks the widest columns first and, as a last resort, cuts every column; the widths are
therefore worked out here before Rich sees them: each number column needs its widest cell,
each text column its longest word, and headers wrap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.table import Table

from audience.cli.terminal import console

PADDING = 2
"""Cells have one space of padding on each side."""


@dataclass(frozen=True)
class Col:
    """A column: its header, whether it holds numbers, and when it may be left out."""

    header: str
    numeric: bool = True
    drop: int = 0
    """0: always shown; otherwise left out when the table is too wide, highest first."""


def fitted_table(
    title: str,
    columns: Sequence[Col],
    rows: Sequence[Sequence[str]],
    width: int | None = None,
) -> Table:
    """A table of ``rows`` (strings, one per column) that fits ``width`` (the console's).

    Columns are left out, highest ``drop`` first (the later one among equals), until the
    table fits; their headers are named in the caption.
    """
    width = width or console.width
    kept = list(range(len(columns)))
    droppable = sorted(
        (i for i, c in enumerate(columns) if c.drop), key=lambda i: (-columns[i].drop, -i)
    )
    dropped: list[int] = []
    while droppable and _needed(columns, rows, kept) > width:
        index = droppable.pop(0)
        kept.remove(index)
        dropped.append(index)
    table = Table(title=title)
    for i in kept:
        table.add_column(columns[i].header, justify="right" if columns[i].numeric else "left")
    for row in rows:
        table.add_row(*(row[i] for i in kept))
    widths = _widths([columns[i] for i in kept], [[row[i] for i in kept] for row in rows], width)
    if widths is not None:
        for rich_column, content in zip(table.columns, widths, strict=True):
            rich_column.width = content
    if dropped:
        names = ", ".join(columns[i].header for i in sorted(dropped))
        table.caption = f"left out at this width: {names} (widen the terminal, or use --json)"
    return table


def _widths(columns: Sequence[Col], rows: Sequence[Sequence[str]], width: int) -> list[int] | None:
    """Content widths when the table is too wide to print as it comes, else None.

    Left to itself Rich would narrow the widest columns, numbers too, and cut them; here each
    column starts at what it cannot do without (its widest number, its longest word) and the
    room left goes to the columns that would use it, in proportion to what they lack.
    """
    natural = [
        max([cell_len(columns[i].header), *(cell_len(row[i]) for row in rows)])
        for i in range(len(columns))
    ]
    room = width - (len(columns) + 1) - PADDING * len(columns)
    if sum(natural) <= room:
        return None
    least = [_least(column, [row[i] for row in rows]) for i, column in enumerate(columns)]
    spare = max(0, room - sum(least))
    lacking = [n - m for n, m in zip(natural, least, strict=True)]
    total_lacking = sum(lacking) or 1
    return [m + (spare * lack) // total_lacking for m, lack in zip(least, lacking, strict=True)]


def _needed(columns: Sequence[Col], rows: Sequence[Sequence[str]], kept: list[int]) -> int:
    """Narrowest width the kept columns render at without cutting a number."""
    total = len(kept) + 1  # vertical borders
    for i in kept:
        total += _least(columns[i], [row[i] for row in rows]) + PADDING
    return total


def _least(column: Col, cells: Sequence[str]) -> int:
    """The narrowest a column can be: its widest number, or its longest word."""
    header = _longest_word(column.header)
    if column.numeric:
        return max([header, *(cell_len(c) for c in cells)])
    return max([header, *(_longest_word(c) for c in cells)])


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)
