"""Domain types only, no I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.model.activation_plan import ActivationPlan
    from audience.model.fields import FieldSpec, catalog
    from audience.model.live_records import Event, Profile, SegmentChange
    from audience.model.rule_segment import SegmentDefinition, Trace
    from audience.model.runs import SegmentProfile, SegmentRun

__all__ = [
    "ActivationPlan",
    "Event",
    "FieldSpec",
    "Profile",
    "SegmentChange",
    "SegmentDefinition",
    "SegmentProfile",
    "SegmentRun",
    "Trace",
    "catalog",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "ActivationPlan": "activation_plan",
    "FieldSpec": "fields",
    "catalog": "fields",
    "Event": "live_records",
    "Profile": "live_records",
    "SegmentChange": "live_records",
    "SegmentDefinition": "rule_segment",
    "Trace": "rule_segment",
    "SegmentProfile": "runs",
    "SegmentRun": "runs",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
