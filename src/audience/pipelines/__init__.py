"""Pipelines: the only place that chains stages (segment run, live consumer, sync, demo...).

``activate`` and ``why`` share their module's name, so they are imported from
:mod:`.activate` and :mod:`.why` (or from :mod:`audience`), not from this package.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audience.pipelines.activate import ActivationReport
    from audience.pipelines.demo import DemoResult, run_demo
    from audience.pipelines.run_report import write_run_report
    from audience.pipelines.segment_run import run_segmentation
    from audience.pipelines.sync import SyncReport, sync_events

__all__ = [
    "ActivationReport",
    "DemoResult",
    "SyncReport",
    "run_demo",
    "run_segmentation",
    "sync_events",
    "write_run_report",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "ActivationReport": "activate",
    "DemoResult": "demo",
    "run_demo": "demo",
    "write_run_report": "run_report",
    "run_segmentation": "segment_run",
    "SyncReport": "sync",
    "sync_events": "sync",
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
