"""A workspace's activation plan: rule segments with their groups, destinations, workflows.

Built and validated by :func:`audience.rules.loading.load_activation`; read by the rule
engines (definitions), by activation (destinations and workflows) and by the live path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from audience.config.activation import (
    FileDestination,
    GroupSpec,
    WebhookDestination,
    WorkflowSpec,
)
from audience.model.rule_segment import SegmentDefinition

META_FIELDS = ("customer_id", "segment_id", "segment", "entered_at")
"""Fields a workflow may send besides the catalogue's."""

DestinationConfig = WebhookDestination | FileDestination


@dataclass(frozen=True)
class ActivationPlan:
    """Validated definitions in dependency order, with groups, destinations and workflows."""

    definitions: tuple[SegmentDefinition, ...]
    groups: tuple[GroupSpec, ...] = ()
    destinations: dict[str, DestinationConfig] = field(default_factory=dict)
    workflows: tuple[WorkflowSpec, ...] = ()

    def find(self, ref: str) -> SegmentDefinition | None:
        """The rule segment named ``ref`` or with id ``ref``."""
        for definition in self.definitions:
            if ref in (definition.name, definition.segment_id):
                return definition
        return None
