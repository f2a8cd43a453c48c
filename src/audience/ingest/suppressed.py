"""Rows of suppressed identities are quarantined at import, with the reason ``suppressed``.

A person who asked to be forgotten or suppressed is on the suppression list (keyed hashes,
table ``suppressions``). A file imported later may still hold her: each staged row whose
customer id, e-mail or phone (customers), customer id (orders) or userId / anonymousId
(events) hashes to a listed identity gets the reason ``suppressed`` first, so it is
quarantined rather than loaded, and its raw text is not kept (:func:`redact`).

The list is empty in most workspaces: then nothing is hashed and no key is needed. When it
is not, the privacy key is required: an import never loads rows it cannot check.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from audience.model.identifiers import canonical, compact_phone, keyed_hash
from audience.store.warehouse import scalar

CHECKED: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id", "email", "phone"),
    "orders": ("customer_id",),
    "events": ("user_id", "anonymous_id"),
}
REDACTED = '{"suppressed": "the row of a suppressed identity is not kept"}'


def _form(field: str, value: str) -> str:
    if field == "email":
        return canonical("email", value)
    if field == "phone":
        return compact_phone(value)  # the list holds the compact spellings of each number
    return canonical("user_id", value)


def mark_suppressed(con: duckdb.DuckDBPyConnection, kind: str, key_of: Callable[[], bytes]) -> int:
    """Prepend ``suppressed`` to the reasons of ``_typed`` rows of listed identities."""
    if not int(scalar(con, "SELECT count(*) FROM suppressions")):
        return 0
    key = key_of()
    listed = {str(h) for (h,) in con.execute("SELECT id_hash FROM suppressions").fetchall()}
    marked = 0
    for field in CHECKED.get(kind, ()):
        values = [
            str(v)
            for (v,) in con.execute(
                f'SELECT DISTINCT "{field}"::VARCHAR FROM _typed WHERE "{field}" IS NOT NULL'
            ).fetchall()
        ]
        hits = [v for v in values if keyed_hash(key, _form(field, v)) in listed]
        if not hits:
            continue
        reason = (
            f"suppressed:{field} this identity is on the suppression list (it asked to be "
            "forgotten or suppressed): nothing of it is loaded; 'audience unsuppress' lifts it"
        )
        rows = con.execute(
            f"""UPDATE _typed SET _reasons = list_prepend(?, _reasons)
                WHERE list_contains(?, "{field}"::VARCHAR)
                  AND NOT list_contains(list_transform(_reasons, lambda r: left(r, 11)),
                                        'suppressed:')""",
            [reason, hits],
        ).fetchall()
        marked += int(rows[0][0]) if rows else 0
    return marked


def redact(con: duckdb.DuckDBPyConnection, import_id: str) -> int:
    """Quarantined rows of suppressed identities keep their reason, not their content;
    returns how many rows of the import were set aside for that."""
    rows = con.execute(
        "UPDATE quarantine SET raw = ? WHERE import_id = ? AND code = 'suppressed'",
        [REDACTED, import_id],
    ).fetchall()
    return int(rows[0][0]) if rows else 0
