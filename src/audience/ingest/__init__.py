"""Reading files into the warehouse, and demo data to try it on.

:func:`import_file` loads a CSV, Parquet or JSON Lines file of customers, orders or
events in one transaction, quarantining the rows it cannot use;
:func:`generate` writes a demo data set with planted personas and dirt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.ingest.demo.generate import GeneratedFiles, generate
    from audience.ingest.import_report import ImportReport
    from audience.ingest.importer import import_file

__all__ = [
    "GeneratedFiles",
    "ImportReport",
    "generate",
    "import_file",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "ImportReport": "import_report",
    "import_file": "importer",
    "GeneratedFiles": "demo.generate",
    "generate": "demo.generate",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
