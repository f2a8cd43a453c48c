"""Rule segments and the traces that explain a membership: plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from audience.model.conditions import Condition

RULE_PREFIX = "rule:"


def rule_segment_id(name: str) -> str:
    """The stable id of a rule segment: the same across evaluations, so history continues."""
    return RULE_PREFIX + name


@dataclass(frozen=True)
class Origin:
    """Where a definition was written, for error messages: ``segments/vip.yaml line 4``."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file} line {self.line}" if self.line else self.file


@dataclass(frozen=True)
class SegmentDefinition:
    """A named rule segment.

    Parameters
    ----------
    name:
        Unique among rule segments; the segment id is ``rule:<name>``.
    condition:
        The validated condition tree.
    group, rank:
        The exclusive group it belongs to, if any, and its rank there (0 = highest priority).
    holdout:
        Percent of the members held out of activation; 0 for none.
    """

    name: str
    condition: Condition
    description: str = ""
    group: str | None = None
    rank: int = 0
    origin: Origin = field(default_factory=lambda: Origin("(built in code)"))
    holdout: float = 0.0
    """Percent of the members kept from activation (``holdout: 5%``), for ``audience lift``."""
    holdout_window_days: int = 30

    @property
    def segment_id(self) -> str:
        return rule_segment_id(self.name)


class LeafTrace(NamedTuple):
    """One leaf condition as it was evaluated: its text, the value seen, whether it held.

    ``value`` is the field's value for a comparison, the count for an event condition and
    whether the person is a member for ``in_segment``; ``path`` locates the leaf in the tree
    (``when.all.0``), so a leaf under ``not`` reads ``when.not`` with ``matched`` False.
    """

    path: str
    condition: str
    value: Any
    matched: bool

    def to_dict(self) -> dict[str, Any]:  # a NamedTuple: built per leaf on the live path, fast
        return {
            "path": self.path,
            "condition": self.condition,
            "value": self.value,
            "matched": self.matched,
        }


class Trace(NamedTuple):
    """Why a person is in a rule segment: every leaf, with the values seen."""

    segment_id: str
    name: str
    leaves: tuple[LeafTrace, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment_id": self.segment_id,
            "name": self.name,
            "conditions": [leaf.to_dict() for leaf in self.leaves],
        }
