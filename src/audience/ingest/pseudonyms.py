"""Personal fields stored as keyed pseudonyms, when ``privacy.pseudonymise`` lists them.

The value is normalised first (an e-mail trimmed and lower-cased, a phone in E.164, a name
trimmed and lower-cased), so that the same person gets the same pseudonym in every file and
matching still joins her records; then replaced by its HMAC-SHA256 under the privacy key,
which lives outside the workspace. Nothing in the warehouse can turn a pseudonym back.

An e-mail pseudonym keeps the shape of an address (``<hmac>@pseudonymised.audience``) so
that cleaning validates it and resolves identities on it; other fields become
``ps_<hmac>``. Without the key an import that must pseudonymise is refused: it never falls
back to storing the plain value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import duckdb
import pandas as pd

from audience.model.identifiers import canonical, keyed_hash

EMAIL_DOMAIN = "pseudonymised.audience"


def pseudonym(field: str, value: str, key: bytes) -> str:
    """The pseudonym of one value of ``field``."""
    if field == "email":
        return f"{keyed_hash(key, canonical('email', value))[:40]}@{EMAIL_DOMAIN}"
    if field == "phone":
        return "ps_" + keyed_hash(key, "phone:" + canonical("phone", value))[:32]
    return "ps_" + keyed_hash(key, f"{field}:" + value.strip().lower())[:32]


def pseudonymise(
    con: duckdb.DuckDBPyConnection, fields: Sequence[str], key_of: Callable[[], bytes]
) -> None:
    """Replace the listed fields of the staged rows (``_typed``) by their pseudonyms."""
    if not fields:
        return
    key = key_of()
    present = {
        str(c) for (c,) in con.execute("SELECT column_name FROM (DESCRIBE _typed)").fetchall()
    }
    for field in fields:
        if field not in present:
            continue
        values = [
            str(v)
            for (v,) in con.execute(
                f'SELECT DISTINCT "{field}" FROM _typed WHERE "{field}" IS NOT NULL'
            ).fetchall()
        ]
        if not values:
            continue
        mapping = pd.DataFrame({"raw": values, "ps": [pseudonym(field, v, key) for v in values]})
        con.register("_pseudonyms", mapping)
        try:
            con.execute(
                f'UPDATE _typed SET "{field}" = m.ps FROM _pseudonyms m '
                f'WHERE _typed."{field}" = m.raw'
            ).fetchall()
        finally:
            con.unregister("_pseudonyms")
