"""Everything held about a person, as portable JSON (GDPR Articles 15 and 20).

The same tables and the same matching as erasure (:mod:`audience.privacy.erasure`): what
``forget`` would delete is exactly what ``export-person`` shows, table by table, plus her
identifiers and current consents. Values are JSON types (times in ISO 8601, decimals as
strings, JSON columns parsed).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb

from audience.privacy.erasure import EID, TABLES, _with_text, other_tables
from audience.privacy.locate import Person
from audience.store.sql import ident

FORMAT = "audience.person-export/1"


def portable(value: Any) -> Any:
    """A stored value as a JSON type."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [portable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): portable(v) for k, v in value.items()}
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description or []]
    return [{n: portable(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]


def person_data(
    con: duckdb.DuckDBPyConnection, person: Person, needles: Sequence[str]
) -> dict[str, Any]:
    """Her data in every table (``load_persons`` already called for her alone)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    tables["events"] = _rows(
        con,
        f"""SELECT * FROM events
            WHERE user_id IN {EID} OR anonymous_id IN {EID} OR previous_id IN {EID}
               OR message_id IN (SELECT message_id FROM privacy_event_tokens
                                 WHERE kind = 'json' AND token IN (SELECT term FROM _forget_term))
            ORDER BY timestamp, message_id""",
    )
    wanted = dict(TABLES)
    wanted.update(other_tables(con))
    wanted["consents"] = "customer_id IN (SELECT value FROM _forget_cid)"
    for table, template in wanted.items():
        found = _rows(
            con, f"SELECT * FROM {ident(table)} WHERE {_with_text(con, table, template, needles)}"
        )
        if found:
            tables[table] = found
    return {
        "format": FORMAT,
        "person": person.key,
        "identifiers": {
            "records": sorted(person.records),
            "profiles": sorted(person.profiles),
            "user_ids": sorted(person.user_ids),
            "anonymous_ids": sorted(person.anonymous_ids),
            "emails": sorted(person.emails),
            "phones": sorted(person.phones),
        },
        "tables": tables,
    }
