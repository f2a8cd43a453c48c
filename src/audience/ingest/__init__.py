"""Reading files into the warehouse, and demo data to try it on.

:func:`import_file` loads a CSV, Parquet or JSON Lines file of customers, orders or
events in one transaction, quarantining the rows it cannot use;
:func:`generate` writes a demo data set with planted personas and dirt.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audience.ingest.demo.generate import GeneratedFiles, generate
    from audience.ingest.importer import ImportReport, import_file

__all__ = [
    "GeneratedFiles",
    "ImportReport",
    "generate",
    "import_file",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "ImportReport": "importer",
    "import_file": "importer",
    "GeneratedFiles": "demo.generate",
    "generate": "demo.generate",
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
