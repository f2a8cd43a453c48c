"""Load and validate every segment definition, group, destination and workflow, before any run.

Definitions come from ``audience.yaml`` (``activation.segments``) and from the workspace's
``segments/*.yaml`` files (each holding ``segments:`` and optionally ``groups:``, or a single
segment mapping). Everything is checked at load time, each error naming file, line and key:
unknown fields or operators, type mismatches, duplicate names, references to unknown rule
segments, cycles between segments, groups naming unknown segments, destinations without a
purpose, workflows naming unknown destinations or fields.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from audience.config.activation import (
    ActivationSettings,
    GroupSpec,
    SegmentSpec,
)
from audience.config.yamlmarks import Marked, PathKey, load_marked_file
from audience.errors import ConfigError
from audience.model.activation_plan import META_FIELDS, ActivationPlan, DestinationConfig
from audience.model.conditions import All, AnyOf, Condition, InSegment, Not
from audience.model.fields import FIELDS
from audience.model.rule_segment import Origin, SegmentDefinition
from audience.rules.parse import ConditionParser, Source, TraitTypes
from audience.store.trait_types import read_trait_types
from audience.store.workspace import WAREHOUSE_FILE

CONFIG_FILE = "audience.yaml"


class _SegmentFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segments: list[SegmentSpec] = Field(default_factory=list)
    groups: list[GroupSpec] = Field(default_factory=list)


@dataclass
class _Collected:
    segments: list[tuple[SegmentSpec, Source, PathKey]] = field(default_factory=list)
    groups: list[tuple[GroupSpec, Source, PathKey]] = field(default_factory=list)


def _validate(model: type[BaseModel], raw: Any, marked: Marked | None, base: PathKey) -> Any:
    """Pydantic validation whose first error names the file, line and key."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        source = Source(marked, marked.file if marked else CONFIG_FILE)
        message = first["msg"].removeprefix("Value error, ")
        raise source.error(
            (*base, *first["loc"]), f"{message} ({exc.error_count()} problem(s) in all)"
        ) from exc


def load_activation(root: Path, traits: Mapping[str, str] | None = None) -> ActivationPlan:
    """Read ``audience.yaml`` and ``segments/*.yaml`` of the workspace at ``root``.

    ``traits`` (custom trait name -> catalogue type) types the ``traits.<name>`` fields;
    by default they are read from the workspace's warehouse, opened read-only, and only
    when a condition names one.
    """
    marked = load_marked_file(root / CONFIG_FILE)
    data = marked.data if isinstance(marked.data, dict) else {}
    base: PathKey = ("activation",)
    settings: ActivationSettings = _validate(
        ActivationSettings, data.get("activation") or {}, marked, base
    )
    collected = _Collected()
    source = Source(marked, marked.file)
    for i, spec in enumerate(settings.segments):
        collected.segments.append((spec, source, (*base, "segments", i)))
    for i, group in enumerate(settings.groups):
        collected.groups.append((group, source, (*base, "groups", i)))
    folder = root / settings.segments_dir
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []
    for path in files:
        _collect_file(path, collected)
    known = _given(traits) if traits is not None else _from_warehouse(root / WAREHOUSE_FILE)
    return _build(settings, collected, source, base, known)


def _given(traits: Mapping[str, str]) -> TraitTypes:
    return lambda: traits


def _from_warehouse(path: Path) -> TraitTypes:
    return functools.cache(lambda: read_trait_types(path))


def _collect_file(path: Path, collected: _Collected) -> None:
    marked = load_marked_file(path)
    raw = marked.data if marked.data is not None else {}
    if isinstance(raw, dict) and "when" in raw:
        raw = {"segments": [raw]}
        marked.lines = {("segments", 0, *k): v for k, v in marked.lines.items()}
    parsed: _SegmentFile = _validate(_SegmentFile, raw, marked, ())
    source = Source(marked, marked.file)
    for i, spec in enumerate(parsed.segments):
        collected.segments.append((spec, source, ("segments", i)))
    for i, group in enumerate(parsed.groups):
        collected.groups.append((group, source, ("groups", i)))


def plan_from_settings(
    settings: ActivationSettings, traits: Mapping[str, str] | None = None
) -> ActivationPlan:
    """Validate settings built in code (no files, so errors carry paths but no lines).

    ``traits``: custom trait name -> catalogue type, for ``traits.<name>`` fields.
    """
    source = Source(None, CONFIG_FILE)
    base: PathKey = ("activation",)
    collected = _Collected(
        segments=[(s, source, (*base, "segments", i)) for i, s in enumerate(settings.segments)],
        groups=[(g, source, (*base, "groups", i)) for i, g in enumerate(settings.groups)],
    )
    return _build(settings, collected, source, base, _given(traits or {}))


