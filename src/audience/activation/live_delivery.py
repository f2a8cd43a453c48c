"""Deliver the live path's membership changes through the configured webhooks.

::

    sink = WebhookSink(plan, consent=lambda customer, purpose: ...)
    await sink.emit(change)                                  # -> list[Outcome] per webhook
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from audience.activation.destinations.webhook import Message, Outcome, WebhookSender
from audience.activation.payloads import delivery_id, payload, reason_of
from audience.config.activation import WebhookDestination
from audience.model.activation_plan import ActivationPlan
from audience.model.rule_segment import Trace
from audience.store.clock import to_utc_naive

ConsentCheck = Callable[[str, str], bool]
"""``consent(customer_id, purpose)``: True only when the person currently grants it."""


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
        segment_id = str(change["segment_id"])
        customer = str(change.get("customer_id") or change["profile_id"])
        at = _change_time(change["at"])
        definition = self.plan.find(segment_id)
        name = definition.name if definition else segment_id
        reason = _reason(change.get("why"))
        sends = []
        for workflow in self.plan.workflows:
            destination = self.plan.destinations[workflow.destination]
            if workflow.segment not in (name, segment_id) or not isinstance(
                destination, WebhookDestination
            ):
                continue
            if not self.consent(customer, destination.purpose):
                self.suppressed[destination.purpose] = (
                    self.suppressed.get(destination.purpose, 0) + 1
                )
                continue
            body = payload(
                str(change["type"]),
                at,
                customer,
                segment_id,
                name,
                workflow,
                change.get("profile") or {},
                reason,
            )
            message = Message(
                delivery_id(destination.name, segment_id, customer, str(change["type"]), at), body
            )
            sends.append(self._sender(destination).send_async([message]))
        reports = await asyncio.gather(*sends)
        return [o for r in reports for o in r.outcomes]
