"""Webhook deliveries in the warehouse: queue, consent filter, outcomes, dead letters.

A change becomes a ``deliveries`` row (status ``pending``) *before* it is sent, in its own
committed transaction; the outcome is written after. A crash in between leaves it pending and
the next activation sends it again under the same ``webhook-id``: at least once, nothing
lost. Statuses: ``pending`` -> ``delivered`` | ``dead`` (with a ``dead_letters`` row) |
``suppressed`` (no current consent for the destination's purpose; final for that change).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from audience.activation.consent_filter import suppression_sql
from audience.activation.destinations.webhook import Message, Outcome, SendReport
from audience.activation.live_delivery import LiveDelivery
from audience.activation.payloads import delivery_id_sql, payload_sql
from audience.config.activation import WorkflowSpec
from audience.model.activation_plan import META_FIELDS
from audience.store.person_relation import people_sql
from audience.store.sql import literal
from audience.store.warehouse import scalar


@dataclass
class DeliverySummary:
    """Counts of one destination's send, for reports."""

    queued: int = 0
    delivered: int = 0
    dead: int = 0
    held: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    disabled: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "delivered": self.delivered,
            "dead_lettered": self.dead,
            "held": self.held,
            "suppressed": dict(self.suppressed),
            "endpoint_disabled": self.disabled,
        }


def endpoint_state(con: duckdb.DuckDBPyConnection, destination: str) -> tuple[str, str | None]:
    """(``active`` | ``disabled``, reason) from the latest status row."""
    rows = con.execute(
        """SELECT status, reason FROM endpoint_status WHERE destination = ?
           ORDER BY changed_at DESC LIMIT 1""",
        [destination],
    ).fetchall()
    return (str(rows[0][0]), str(rows[0][1])) if rows else ("active", None)


def set_endpoint_state(
    con: duckdb.DuckDBPyConnection, destination: str, status: str, reason: str, now: datetime
) -> None:
    """Append a state: the history says when and why an endpoint was disabled or enabled."""
    con.execute(
        "INSERT INTO endpoint_status VALUES (?, ?, ?, ?)", [destination, status, reason, now]
    )


def _changes_sql(
    con: duckdb.DuckDBPyConnection, destination: str, segment_id: str, now: datetime
) -> str:
    """(customer_id, kind, changed_at, valid_from) of the changes the destination follows.

    The first activation of (destination, segment) takes the current members as entered and
    records the cursor; later ones take the entries and exits since that first activation.
    """
    started = scalar(
        con,
        "SELECT min(started_at) FROM activation_cursors WHERE destination = ? AND segment_id = ?",
        [destination, segment_id],
    )
    seg = literal(segment_id)
    entered = """SELECT customer_id, 'segment.entered' AS kind, valid_from AS changed_at,
                        valid_from FROM memberships"""
    if started is None:
        con.execute(
            "INSERT INTO activation_cursors VALUES (?, ?, ?)", [destination, segment_id, now]
        )
        return f"{entered} WHERE segment_id = {seg} AND valid_to IS NULL"
    since = literal(started)
    return f"""{entered} WHERE segment_id = {seg} AND valid_from >= {since}
               UNION ALL
               SELECT customer_id, 'segment.exited', valid_to, valid_from FROM memberships
               WHERE segment_id = {seg} AND valid_to >= {since}"""


def queue_changes(
    con: duckdb.DuckDBPyConnection,
    destination: str,
    workflow: WorkflowSpec,
    segment_id: str,
    segment: str,
    now: datetime,
    texts: Mapping[str, str] | None = None,
) -> int:
    """Add a pending delivery for every change of the segment not yet queued for it.

    The payload is built here, in SQL, once: the bytes stored are the bytes signed and sent,
    on every try and every replay. Returns how many deliveries were added.
    """
    seg = literal(segment_id)
    changes = _changes_sql(con, destination, segment_id, now)
    people = people_sql(con, [f for f in workflow.fields if f not in META_FIELDS])
    columns = {
        "segment_id": "segment_id",
        "segment": literal(segment),
        "entered_at": "valid_from",
        "customer_id": "customer_id",
    }
    message_id = delivery_id_sql(destination, seg, "c.customer_id", "c.kind", "c.changed_at")
    before = int(scalar(con, "SELECT count(*) FROM deliveries"))
    con.execute(f"""INSERT INTO deliveries
        WITH c AS (
            SELECT c.*, {seg} AS segment_id,
                   CASE WHEN c.kind = 'segment.entered' THEN r.trace END AS reason,
                   {message_id} AS id
            FROM ({changes}) c
            LEFT JOIN membership_reasons r ON r.customer_id = c.customer_id
                 AND r.segment_id = {seg} AND r.valid_from = c.valid_from
        )
        SELECT id, {literal(destination)}, segment_id, customer_id, kind, changed_at,
               {payload_sql(workflow, segment, columns, texts)}, 'pending', NULL, 0, NULL,
               {literal(now)}, {literal(now)}
        FROM c LEFT JOIN ({people}) p USING (customer_id)
        WHERE id NOT IN (SELECT delivery_id FROM deliveries)""")
    return int(scalar(con, "SELECT count(*) FROM deliveries")) - before


