"""Pipelines: the only place that chains stages (segment run, live consumer, sync, demo...).

``activate`` and ``why`` share their module's name, so they are imported from
:mod:`.activate` and :mod:`.why` (or from :mod:`audience`), not from this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.pipelines.activate import ActivationReport
    from audience.pipelines.demo import DemoResult, run_demo
    from audience.pipelines.drift import DriftReport, drift_report
    from audience.pipelines.run_report import write_run_report
    from audience.pipelines.segment_run import run_segmentation
    from audience.pipelines.sync import SyncReport, sync_events

__all__ = [
    "ActivationReport",
    "DemoResult",
    "DriftReport",
    "SyncReport",
    "drift_report",
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
    "DriftReport": "drift",
    "drift_report": "drift",
    "write_run_report": "run_report",
    "run_segmentation": "segment_run",
    "SyncReport": "sync",
    "sync_events": "sync",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
