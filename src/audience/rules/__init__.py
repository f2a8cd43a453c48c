"""The segment language: parse definitions, compile them to SQL and to Python, evaluate.

:func:`load_activation` reads and checks every definition of a workspace;
:func:`audience.rules.evaluate.evaluate` (also ``audience.evaluate``) runs them over
everyone in the warehouse, with history; :class:`LiveEvaluator` runs them on one live
profile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.rules.evaluate import Evaluation
    from audience.rules.history import Member, changes, members, overlap
    from audience.rules.live_evaluator import LiveEvaluator
    from audience.rules.loading import load_activation

__all__ = [
    "Evaluation",
    "LiveEvaluator",
    "Member",
    "changes",
    "load_activation",
    "members",
    "overlap",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "Evaluation": "evaluate",
    "Member": "history",
    "changes": "history",
    "members": "history",
    "overlap": "history",
    "LiveEvaluator": "live_evaluator",
    "load_activation": "loading",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