def suppress_without_consent(
    con: duckdb.DuckDBPyConnection, destination: str, purpose: str, now: datetime
) -> dict[str, int]:
    """Mark pending deliveries of people without a current grant ``suppressed``; count why."""
    pending = f"""SELECT delivery_id, customer_id, segment_id FROM deliveries
                  WHERE destination = {literal(destination)} AND status = 'pending'"""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _suppressed AS
        SELECT delivery_id, suppressed FROM ({suppression_sql(pending, purpose)})
        WHERE suppressed IS NOT NULL""")
    con.execute(
        """UPDATE deliveries d SET status = 'suppressed', reason = s.suppressed, updated_at = ?
           FROM _suppressed s WHERE d.delivery_id = s.delivery_id""",
        [now],
    )
    counts = con.execute("SELECT suppressed, count(*) FROM _suppressed GROUP BY ALL").fetchall()
    con.execute("DROP TABLE _suppressed")
    return {str(reason): int(n) for reason, n in counts}


def pending_messages(con: duckdb.DuckDBPyConnection, destination: str) -> list[Message]:
    """Every pending delivery of the destination, oldest change first."""
    rows = con.execute(
        """SELECT delivery_id, payload::VARCHAR FROM deliveries
           WHERE destination = ? AND status = 'pending' ORDER BY event_at, delivery_id""",
        [destination],
    ).fetchall()
    return [Message(str(i), str(body)) for i, body in rows]


def record_outcomes(
    con: duckdb.DuckDBPyConnection, destination: str, report: SendReport, now: datetime
) -> DeliverySummary:
    """Write what a send did: delivered, dead (and its dead letter), held (still pending)."""
    summary = _count(report.outcomes)
    if report.outcomes:
        _write(con, report.outcomes, now)
    if report.disabled:
        set_endpoint_state(con, destination, "disabled", report.disabled, now)
        summary.disabled = report.disabled
    return summary


def _count(outcomes: Sequence[Outcome]) -> DeliverySummary:
    summary = DeliverySummary()
    for outcome in outcomes:
        if outcome.status == "delivered":
            summary.delivered += 1
        elif outcome.status == "dead":
            summary.dead += 1
        else:
            summary.held += 1
    return summary


def _write(con: duckdb.DuckDBPyConnection, outcomes: Sequence[Outcome], now: datetime) -> None:
    table = pa.table(
        {
            "delivery_id": [o.delivery_id for o in outcomes],
            "outcome": [o.status for o in outcomes],
            "attempts": pa.array([o.attempts for o in outcomes], pa.int32()),
            "last_status": pa.array([o.last_status for o in outcomes], pa.int32()),
            "error": [o.error for o in outcomes],
        }
    )
    con.register("_outcomes", table)
    try:
        con.execute(
            """UPDATE deliveries d SET
                 status = CASE o.outcome WHEN 'held' THEN 'pending' ELSE o.outcome END,
                 reason = o.error, attempts = d.attempts + o.attempts,
                 last_status = coalesce(o.last_status, d.last_status), updated_at = ?
               FROM _outcomes o WHERE d.delivery_id = o.delivery_id""",
            [now],
        )
        # A replayed message that dies again updates its open dead letter, not a new one.
        con.execute(
            """UPDATE dead_letters l SET attempts = l.attempts + o.attempts,
                 error = coalesce(o.error, l.error),
                 last_status = o.last_status, replayed_at = ?,
                 resolved_at = CASE WHEN o.outcome = 'delivered' THEN ? END
               FROM _outcomes o WHERE l.delivery_id = o.delivery_id AND l.resolved_at IS NULL""",
            [now, now],
        )
        con.execute(
            """INSERT INTO dead_letters
               SELECT o.delivery_id, d.destination, d.payload, o.error, o.attempts,
                      o.last_status, ?, NULL, NULL
               FROM _outcomes o JOIN deliveries d USING (delivery_id)
               WHERE o.outcome = 'dead' AND o.delivery_id NOT IN
                     (SELECT delivery_id FROM dead_letters WHERE resolved_at IS NULL)""",
            [now],
        )
    finally:
        con.unregister("_outcomes")


def record_live_deliveries(
    con: duckdb.DuckDBPyConnection, deliveries: Sequence[LiveDelivery], now: datetime
) -> int:
    """Record what the live path sent: ``deliveries`` rows in their final status, and a
    ``dead_letters`` row for each that died (``audience deliveries retry`` replays it).

    Idempotent on ``delivery_id``: a delivery already recorded (a file recorded twice, a
    change sent again after a crash) is left as it is. Returns the rows added.
    """
    if not deliveries:
        return 0
    table = pa.table(
        {
            "delivery_id": [d.delivery_id for d in deliveries],
            "destination": [d.destination for d in deliveries],
            "segment_id": [d.segment_id for d in deliveries],
            "customer_id": [d.customer_id for d in deliveries],
            "event_type": [d.event_type for d in deliveries],
            "event_at": pa.array([d.event_at for d in deliveries], pa.timestamp("us")),
            "payload": [d.payload for d in deliveries],
            "status": [d.status for d in deliveries],
            "reason": [d.reason for d in deliveries],
            "attempts": pa.array([d.attempts for d in deliveries], pa.int32()),
            "last_status": pa.array([d.last_status for d in deliveries], pa.int32()),
            "seq": pa.array(range(len(deliveries)), pa.int64()),
        }
    )
    con.register("_live", table)
    try:
        # The last record of a delivery_id in the batch wins (a resend after a crash).
        fresh = """SELECT * FROM _live WHERE delivery_id NOT IN (SELECT delivery_id FROM deliveries)
                   QUALIFY row_number() OVER (PARTITION BY delivery_id ORDER BY seq DESC) = 1"""
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _live_new AS {fresh}""")
        added = scalar(con, "SELECT count(*) FROM _live_new")
        con.execute(
            """INSERT INTO deliveries (delivery_id, destination, segment_id, customer_id,
                 event_type, event_at, payload, status, reason, attempts, last_status,
                 created_at, updated_at)
               SELECT delivery_id, destination, segment_id, customer_id, event_type, event_at,
                      payload::JSON, status, reason, attempts, last_status, ?, ?
               FROM _live_new""",
            [now, now],
        )
        con.execute(
            """INSERT INTO dead_letters
               SELECT delivery_id, destination, payload::JSON, coalesce(reason, 'failed'),
                      attempts, last_status, ?, NULL, NULL
               FROM _live_new WHERE status = 'dead'""",
            [now],
        )
        con.execute("DROP TABLE _live_new")
    finally:
        con.unregister("_live")
    return int(added)


