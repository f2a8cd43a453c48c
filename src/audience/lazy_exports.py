"""Public names that load on first use (PEP 562), so that importing a package imports none
of its modules: ``import audience`` stays instant and the CLI starts at once.

Each package lists where its public names live and hands the list to :func:`lazy_exports`::

    _ORIGIN = {"Workspace": "workspace", ...}   # name -> module, relative to the package
    _load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)
    if not TYPE_CHECKING:  # type checkers see the package's TYPE_CHECKING imports instead
        __getattr__ = _load
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import import_module


def lazy_exports(
    package: str, origin: Mapping[str, str], public: Sequence[str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``."""
    namespace = sys.modules[package].__dict__

    def load(name: str) -> object:
        if name not in origin:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{origin[name]}"), name)
        namespace[name] = value  # later lookups no longer reach load
        return value

    def names() -> list[str]:
        return sorted({*namespace, *public})

    return load, names
