"""Condition trees as written in YAML -> validated :mod:`audience.model.conditions` values.

Every error names the file, the line and the path of the offending key
(``segments/vip.yaml line 7: segments.0.when.all.1.gt: ...``) and is raised before anything
runs. Values are normalised once here (numbers to float, timestamps to naive UTC, durations to
timedelta) so that both engines compile the same constants.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from audience.config.yamlmarks import Marked, PathKey
from audience.errors import ConfigError
from audience.model.conditions import (
    OPS,
    All,
    AnyOf,
    Comparison,
    Condition,
    EventCondition,
    FieldType,
    InSegment,
    Not,
    PropertyFilter,
    PropertyType,
)
from audience.model.fields import (
    FIELDS,
    OPS_BY_TYPE,
    PROPERTY_OPS,
    TRAIT_PREFIX,
    FieldSpec,
    trait_field,
)
from audience.model.rule_segment import RULE_PREFIX
from audience.store.clock import to_utc_naive
from audience.store.trait_types import known_traits

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
MAX_DURATION = timedelta(days=36_500)
"""The longest window a rule may name (100 years): ``now`` minus it stays a valid date."""
_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EVENT_KEYS = frozenset({"performed", "did_not_perform", "at_least", "at_most", "within", "where"})


@dataclass(frozen=True)
class Source:
    """Where a tree comes from: the marked document and the path of the tree in it."""

    marked: Marked | None
    file: str

    def error(self, path: PathKey, message: str) -> ConfigError:
        """The error to raise: ``file line N: dotted.path: message``."""
        line = self.marked.line_of(path) if self.marked else None
        where = f"{self.file} line {line}" if line else self.file
        dotted = ".".join(str(p) for p in path)
        return ConfigError(f"{where}: {dotted}: {message}")


def parse_duration(text: Any) -> timedelta | None:
    """``30d`` -> 30 days (units s, m, h, d, w); None when ``text`` is not a duration.

    A duration longer than :data:`MAX_DURATION` is not one either (see :func:`too_long`).
    """
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match or int(match.group(1)) == 0 or too_long(text):
        return None
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def too_long(text: Any) -> bool:
    """Whether ``text`` is a well-formed duration longer than :data:`MAX_DURATION`."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match:
        return False
    return int(match.group(1)) * _UNITS[match.group(2)] > MAX_DURATION.total_seconds()


TraitTypes = Callable[[], Mapping[str, str]]
"""Custom trait name -> catalogue type, asked for only when a condition names a trait."""


def no_traits() -> Mapping[str, str]:
    return {}