def open_dead_letters(con: duckdb.DuckDBPyConnection, destination: str) -> list[Message]:
    """Dead letters not yet resolved, with the stored body (replayed under the same id)."""
    rows = con.execute(
        """SELECT delivery_id, payload::VARCHAR FROM dead_letters
           WHERE destination = ? AND resolved_at IS NULL ORDER BY dead_at, delivery_id""",
        [destination],
    ).fetchall()
    return [Message(str(i), str(body)) for i, body in rows]


def suppress_dead_letters(
    con: duckdb.DuckDBPyConnection, destination: str, purpose: str, now: datetime
) -> dict[str, int]:
    """Before a replay: dead letters of people who no longer grant consent are closed."""
    dead = f"""SELECT l.delivery_id, d.customer_id, d.segment_id FROM dead_letters l
               JOIN deliveries d USING (delivery_id)
               WHERE l.destination = {literal(destination)} AND l.resolved_at IS NULL"""
    rows = con.execute(f"""SELECT delivery_id, suppressed FROM ({suppression_sql(dead, purpose)})
                           WHERE suppressed IS NOT NULL""").fetchall()
    for delivery, reason in rows:
        con.execute(
            "UPDATE dead_letters SET resolved_at = ? WHERE delivery_id = ? AND resolved_at IS NULL",
            [now, delivery],
        )
        con.execute(
            "UPDATE deliveries SET status = 'suppressed', reason = ?, updated_at = ? "
            "WHERE delivery_id = ?",
            [reason, now, delivery],
        )
    counts: dict[str, int] = {}
    for _, reason in rows:
        counts[str(reason)] = counts.get(str(reason), 0) + 1
    return counts


def list_deliveries(
    con: duckdb.DuckDBPyConnection, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The most recently updated deliveries (of one status), newest first."""
    where = "WHERE status = ?" if status else ""
    cursor = con.execute(
        f"""SELECT delivery_id, destination, segment_id, customer_id, event_type, event_at,
                   status, reason, attempts, last_status, updated_at
            FROM deliveries {where} ORDER BY updated_at DESC, delivery_id LIMIT {int(limit)}""",
        [status] if status else [],
    )
    names = [c[0] for c in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def delivery_counts(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Destination -> status -> count, and open dead letters."""
    found: dict[str, dict[str, int]] = {}
    for dest, status, n in con.execute(
        "SELECT destination, status, count(*) FROM deliveries GROUP BY ALL ORDER BY ALL"
    ).fetchall():
        found.setdefault(str(dest), {})[str(status)] = int(n)
    for dest, n in con.execute(
        "SELECT destination, count(*) FROM dead_letters WHERE resolved_at IS NULL GROUP BY ALL"
    ).fetchall():
        found.setdefault(str(dest), {})["open_dead_letters"] = int(n)
    return found
