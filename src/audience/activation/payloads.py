"""The ``segment.entered`` / ``segment.exited`` message, built the same way in SQL and Python.

Body (Standard Webhooks' recommended ``type`` / ``timestamp`` / ``data`` envelope)::

    {"type": "segment.entered",
     "timestamp": "2026-11-25T08:00:00.000000Z",          # when the membership changed
     "data": {"customer_id": "P42", "segment_id": "rule:vip", "segment": "vip",
              "workflow": {"channel": "email", "template": "vip-welcome", "campaign": null},
              "fields": {"email": "...", "first_name": "..."},  # the workflow's fields
              "reason": {"when.all.0": {"condition": "monetary ≥ 500",     # entered rule
                                        "value": 812.5, "matched": true}, ...}}}  # segments

The message id (the ``webhook-id``) is derived from destination, segment, person, change and
its time, so the batch path (SQL) and the live path (Python) name the same change alike and a
receiver can drop a second delivery.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from audience.config.activation import WorkflowSpec
from audience.store.sql import ident, literal

EPOCH = datetime(1970, 1, 1)
KINDS = ("segment.entered", "segment.exited")


def epoch_us(at: datetime) -> int:
    """Microseconds since 1970 of a naive UTC time, as DuckDB's ``epoch_us``."""
    return (at - EPOCH) // timedelta(microseconds=1)


def delivery_id(
    destination: str, segment_id: str, customer_id: str, kind: str, at: datetime
) -> str:
    """``msg_`` and 32 hex digits of SHA-256 over the change: the same in SQL."""
    key = f"{destination}|{segment_id}|{customer_id}|{kind}|{epoch_us(at)}"
    return "msg_" + hashlib.sha256(key.encode()).hexdigest()[:32]


def delivery_id_sql(destination: str, segment_id: str, customer: str, kind: str, at: str) -> str:
    """:func:`delivery_id` as a SQL expression over columns or literals given as SQL."""
    parts = " || '|' || ".join(
        [literal(destination), segment_id, customer, kind, f"epoch_us({at})::VARCHAR"]
    )
    return f"'msg_' || substr(sha256({parts}), 1, 32)"


def timestamp_text(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def workflow_info(workflow: WorkflowSpec) -> dict[str, Any]:
    return {
        "channel": workflow.channel,
        "template": workflow.template,
        "campaign": workflow.campaign,
    }


def payload(
    kind: str,
    at: datetime,
    customer_id: str,
    segment_id: str,
    segment: str,
    workflow: WorkflowSpec,
    fields: Mapping[str, Any],
    reason: Mapping[str, Any] | None,
) -> str:
    """The JSON body of one change (Python side, for the live path)."""
    body = {
        "type": kind,
        "timestamp": timestamp_text(at),
        "data": {
            "customer_id": customer_id,
            "segment_id": segment_id,
            "segment": segment,
            "workflow": workflow_info(workflow),
            "fields": {name: fields.get(name) for name in workflow.fields},
            "reason": dict(reason) if reason is not None else None,
        },
    }
    return json.dumps(body, default=str, ensure_ascii=False, separators=(",", ":"))


def reason_of(leaves: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Trace leaves (path, condition, value, matched) as the payload's ``reason`` object."""
    return {
        str(leaf["path"]): {k: leaf.get(k) for k in ("condition", "value", "matched")}
        for leaf in leaves
    }


def reason_sql(texts: Mapping[str, str] | None, trace: str = "reason") -> str:
    """The stored trace (``{path: {value, matched}}``) with each leaf's text merged in."""
    if not texts:
        return trace
    patch = json.dumps(
        {path: {"condition": text} for path, text in texts.items()}, ensure_ascii=False
    )
    return f"CASE WHEN {trace} IS NOT NULL THEN json_merge_patch({literal(patch)}, {trace}) END"


def payload_sql(
    workflow: WorkflowSpec,
    segment: str,
    columns: dict[str, str],
    texts: Mapping[str, str] | None = None,
) -> str:
    """The same body as a SQL ``json_object``.

    Over a row with ``kind``, ``changed_at``, ``customer_id``, ``segment_id``, ``reason`` and
    the workflow's fields (``columns`` maps a field to its SQL expression where it is not a
    column of that name); ``texts`` are the leaves' texts merged into ``reason``.
    """
    info = ", ".join(
        f"{literal(k)}, {literal(v) if v is not None else 'NULL'}"
        for k, v in workflow_info(workflow).items()
    )
    fields = ", ".join(
        f"{literal(name)}, {columns.get(name, ident(name))}" for name in workflow.fields
    )
    return (
        "json_object('type', kind, 'timestamp', strftime(changed_at, '%Y-%m-%dT%H:%M:%S.%fZ'), "
        "'data', json_object('customer_id', customer_id, 'segment_id', segment_id, "
        f"'segment', {literal(segment)}, 'workflow', json_object({info}), "
        f"'fields', json_object({fields}), 'reason', {reason_sql(texts)}))"
    )
