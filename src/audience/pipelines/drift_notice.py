"""``drift.detected``: a drift verdict sent to the workspace's webhook destinations.

The message takes Standard Webhooks' envelope, as ``segment.entered`` does
(:mod:`audience.activation.payloads`)::

    {"type": "drift.detected", "timestamp": "2026-11-25T08:00:00.000000Z",
     "data": {"run_id": "run-...", "check_id": "drift-...", "drift_share": 0.55,
              "threshold": 0.5, "features": ["monetary", "avg_basket", ...]}}

It is signed and retried by the same sender as segment changes
(:class:`~audience.activation.destinations.webhook.WebhookSender`); its id is derived from the
check, so a receiver drops a second delivery of the same verdict. Outcomes are kept with the
check in ``drift_checks`` (not in the segment-change ``deliveries`` table, whose rows are
changes of one person's membership).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from audience.activation.destinations.webhook import Message, WebhookSender
from audience.activation.payloads import timestamp_text
from audience.config.activation import WebhookDestination
from audience.errors import AudienceError
from audience.store.clock import Clock

EVENT = "drift.detected"


@dataclass(frozen=True)
class NoticeOutcome:
    destination: str
    status: str
    """delivered, dead, held, or failed (the destination could not be used)."""
    attempts: int = 0
    last_status: int | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def drift_message(report: dict[str, Any], clock: Clock) -> Message:
    """The signed body of ``drift.detected`` for a check (as ``DriftReport.to_dict``)."""
    body = {
        "type": EVENT,
        "timestamp": timestamp_text(clock.now()),
        "data": {
            "run_id": report["run_id"],
            "check_id": report["check_id"],
            "drift_share": report["drift_share"],
            "threshold": report["threshold"],
            "features": [f["feature"] for f in report["features"] if f["drifted"]],
        },
    }
    key = f"{EVENT}|{report['check_id']}"
    return Message("msg_" + hashlib.sha256(key.encode()).hexdigest()[:32], json.dumps(body))


def notify_drift(
    destinations: Iterable[Any], report: dict[str, Any], clock: Clock
) -> list[NoticeOutcome]:
    """Send the verdict to every webhook destination; a destination that cannot be used
    (no secret, an address it may not reach) is reported, not raised: the check stands."""
    message = drift_message(report, clock)
    outcomes = []
    for destination in destinations:
        if not isinstance(destination, WebhookDestination):
            continue
        try:
            sent = WebhookSender(destination, clock=clock).send([message])
        except AudienceError as exc:
            outcomes.append(NoticeOutcome(destination.name, "failed", error=str(exc)))
            continue
        for outcome in sent.outcomes:
            outcomes.append(
                NoticeOutcome(
                    destination.name,
                    outcome.status,
                    outcome.attempts,
                    outcome.last_status,
                    outcome.error,
                )
            )
    return outcomes
