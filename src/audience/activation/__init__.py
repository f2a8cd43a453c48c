"""Activation: send segment changes to webhooks and export members, consent enforced.

:mod:`.workflows` runs a workflow (webhook or file export); :mod:`.deliveries` keeps
every webhook delivery and dead letter; :mod:`.consent_filter` says who may be sent for
a purpose; :mod:`.live_delivery` delivers the live path's changes; :mod:`.destinations`
holds the webhook sender and the file exports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.activation.deliveries import DeliverySummary, delivery_counts, list_deliveries
    from audience.activation.live_delivery import WebhookSink
    from audience.activation.workflows import WorkflowReport, retry_dead_letters, run_workflow

__all__ = [
    "DeliverySummary",
    "WebhookSink",
    "WorkflowReport",
    "delivery_counts",
    "list_deliveries",
    "retry_dead_letters",
    "run_workflow",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "DeliverySummary": "deliveries",
    "delivery_counts": "deliveries",
    "list_deliveries": "deliveries",
    "WebhookSink": "live_delivery",
    "WorkflowReport": "workflows",
    "retry_dead_letters": "workflows",
    "run_workflow": "workflows",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
