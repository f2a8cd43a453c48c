"""Each person's warehouse state, read for ``audience publish`` to write into the live store.

A person is what batch counts: a profile after ``audience clean`` (before, a customer id), plus
the ids the features know only from orders or events. For each: the identity keys the live
path resolves (the person's id, every record merged into her and every user id as
``user_id:``, her anonymous ids), traits, the current consent per purpose, the RFM sums of her
orders, her feature row, her current segment memberships with their names, and the latest
CLV and churn scores. The state hashes to a digest, so that publishing the same warehouse
again writes nothing.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import orjson

from audience.model.live_records import ConsentState, PersonState, PublishedSegment, Rfm
from audience.realtime.events import iso
from audience.realtime.live_orders import no_orders
from audience.store.warehouse import scalar

_TRAIT_COLUMNS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "postcode",
    "city",
    "signup_at",
)
_SCORES = (
    "clv",
    "clv_low",
    "clv_high",
    "p_alive",
    "expected_transactions",
    "expected_order_value",
    "next_purchase_on",
    "churn_probability",
)


def _json(value: Any) -> Any:
    """A warehouse value as JSON holds it: times in the live path's ISO form."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _cleaned(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(scalar(con, "SELECT EXISTS (SELECT 1 FROM profiles)"))


def _persons(con: duckdb.DuckDBPyConnection, cleaned: bool) -> list[str]:
    source = "SELECT profile_id FROM profiles" if cleaned else "SELECT customer_id FROM customers"
    rows = con.execute(
        f"SELECT id FROM ({source} UNION SELECT customer_id FROM features) t(id) ORDER BY id"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _person_of(cleaned: bool) -> str:
    """SQL mapping a record id ``x.customer_id`` to its person."""
    if not cleaned:
        return "x.customer_id"
    return (
        "coalesce((SELECT m.profile_id FROM profile_members m "
        "WHERE m.record_id = x.customer_id), x.customer_id)"
    )


def _keys(con: duckdb.DuckDBPyConnection, persons: list[str]) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {p: [f"user_id:{p}"] for p in persons}
    rows = con.execute(
        """SELECT customer_id, CASE WHEN id_type = 'anonymous_id' THEN 'anonymous_id'
                                    ELSE 'user_id' END || ':' || id_value
           FROM identities WHERE id_type IN ('record', 'user_id', 'anonymous_id')
           ORDER BY customer_id, id_type DESC, id_value"""
    ).fetchall()
    for person, key in rows:
        known = keys.get(str(person))
        if known is not None and key not in known:
            known.append(str(key))
    return keys


def _traits(con: duckdb.DuckDBPyConnection, cleaned: bool) -> dict[str, dict[str, Any]]:
    table, key = ("profiles", "profile_id") if cleaned else ("customers", "customer_id")
    columns = ", ".join(_TRAIT_COLUMNS)
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    # Custom traits of every record, the most recently imported last so that it wins.
    person = _person_of(cleaned)
    for pid, raw in con.execute(
        f"""SELECT {person}, traits FROM customers x WHERE traits IS NOT NULL
            ORDER BY updated_at, customer_id"""
    ).fetchall():
        custom = orjson.loads(raw) if isinstance(raw, str) else raw
        if isinstance(custom, dict):
            out[str(pid)].update({k: v for k, v in custom.items() if v is not None})
    for row in con.execute(f"SELECT {key}, {columns} FROM {table}").fetchall():
        values = {c: _json(v) for c, v in zip(_TRAIT_COLUMNS, row[1:], strict=True)}
        out[str(row[0])].update({c: v for c, v in values.items() if v is not None})
    return out


def _consents(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, ConsentState]]:
    """The current status per person and purpose, as batch activation reads it."""
    out: dict[str, dict[str, ConsentState]] = defaultdict(dict)
    rows = con.execute(
        """SELECT customer_id, purpose, status, changed_at FROM current_consents
           ORDER BY customer_id, purpose"""
    ).fetchall()
    for person, purpose, status, changed_at in rows:
        out[str(person)][str(purpose)] = {
            "status": str(status),
            "changed_at": iso(changed_at),
            "message_id": "warehouse",
        }
    return out


