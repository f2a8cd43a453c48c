"""Deliver the live path's membership changes through the configured webhooks.

::

    sink = WebhookSink(plan, consent=lambda customer, purpose: ...)
    await sink.emit(change)                                  # -> list[Outcome] per webhook
    await sink.deliver(change)                               # -> list[LiveDelivery]

A :class:`LiveDelivery` is a ``deliveries`` row as the batch path writes it (plus its dead
letter's fields): the live consumer logs them, and its background loader records them in the
warehouse with :func:`audience.activation.deliveries.record_live_deliveries`, so that
``audience deliveries`` shows live and batch sends alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from audience.activation.destinations.webhook import Message, Outcome, WebhookSender
from audience.activation.payloads import delivery_id, payload, reason_of
from audience.config.activation import WebhookDestination
from audience.model.activation_plan import ActivationPlan
from audience.model.rule_segment import Trace
from audience.store.clock import to_utc_naive

ConsentCheck = Callable[[str, str], bool]
"""``consent(customer_id, purpose)``: True only when the person currently grants it."""


@dataclass(frozen=True)
class LiveDelivery:
    """What became of one live change at one webhook destination."""

    delivery_id: str
    destination: str
    segment_id: str
    customer_id: str
    event_type: str
    event_at: datetime
    """When the change happened (UTC, naive), as in the ``deliveries`` table."""
    payload: str
    """The exact JSON body signed and sent (or that would have been, when suppressed)."""
    status: Literal["delivered", "dead", "pending", "suppressed"]
    reason: str | None = None
    """The last error, or why suppressed (``no_consent:<purpose>``)."""
    attempts: int = 0
    last_status: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "event_at": self.event_at.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LiveDelivery:
        return cls(**{**data, "event_at": datetime.fromisoformat(str(data["event_at"]))})


def _change_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return to_utc_naive(value)
    return to_utc_naive(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


def _reason(why: Any) -> dict[str, Any] | None:
    """A change's ``why`` as the payload's ``reason``: a Trace, its dict, or a note."""
    if isinstance(why, Trace):
        return reason_of([leaf.to_dict() for leaf in why.leaves])
    if isinstance(why, Mapping) and isinstance(why.get("conditions"), list):
        return reason_of(why["conditions"])
    if isinstance(why, list):
        return reason_of(why)
    return None if why is None else {"note": str(why)}


class WebhookSink:
    """Deliver membership changes of the live path through the configured webhooks.

    ``emit(change)`` takes ``{"type": "segment.entered" | "segment.exited", "segment_id",
    "customer_id" (or "profile_id"), "at": datetime or ISO, "why": trace (optional),
    "profile": mapping of fields (optional)}``, and sends it to every webhook destination a
    workflow maps the segment to -- only if ``consent(customer_id, purpose)`` is True for the
    destination's purpose. It returns the outcomes; the caller records them (the warehouse
    has one writer), e.g. with :func:`audience.activation.deliveries.record_outcomes`.
    """

    def __init__(self, plan: ActivationPlan, consent: ConsentCheck) -> None:
        self.plan = plan
        self.consent = consent
        self._senders: dict[str, WebhookSender] = {}
        self.suppressed: dict[str, int] = {}

    def _sender(self, destination: WebhookDestination) -> WebhookSender:
        if destination.name not in self._senders:
            self._senders[destination.name] = WebhookSender(destination)
        return self._senders[destination.name]

    async def emit(self, change: Mapping[str, Any]) -> list[Outcome]:
        """Send ``change``; the outcome of each send (suppressed ones are only counted)."""
        return [
            Outcome(
                d.delivery_id,
                "held" if d.status == "pending" else d.status,
                d.attempts,
                d.last_status,
                d.reason,
            )
            for d in await self.deliver(change)
            if d.status != "suppressed"
        ]

    async def deliver(self, change: Mapping[str, Any]) -> list[LiveDelivery]:
        """Send ``change`` to each webhook a workflow maps its segment to; one record each,
        suppressed ones (no consent for the destination's purpose) included."""
        segment_id = str(change["segment_id"])
        customer = str(change.get("customer_id") or change["profile_id"])
        kind = str(change["type"])
        at = _change_time(change["at"])
        definition = self.plan.find(segment_id)
        name = definition.name if definition else segment_id
        reason = _reason(change.get("why"))
        sends: list[tuple[WebhookDestination, Message]] = []
        suppressed: list[LiveDelivery] = []
        for workflow in self.plan.workflows:
            destination = self.plan.destinations[workflow.destination]
            if workflow.segment not in (name, segment_id) or not isinstance(
                destination, WebhookDestination
            ):
                continue
            body = payload(
                kind, at, customer, segment_id, name, workflow, change.get("profile") or {}, reason
            )
            message = Message(delivery_id(destination.name, segment_id, customer, kind, at), body)
            if not self.consent(customer, destination.purpose):
                self.suppressed[destination.purpose] = (
                    self.suppressed.get(destination.purpose, 0) + 1
                )
                why = f"no_consent:{destination.purpose}"
                suppressed.append(
                    _record(destination, message, segment_id, customer, kind, at, "suppressed", why)
                )
                continue
            sends.append((destination, message))
        reports = await asyncio.gather(*(self._sender(d).send_async([m]) for d, m in sends))
        sent = []
        for (destination, message), report in zip(sends, reports, strict=True):
            for o in report.outcomes:
                status: Literal["delivered", "dead", "pending"] = (
                    "pending" if o.status == "held" else o.status
                )
                sent.append(
                    _record(
                        destination,
                        message,
                        segment_id,
                        customer,
                        kind,
                        at,
                        status,
                        o.error,
                        o.attempts,
                        o.last_status,
                    )
                )
        return sent + suppressed


def _record(
    destination: WebhookDestination,
    message: Message,
    segment_id: str,
    customer: str,
    kind: str,
    at: datetime,
    status: Literal["delivered", "dead", "pending", "suppressed"],
    reason: str | None,
    attempts: int = 0,
    last_status: int | None = None,
) -> LiveDelivery:
    return LiveDelivery(
        message.delivery_id,
        destination.name,
        segment_id,
        customer,
        kind,
        at,
        message.body,
        status,
        reason,
        attempts,
        last_status,
    )
