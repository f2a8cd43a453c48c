"""What an experiment is, as written on the command line or in a YAML file, and its checks.

``--variants control:50,treatment:50`` (the first is the control), ``--window 14d``,
``--holdout 10`` or ``10%``: each is parsed here and every mistake is one line naming the
value and how to write it. The YAML form holds the same keys::

    experiments:
      - name: spring-promo
        segment: Loyal e-mail readers
        variants: {control: 50, treatment: 50}     # or "control:50,treatment:50"
        metric: conversion
        window: 14d
        holdout: 5%
        guardrails: [revenue, click]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audience.config.yamlmarks import load_marked_file
from audience.errors import ExperimentError
from audience.model.bucketing import HOLDOUT

BUILTIN_METRICS = ("conversion", "revenue", "orders", "open", "click", "revenue_per_order")
"""Metrics computed from orders and e-mail events; any other name is a track event's."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_WINDOW = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$")
_KEYS = {
    "name",
    "segment",
    "variants",
    "metric",
    "window",
    "lookback",
    "holdout",
    "salt",
    "namespace",
    "traffic",
    "guardrails",
}


@dataclass(frozen=True)
class Variant:
    """One arm and its share of the traffic, in percent."""

    name: str
    weight: float


@dataclass(frozen=True)
class ExperimentDefinition:
    """An experiment as the user defined it, validated."""

    name: str
    segment: str
    variants: tuple[Variant, ...]
    metric: str = "conversion"
    window_days: int = 14
    lookback_days: int = 14
    holdout: float = 0.0
    """Percent of the experiment's persons kept out of every variant."""
    salt: str | None = None
    namespace: str | None = None
    traffic: float = 100.0
    """Percent of the namespace the experiment takes."""
    guardrails: tuple[str, ...] = field(default_factory=tuple)


def parse_variants(text: str | Mapping[str, Any]) -> tuple[Variant, ...]:
    """``control:50,treatment:50`` (or a mapping) as variants; weights must sum to 100."""
    items: list[tuple[str, Any]]
    if isinstance(text, Mapping):
        items = list(text.items())
    else:
        items = []
        for part in str(text).split(","):
            name, sep, weight = part.partition(":")
            if not sep:
                raise ExperimentError(
                    f"variant {part.strip()!r} has no weight; write name:percent, "
                    "e.g. --variants control:50,treatment:50"
                )
            items.append((name.strip(), weight.strip()))
    variants = []
    for name, raw in items:
        try:
            share = float(str(raw).rstrip("%"))
        except ValueError:
            raise ExperimentError(
                f"variant {name!r} has weight {raw!r}, not a number; write e.g. {name}:50"
            ) from None
        if not _NAME.match(str(name)) or name == HOLDOUT:
            raise ExperimentError(
                f"variant name {name!r} is not allowed; use letters, digits, '_', '-' or '.' "
                f"(and not {HOLDOUT!r}, which names the holdout)"
            )
        if not share > 0:
            raise ExperimentError(f"variant {name!r} has weight {share:g}; give it more than 0")
        variants.append(Variant(str(name), share))
    names = [v.name for v in variants]
    if len(variants) < 2:
        raise ExperimentError("an experiment needs two variants or more (the first is the control)")
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ExperimentError(f"variant name(s) {', '.join(twice)} given twice; names are unique")
    total = sum(v.weight for v in variants)
    if abs(total - 100.0) > 1e-9:
        given = ", ".join(f"{v.name}:{v.weight:g}" for v in variants)
        raise ExperimentError(
            f"variant weights sum to {total:g}, not 100 ({given}); make them add up to 100"
        )
    return tuple(variants)


def parse_days(text: str | int, what: str = "window") -> int:
    """``14d``, ``2w`` or ``14`` as a number of days (at least 1)."""
    match = _WINDOW.match(str(text))
    if not match or int(match.group(1)) < 1:
        raise ExperimentError(f"{what} {text!r} is not a duration; write days like 14d, or 2w")
    return int(match.group(1)) * (7 if match.group(2) == "w" else 1)