def _rfm(con: duckdb.DuckDBPyConnection) -> dict[str, Rfm]:
    rows = con.execute(
        """SELECT customer_id, count(*), sum(total), sum(discount), min(ordered_at),
                  max(ordered_at)
           FROM person_orders GROUP BY customer_id"""
    ).fetchall()
    return {
        str(pid): {
            "frequency": int(n),
            "monetary": float(total or 0),
            "discount": abs(float(discount or 0)),
            "gross": float(total or 0) + abs(float(discount or 0)),
            "first_order_at": iso(first),
            "last_order_at": iso(last),
        }
        for pid, n, total, discount, first, last in rows
    }


def _event_order_ids(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Per person, her orders the warehouse holds from loaded 'Order Completed' events."""
    rows = con.execute(
        """SELECT customer_id, list(order_id ORDER BY order_id) FROM person_orders
           WHERE order_id IN (SELECT order_id FROM event_orders) GROUP BY customer_id"""
    ).fetchall()
    return {str(pid): [str(o) for o in ids] for pid, ids in rows}


def _features(
    con: duckdb.DuckDBPyConnection,
) -> tuple[dict[str, dict[str, float | None]], dict[str, str]]:
    cursor = con.execute("SELECT * FROM features")
    names = [d[0] for d in cursor.description or ()]
    features: dict[str, dict[str, float | None]] = {}
    as_of: dict[str, str] = {}
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        pid = str(record.pop("customer_id"))
        as_of[pid] = iso(record.pop("as_of"))
        features[pid] = {
            k: float(v) for k, v in record.items() if isinstance(v, int | float | Decimal)
        }
    return features, as_of


def _segments(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, PublishedSegment]]:
    out: dict[str, dict[str, PublishedSegment]] = defaultdict(dict)
    rows = con.execute(
        """SELECT m.customer_id, m.segment_id, coalesce(s.name, m.segment_id), m.run_id
           FROM memberships m LEFT JOIN segments s USING (segment_id)
           WHERE m.valid_to IS NULL ORDER BY m.customer_id, m.segment_id"""
    ).fetchall()
    for pid, sid, name, run_id in rows:
        out[str(pid)][str(sid)] = {"name": str(name), "run_id": run_id}
    return out


def _scores(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    cursor = con.execute(f"SELECT customer_id, {', '.join(_SCORES)} FROM customer_predictions")
    return {
        str(row[0]): {k: _json(v) for k, v in zip(_SCORES, row[1:], strict=True) if v is not None}
        for row in cursor.fetchall()
    }


def digest(state: PersonState) -> str:
    """The hash of a state (its ``hash`` field left out)."""
    body = {k: v for k, v in state.items() if k != "hash"}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def read_states(con: duckdb.DuckDBPyConnection) -> list[PersonState]:
    """Every person's state in the warehouse, in person id order."""
    cleaned = _cleaned(con)
    persons = _persons(con, cleaned)
    keys = _keys(con, persons)
    traits, consents, rfm = _traits(con, cleaned), _consents(con), _rfm(con)
    order_ids = _event_order_ids(con)
    features, as_of = _features(con)
    segments, scores = _segments(con), _scores(con)
    states: list[PersonState] = []
    for pid in persons:
        state: PersonState = {
            "customer_id": pid,
            "keys": keys[pid],
            "as_of": as_of.get(pid),
            "traits": traits.get(pid, {}),
            "consents": consents.get(pid, {}),
            "rfm": rfm.get(pid) or no_orders(),
            "order_ids": order_ids.get(pid, []),
            "features": features.get(pid, {}),
            "segments": segments.get(pid, {}),
            "scores": scores.get(pid, {}),
            "hash": "",
        }
        state["hash"] = digest(state)
        states.append(state)
    return states