class ConditionParser:
    """Parse the ``when`` trees of one document, knowing the names of every rule segment
    and, through ``traits``, the custom traits of the warehouse."""

    def __init__(
        self, source: Source, rule_names: set[str], traits: TraitTypes = no_traits
    ) -> None:
        self.source = source
        self.rule_names = rule_names
        self.traits = traits

    def condition(self, raw: Any, path: PathKey) -> Condition:
        if not isinstance(raw, dict) or not raw:
            raise self.source.error(
                path,
                "expected a mapping with one of all, any, not, field, "
                "performed, did_not_perform, in_segment",
            )
        for word in ("all", "any", "not", "in_segment"):
            if word in raw:
                self._only(raw, {word}, path)
                return self._connective(word, raw[word], (*path, word))
        if "performed" in raw or "did_not_perform" in raw:
            return self._event(raw, path)
        if "field" in raw:
            return self._comparison(raw, path)
        raise self.source.error(
            path,
            f"unknown condition key(s) {sorted(map(str, raw))}; use all, any, "
            "not, field, performed, did_not_perform or in_segment",
        )

    def _only(self, raw: dict[str, Any], allowed: set[str], path: PathKey) -> None:
        extra = sorted(str(k) for k in raw if k not in allowed)
        if extra:
            raise self.source.error(
                (*path, extra[0]),
                f"unexpected key {extra[0]!r} beside "
                f"{'/'.join(sorted(allowed))}; nest it in all or any",
            )

    def _connective(self, word: str, raw: Any, path: PathKey) -> Condition:
        if word == "not":
            return Not(self.condition(raw, path))
        if word == "in_segment":
            if not isinstance(raw, str) or not raw:
                raise self.source.error(path, "in_segment takes a segment name or id")
            name = raw.removeprefix(RULE_PREFIX)
            return InSegment(raw, rule=name if name in self.rule_names else None)
        if not isinstance(raw, list) or not raw:
            raise self.source.error(path, f"{word} takes a non-empty list of conditions")
        items = tuple(self.condition(item, (*path, i)) for i, item in enumerate(raw))
        return All(items) if word == "all" else AnyOf(items)

    # -- comparisons --------------------------------------------------------------------

    def _custom_trait(self, name: str, path: PathKey) -> FieldSpec:
        """The spec of ``traits.<name>``, typed by the catalogue, or an error listing traits."""
        known = dict(self.traits())
        trait = name.removeprefix(TRAIT_PREFIX)
        if trait not in known:
            close = difflib.get_close_matches(trait, known, n=3)
            hint = f"did you mean {', '.join(TRAIT_PREFIX + c for c in close)}? " if close else ""
            raise self.source.error(
                (*path, "field"), f"unknown trait {name!r}; {hint}{known_traits(known)}"
            )
        return trait_field(trait, known[trait])

    def _comparison(self, raw: dict[str, Any], path: PathKey) -> Comparison:
        name = raw["field"]
        spec = FIELDS.get(name) if isinstance(name, str) else None
        if isinstance(name, str) and name.startswith(TRAIT_PREFIX):
            spec = self._custom_trait(name, path)
        if spec is None:
            close = difflib.get_close_matches(str(name), FIELDS, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "see 'activation.fields'"
            raise self.source.error((*path, "field"), f"unknown field {name!r}; {hint}")
        op, value = self._operator(raw, {"field"}, path)
        if op not in OPS_BY_TYPE[spec.ftype]:
            allowed = ", ".join(sorted(OPS_BY_TYPE[spec.ftype]))
            raise self.source.error(
                (*path, op),
                f"operator {op} does not apply to {spec.ftype} field "
                f"{name!r}; use one of {allowed}",
            )
        op, norm = self._operand(op, value, spec.ftype, f"field {name!r}", (*path, op))
        return Comparison(name, spec.ftype, op, norm)  # type: ignore[arg-type]

    def _operator(self, raw: dict[str, Any], fixed: set[str], path: PathKey) -> tuple[str, Any]:
        ops = [k for k in raw if k not in fixed]
        unknown = [k for k in ops if k not in OPS]
        if unknown:
            raise self.source.error(
                (*path, str(unknown[0])),
                f"unknown operator {unknown[0]!r}; use one of {', '.join(OPS)}",
            )
        if len(ops) != 1:
            raise self.source.error(path, f"expected exactly one operator, got {len(ops)} ({ops})")
        return ops[0], raw[ops[0]]

    def _operand(
        self, op: str, value: Any, ftype: str, what: str, path: PathKey
    ) -> tuple[str, Any]:
        if op in ("exists", "is_null"):
            if not isinstance(value, bool):
                raise self.source.error(path, f"{op} takes true or false")
            flip = {"exists": "is_null", "is_null": "exists"}
            return (op if value else flip[op]), None
        if op == "within_last":
            return op, self._duration(value, path, "within_last takes")
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise self.source.error(path, "between takes a list of two values [low, high]")
            low, high = (self._scalar(v, ftype, what, (*path, i)) for i, v in enumerate(value))
            if low > high:
                raise self.source.error(
                    path, f"between: low {value[0]!r} is above high {value[1]!r}"
                )
            return op, (low, high)
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise self.source.error(path, f"{op} takes a non-empty list of values")
            return op, frozenset(
                self._scalar(v, ftype, what, (*path, i)) for i, v in enumerate(value)
            )
        scalar_type = "string" if ftype == "list" else ftype
        return op, self._scalar(value, scalar_type, what, path)

    def _scalar(self, value: Any, ftype: str, what: str, path: PathKey) -> Any:
        """``value`` as the type of the field, or a clear error."""
        if ftype == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            number = _finite(value)
            if number is not None:
                return number
        elif isinstance(value, bool if ftype == "boolean" else str) and ftype in (
            "string",
            "boolean",
        ):
            return value
        elif ftype == "date":
            parsed = _as_date(value)
            if parsed is not None:
                return parsed
        elif ftype == "timestamp":
            stamp = _as_timestamp(value)
            if stamp is not None:
                return stamp
        hint = " (quote it in YAML)" if ftype == "string" else ""
        raise self.source.error(path, f"expected a {ftype} for {what}, got {value!r}{hint}")

    # -- events ---------------------------------------------------------------------------

    def _event(self, raw: dict[str, Any], path: PathKey) -> EventCondition:
        unknown = sorted(str(k) for k in raw if k not in _EVENT_KEYS)
        if unknown:
            raise self.source.error(
                (*path, unknown[0]),
                f"unknown key {unknown[0]!r} in an event "
                f"condition; use {', '.join(sorted(_EVENT_KEYS))}",
            )
        negated = "did_not_perform" in raw
        key = "did_not_perform" if negated else "performed"
        if negated and ("performed" in raw or "at_least" in raw or "at_most" in raw):
            raise self.source.error(path, "did_not_perform takes no performed, at_least or at_most")
        event = raw[key]
        if not isinstance(event, str) or not event:
            raise self.source.error(
                (*path, key), "expected an event name such as 'Order Completed'"
            )
        at_least = self._count(raw.get("at_least", 0 if negated else 1), (*path, "at_least"))
        at_most = 0 if negated else raw.get("at_most")
        if at_most is not None:
            at_most = self._count(at_most, (*path, "at_most"))
            if at_most < at_least:
                raise self.source.error((*path, "at_most"), f"at_most {at_most} is below at_least")
        elif at_least == 0:
            raise self.source.error((*path, "at_least"), "at_least 0 with no at_most always holds")
        within = None
        if "within" in raw:
            within = self._duration(raw["within"], (*path, "within"), "expected")
        where = self._where(raw.get("where", []), (*path, "where"))
        return EventCondition(event, at_least, at_most, within, where)

    def _duration(self, value: Any, path: PathKey, lead: str) -> timedelta:
        """``value`` as a duration, or an error saying what a duration looks like."""
        if too_long(value):
            days = MAX_DURATION.days
            raise self.source.error(
                path, f"{value!r} is longer than 100 years; use a duration of at most {days}d"
            )
        duration = parse_duration(value)
        if duration is None:
            raise self.source.error(path, f"{lead} a duration such as 30d, 12h, 2w; got {value!r}")
        return duration

    def _count(self, value: Any, path: PathKey) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.source.error(path, f"expected a whole number of times >= 0, got {value!r}")
        return value

    def _where(self, raw: Any, path: PathKey) -> tuple[PropertyFilter, ...]:
        if not isinstance(raw, list):
            raise self.source.error(
                path, "where takes a list of {property: NAME, <operator>: value}"
            )
        return tuple(self._property(item, (*path, i)) for i, item in enumerate(raw))

    def _property(self, raw: Any, path: PathKey) -> PropertyFilter:
        if not isinstance(raw, dict) or not isinstance(raw.get("property"), str):
            raise self.source.error(path, "expected {property: NAME, <operator>: value}")
        name = raw["property"].removeprefix("properties.")
        parts = tuple(name.split("."))
        if not all(_PROPERTY.match(p) for p in parts):
            raise self.source.error(
                (*path, "property"),
                f"property {name!r} must be dotted names of letters, digits and underscores",
            )
        op, value = self._operator(raw, {"property"}, path)
        ptype = _property_type(op, value)
        if ptype is None or op not in PROPERTY_OPS.get(ptype, frozenset({"exists", "is_null"})):
            raise self.source.error(
                (*path, op), f"operator {op} cannot compare property {name!r} with {value!r}"
            )
        op, norm = self._operand(op, value, ptype, f"property {name!r}", (*path, op))
        return PropertyFilter(parts, ptype, op, norm)  # type: ignore[arg-type]


def _finite(value: int | float) -> float | None:
    """``value`` as a finite float, or None (infinite, NaN, or an integer beyond floats)."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _property_type(op: str, value: Any) -> PropertyType | None:
    """A property's JSON type is the type of the value it is compared with."""
    if op in ("exists", "is_null"):
        return "any"
    sample: Sequence[Any] = value if isinstance(value, list) and value else [value]
    first = sample[0]
    if isinstance(first, bool):
        return "boolean"
    if isinstance(first, int | float):
        return "number"
    if isinstance(first, str):
        return "string"
    return None


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _as_timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return to_utc_naive(value)
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str):
        try:
            return to_utc_naive(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def field_types() -> dict[str, FieldType]:
    """Name -> type of every field, for documentation and error messages."""
    return {name: spec.ftype for name, spec in FIELDS.items()}
