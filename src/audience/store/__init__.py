"""Storage: the warehouse (DuckDB), the workspace around it, and the clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.store.clock import Clock, FixedClock, SystemClock
    from audience.store.warehouse import Warehouse
    from audience.store.workspace import Workspace

__all__ = [
    "Clock",
    "FixedClock",
    "SystemClock",
    "Warehouse",
    "Workspace",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "Clock": "clock",
    "FixedClock": "clock",
    "SystemClock": "clock",
    "Warehouse": "warehouse",
    "Workspace": "workspace",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