def _build(
    settings: ActivationSettings,
    collected: _Collected,
    config: Source,
    base: PathKey,
    traits: TraitTypes,
) -> ActivationPlan:
    names: dict[str, PathKey] = {}
    for spec, source, path in collected.segments:
        if spec.name in names:
            raise source.error((*path, "name"), f"segment name {spec.name!r} is defined twice")
        names[spec.name] = path
    ranks = _group_ranks(collected, set(names))
    definitions: dict[str, SegmentDefinition] = {}
    for spec, source, path in collected.segments:
        parser = ConditionParser(source, set(names), traits)
        condition = parser.condition(spec.when, (*path, "when"))
        group, rank = ranks.get(spec.name, (None, 0))
        definitions[spec.name] = SegmentDefinition(
            name=spec.name,
            condition=condition,
            description=spec.description,
            group=group,
            rank=rank,
            origin=Origin(source.file, source.marked.line_of(path) if source.marked else None),
            holdout=spec.holdout,
            holdout_window_days=spec.holdout_window_days,
        )
    ordered = _dependency_order(definitions)
    destinations = _destinations(settings, config, base)
    _check_workflows(settings, destinations, config, base)
    return ActivationPlan(
        definitions=tuple(ordered),
        groups=tuple(g for g, _, _ in collected.groups),
        destinations=destinations,
        workflows=tuple(settings.workflows),
    )


def _group_ranks(collected: _Collected, names: set[str]) -> dict[str, tuple[str, int]]:
    """Exclusive group and rank of each grouped segment (non-exclusive groups only list)."""
    ranks: dict[str, tuple[str, int]] = {}
    seen: set[str] = set()
    for group, source, path in collected.groups:
        if group.name in seen:
            raise source.error((*path, "name"), f"group {group.name!r} is defined twice")
        seen.add(group.name)
        for i, member in enumerate(group.segments):
            name = member.removeprefix("rule:")
            if name not in names:
                raise source.error(
                    (*path, "segments", i),
                    f"group {group.name!r} names unknown rule segment {member!r}",
                )
            if not group.exclusive:
                continue
            if name in ranks:
                raise source.error(
                    (*path, "segments", i),
                    f"segment {name!r} is already in exclusive "
                    f"group {ranks[name][0]!r}; a segment has one priority",
                )
            ranks[name] = (group.name, i)
    return ranks


def rule_references(condition: Condition) -> list[str]:
    """Names of the rule segments a condition refers to."""
    if isinstance(condition, InSegment):
        return [condition.rule] if condition.rule else []
    if isinstance(condition, Not):
        return rule_references(condition.item)
    if isinstance(condition, All | AnyOf):
        return [name for item in condition.items for name in rule_references(item)]
    return []


def _dependency_order(definitions: dict[str, SegmentDefinition]) -> list[SegmentDefinition]:
    """Definitions with every referenced segment first; a cycle is an error naming it."""
    ordered: list[SegmentDefinition] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        """Depth first: a name met again while still being visited closes a cycle."""
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = [*trail[trail.index(name) :], name]
            origin = definitions[name].origin
            raise ConfigError(
                f"{origin}: segments reference each other in a cycle "
                f"({' -> '.join(cycle)}); remove one in_segment"
            )
        state[name] = "visiting"
        for ref in rule_references(definitions[name].condition):
            visit(ref, [*trail, name])
        state[name] = "done"
        ordered.append(definitions[name])

    for name in definitions:
        visit(name, [])
    return ordered


def _destinations(
    settings: ActivationSettings, config: Source, base: PathKey
) -> dict[str, DestinationConfig]:
    found: dict[str, DestinationConfig] = {}
    for i, destination in enumerate(settings.destinations):
        if destination.name in found:
            raise config.error(
                (*base, "destinations", i, "name"),
                f"destination {destination.name!r} is defined twice",
            )
        found[destination.name] = destination
    return found


def _check_workflows(
    settings: ActivationSettings,
    destinations: dict[str, DestinationConfig],
    config: Source,
    base: PathKey,
) -> None:
    for i, workflow in enumerate(settings.workflows):
        path = (*base, "workflows", i)
        if workflow.destination not in destinations:
            raise config.error(
                (*path, "destination"),
                f"unknown destination {workflow.destination!r}; "
                f"known: {', '.join(destinations) or 'none'}",
            )
        for j, name in enumerate(workflow.fields):
            if name not in FIELDS and name not in META_FIELDS:
                raise config.error((*path, "fields", j), f"unknown field {name!r} in a workflow")
