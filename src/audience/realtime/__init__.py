"""The real-time path: collector input, queues, live profile stores and the live engine."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

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
