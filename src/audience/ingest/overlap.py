"""Refuse an import that would load again what an earlier import already loaded, under other keys.

Re-importing a file is safe while its rows get the same keys: they are found and left
unchanged, or updated. They double when the keys change: the same file read with another
key column (an order file first read one order per line, then with ``--map order_id=...``),
or the same orders exported again with other order numbers. Two checks, both cheap in SQL:

- **same file, other keys**: an earlier import (not undone) of a file with the same SHA-256
  and kind mapped its key fields (``customer_id``; ``order_id`` and ``line_no``;
  ``message_id``) to other columns;
- **orders seen before under other keys**: order lines whose key is new, while a line of
  another import has the same customer and the same instant and either the same amount or
  the same product. An order's lines share one instant, so a new key on an old
  (customer, instant, amount or product) is the same order counted a second time.

Either way the import is refused, naming the earlier import and the two ways out:
``--replace`` (undo it and import in one transaction) or ``audience imports undo``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import duckdb

from audience.errors import InputError

KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "orders": ("order_id", "line_no"),
    "events": ("message_id",),
}
"""The fields whose columns decide what a row is: change them and the same rows look new."""


def _keys_shown(mapping: Mapping[str, str], kind: str) -> str:
    return ", ".join(f"{f} ← {mapping.get(f, '(none)')}" for f in KEY_FIELDS[kind])


def _ways_out(batch_no: int, source: str) -> str:
    return (
        f"Replace it with --replace --source {source!r}, or undo it first with "
        f"'audience imports undo {batch_no}'"
    )


def refuse_same_file_other_keys(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    file: str,
    sha256: str,
    mapping: Mapping[str, str],
) -> None:
    """Raise if this very file was imported (and not undone) with other key columns."""
    earlier = con.execute(
        """SELECT import_id, batch_no, source_file, coalesce(source, ''), mapping
           FROM imports
           WHERE sha256 = ? AND kind = ? AND coalesce(status, 'loaded') <> 'undone'
           ORDER BY batch_no""",
        [sha256, kind],
    ).fetchall()
    for import_id, batch_no, source_file, source, stored in earlier:
        before: dict[str, str] = json.loads(stored or "{}")
        if all(before.get(f) == mapping.get(f) for f in KEY_FIELDS[kind]):
            continue
        raise InputError(
            f"{file}: this file was already imported as {kind} by import {batch_no} "
            f"({import_id}, {source_file}) with other key columns ({_keys_shown(before, kind)}; "
            f"now {_keys_shown(mapping, kind)}): its rows would be loaded twice. "
            + _ways_out(int(batch_no), source)
        )


def refuse_lines_loaded_under_other_keys(
    con: duckdb.DuckDBPyConnection, import_id: str, file: str
) -> None:
    """Raise if order lines of ``_keyed`` with new keys were loaded by another import."""
    found = con.execute(
        """WITH incoming AS (
               SELECT k._line, k.customer_id, k.ordered_at, k.amount, k.product_id,
                      k.product_name
               FROM _keyed k ANTI JOIN order_lines t USING (order_id, line_no)
           )
           SELECT t.import_id, count(DISTINCT i._line), min(i._line)
           FROM incoming i JOIN order_lines t USING (customer_id, ordered_at)
           WHERE t.import_id <> ?
             AND (t.amount = i.amount OR t.product_id = i.product_id
                  OR t.product_name = i.product_name)
           GROUP BY t.import_id ORDER BY count(DISTINCT i._line) DESC, t.import_id""",
        [import_id],
    ).fetchall()
    if not found:
        return
    earlier_id, lines, example = found[0]
    batch = con.execute(
        "SELECT batch_no, source_file, coalesce(source, '') FROM imports WHERE import_id = ?",
        [earlier_id],
    ).fetchone()
    batch_no, source_file, source = batch if batch else (0, "?", "")
    customer, ordered_at = con.execute(
        "SELECT customer_id, strftime(ordered_at, '%Y-%m-%d %H:%M') FROM _keyed WHERE _line = ?",
        [example],
    ).fetchone() or ("?", "?")
    others = f" (and lines of {len(found) - 1} other import(s))" if len(found) > 1 else ""
    raise InputError(
        f"{file}: {lines:,} order line(s) were already loaded by import {batch_no} "
        f"({earlier_id}, {source_file}){others} under other order ids, for example line "
        f"{example}: customer {customer} at {ordered_at} UTC; loading them again would count "
        "them twice: " + _ways_out(int(batch_no), source)
    )