def parse_percent(text: str | float, what: str = "holdout") -> float:
    """``10``, ``10%`` or ``10.5`` as a percent in [0, 100)."""
    try:
        value = float(str(text).strip().rstrip("%"))
    except ValueError:
        raise ExperimentError(f"{what} {text!r} is not a percent; write e.g. 5 or 5%") from None
    if not 0 <= value < 100:
        raise ExperimentError(f"{what} {value:g}% is outside [0, 100); write e.g. 5 or 5%")
    return value


def _traffic(text: str | float) -> float:
    try:
        value = float(str(text).strip().rstrip("%"))
    except ValueError:
        raise ExperimentError(f"traffic {text!r} is not a percent; write e.g. 50 or 50%") from None
    if not 0 < value <= 100:
        raise ExperimentError(f"traffic {value:g}% is outside (0, 100]; write e.g. 50 or 50%")
    return value


def check_metric(metric: str, what: str = "metric") -> str:
    """A built-in metric or a track event name (any non-empty text)."""
    name = metric.strip()
    if not name:
        raise ExperimentError(
            f"{what} is empty; use one of {', '.join(BUILTIN_METRICS)} or a track event name"
        )
    return name


def definition(
    name: str,
    segment: str,
    variants: str | Mapping[str, Any],
    metric: str = "conversion",
    window: str | int = "14d",
    lookback: str | int = "14d",
    holdout: str | float = 0,
    salt: str | None = None,
    namespace: str | None = None,
    traffic: str | float = 100,
    guardrails: tuple[str, ...] | list[str] = (),
) -> ExperimentDefinition:
    """An :class:`ExperimentDefinition` from raw values (CLI flags or YAML), validated."""
    if not _NAME.match(name):
        raise ExperimentError(
            f"experiment name {name!r} is not allowed; use letters, digits, '_', '-' or '.'"
        )
    if not segment.strip():
        raise ExperimentError(f"experiment {name!r} names no segment; pass --segment NAME")
    share = _traffic(traffic)
    return ExperimentDefinition(
        name=name,
        segment=segment.strip(),
        variants=parse_variants(variants),
        metric=check_metric(metric),
        window_days=parse_days(window),
        lookback_days=parse_days(lookback, "lookback"),
        holdout=parse_percent(holdout),
        salt=salt or None,
        namespace=namespace or None,
        traffic=float(share),
        guardrails=tuple(check_metric(g, "guardrail metric") for g in guardrails),
    )


def definitions_from_yaml(path: Path) -> list[ExperimentDefinition]:
    """Every experiment of a YAML file (``experiments:`` list, or one mapping)."""
    data = load_marked_file(path).data
    if isinstance(data, dict) and "experiments" in data:
        data = data["experiments"]
    items = data if isinstance(data, list) else [data]
    found = []
    for i, item in enumerate(items):
        where = f"{path}: experiment {i + 1}"
        if not isinstance(item, dict):
            raise ExperimentError(f"{where} is not a mapping of keys (name, segment, variants...)")
        unknown = sorted(set(item) - _KEYS)
        if unknown:
            raise ExperimentError(
                f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}"
            )
        missing = [k for k in ("name", "segment", "variants") if k not in item]
        if missing:
            raise ExperimentError(f"{where}: missing {', '.join(missing)}")
        try:
            found.append(
                definition(
                    str(item["name"]),
                    str(item["segment"]),
                    item["variants"],
                    str(item.get("metric", "conversion")),
                    item.get("window", "14d"),
                    item.get("lookback", "14d"),
                    item.get("holdout", 0),
                    item.get("salt"),
                    item.get("namespace"),
                    item.get("traffic", 100),
                    [str(g) for g in item.get("guardrails") or []],
                )
            )
        except ExperimentError as exc:
            raise ExperimentError(f"{where} ({item.get('name')}): {exc}") from None
    return found
