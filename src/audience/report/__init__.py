"""The HTML report and its charts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.report.html import RunCharts, write_report
    from audience.report.quality_html import write_quality_report

__all__ = [
    "RunCharts",
    "write_quality_report",
    "write_report",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "RunCharts": "html",
    "write_report": "html",
    "write_quality_report": "quality_html",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
