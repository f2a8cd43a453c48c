"""The real-time path: collector input, queues, live profile stores and the live engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.realtime.consumer import Consumer
    from audience.realtime.engine import LiveEngine
    from audience.realtime.runtime import Collector, run_worker

__all__ = [
    "Collector",
    "Consumer",
    "LiveEngine",
    "run_worker",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "Consumer": "consumer",
    "LiveEngine": "engine",
    "Collector": "runtime",
    "run_worker": "runtime",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
