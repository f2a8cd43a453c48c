"""Domain types only, no I/O."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audience.model.activation_plan import ActivationPlan
    from audience.model.fields import FieldSpec, catalog
    from audience.model.live import Event, Profile, SegmentChange
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
    "Event": "live",
    "Profile": "live",
    "SegmentChange": "live",
    "SegmentDefinition": "rule_segment",
    "Trace": "rule_segment",
    "SegmentProfile": "runs",
    "SegmentRun": "runs",
}


def _load(name: str) -> object:
    if name not in _ORIGIN:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_ORIGIN[name]}"), name)
    globals()[name] = value  # later lookups no longer reach _load
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
