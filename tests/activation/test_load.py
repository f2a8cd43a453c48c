"""Loading definitions: what a user writes becomes validated conditions, or a precise error."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from audience.config.activation import ActivationSettings
from audience.errors import ConfigError
from audience.model.conditions import All, Comparison, EventCondition, InSegment, Not
from audience.rules.loading import load_activation, plan_from_settings
from tests.conftest import write

HEADER = "version: 1\nname: t\n"


def workspace(tmp_path: Path, activation: str, files: dict[str, str] | None = None) -> Path:
    write(tmp_path / "audience.yaml", HEADER + activation)
    for name, text in (files or {}).items():
        (tmp_path / "segments").mkdir(exist_ok=True)
        write(tmp_path / "segments" / name, text)
    return tmp_path


def error_of(root: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_activation(root)
    return str(info.value)


def test_a_full_definition_loads_with_every_condition_kind(tmp_path: Path) -> None:
    root = workspace(
        tmp_path,
        """
activation:
  segments:
    - name: vip
      description: Big recent spenders
      when:
        all:
          - {field: monetary, between: [500, 5000]}
          - {field: city, in: [Paris, Lyon]}
          - not: {field: email, is_null: true}
          - {field: signup_at, within_last: 2w}
          - performed: Order Completed
            at_least: 2
            within: 30d
            where:
              - {property: properties.total, gt: 50}
          - did_not_perform: Email Opened
            within: 60d
    - name: vip_mobile
      when:
        all: [{in_segment: vip}, {field: mobile_share, gte: 0.5}, {in_segment: Champions}]
""",
    )
    plan = load_activation(root)
    assert [d.name for d in plan.definitions] == ["vip", "vip_mobile"]
    vip = plan.definitions[0].condition
    assert isinstance(vip, All)
    between, city, not_null, signup, bought, silent = vip.items
    assert between == Comparison("monetary", "number", "between", (500.0, 5000.0))
    assert city == Comparison("city", "string", "in", frozenset({"Paris", "Lyon"}))
    assert not_null == Not(Comparison("email", "string", "is_null"))
    assert signup == Comparison("signup_at", "timestamp", "within_last", timedelta(weeks=2))
    assert isinstance(bought, EventCondition)
    assert (bought.at_least, bought.at_most, bought.within) == (2, None, timedelta(days=30))
    assert bought.where[0].path == ("total",) and bought.where[0].ptype == "number"
    assert isinstance(silent, EventCondition) and (silent.at_least, silent.at_most) == (0, 0)
    refs = plan.definitions[1].condition
    assert isinstance(refs, All)
    assert refs.items[0] == InSegment("vip", rule="vip")
    assert refs.items[2] == InSegment("Champions", rule=None)  # a stored (cluster) segment
    assert plan.definitions[0].origin.line == 6  # two header lines, a blank one, then 3


def test_unknown_field_names_file_line_and_path(tmp_path: Path) -> None:
    root = workspace(
        tmp_path,
        """
activation:
  segments:
    - name: a
      when:
        any:
          - {field: frequency, gt: 1}
          - {field: recency_dayz, lt: 30}
""",
    )
    message = error_of(root)
    assert "audience.yaml line 10" in message
    assert "activation.segments.0.when.any.1.field" in message
    assert "unknown field 'recency_dayz'" in message and "recency_days" in message


def test_type_mismatch_is_refused_at_load(tmp_path: Path) -> None:
    root = workspace(
        tmp_path,
        """
activation:
  segments:
    - name: a
      when: {field: recency_days, gt: "abc"}
""",
    )
    message = error_of(root)
    assert "line 7" in message and "when.gt" in message
    assert "expected a number for field 'recency_days'" in message


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("{field: city, lt: Paris}", "operator lt does not apply to string field 'city'"),
        ("{field: monetary, within_last: 30d}", "operator within_last does not apply"),
        ("{field: monetary, gte: 1, lte: 2}", "expected exactly one operator"),
        ("{field: monetary, greater: 1}", "unknown operator 'greater'"),
        ("{field: monetary, between: [10, 1]}", "low 10 is above high 1"),
        ("{field: signup_at, within_last: soon}", "within_last takes a duration"),
        ("{field: postcode, eq: 75001}", "quote it in YAML"),
        ("{performed: Order Completed, at_most: 1, at_least: 3}", "at_most 1 is below at_least"),
        ("{performed: X, where: [{property: total, gt: abc, lt: 3}]}", "exactly one operator"),
        ("{performed: X, within: forever}", "expected a duration"),
        ("{did_not_perform: X, at_least: 1}", "did_not_perform takes no"),
        ("{all: []}", "all takes a non-empty list"),
        ("{all: [{field: frequency, gt: 1}], any: []}", "unexpected key"),
        ("{color: red}", "unknown condition key"),
    ],
)
def test_bad_conditions_are_refused(tmp_path: Path, condition: str, expected: str) -> None:
    root = workspace(
        tmp_path, f"activation:\n  segments:\n    - name: a\n      when: {condition}\n"
    )
    message = error_of(root)
    assert expected in message
    assert "audience.yaml line 6" in message


def test_cycle_between_segments_is_refused(tmp_path: Path) -> None:
    root = workspace(
        tmp_path,
        """
activation:
  segments:
    - {name: a, when: {in_segment: b}}
    - {name: b, when: {any: [{field: frequency, gt: 2}, {in_segment: c}]}}
    - {name: c, when: {not: {in_segment: a}}}
""",
    )
    message = error_of(root)
    assert "cycle" in message
    assert "a -> b -> c -> a" in message
    assert "audience.yaml line 6" in message


def test_destination_without_purpose_is_refused(tmp_path: Path) -> None:
    root = workspace(
        tmp_path,
        """
activation:
  destinations:
    - name: crm
      type: webhook
      url: https://hooks.example.com/x
      secret_env: CRM_SECRET
""",
    )
    message = error_of(root)
    assert "destination 'crm' declares no purpose" in message
    assert "line 6" in message


def test_segment_files_are_loaded_with_their_own_lines(tmp_path: Path) -> None:
    root = workspace(
        tmp_path,
        "activation:\n  segments:\n    - {name: base, when: {field: frequency, gte: 1}}\n",
        {
            "loyal.yaml": "segments:\n  - name: loyal\n    when: {in_segment: base}\n",
            "single.yaml": "name: single\nwhen:\n  field: churn_probability\n  gt: 0.5\n",
        },
    )
    plan = load_activation(root)
    assert [d.name for d in plan.definitions] == ["base", "loyal", "single"]
    assert plan.find("loyal") is not None and str(plan.find("loyal").origin).endswith(  # type: ignore[union-attr]
        "loyal.yaml line 2"
    )
    write(
        root / "segments" / "bad.yaml",
        "segments:\n  - name: bad\n    when:\n      field: nope\n      eq: 1\n",
    )
    message = error_of(root)
    assert "bad.yaml line 4" in message and "segments.0.when.field" in message


def test_duplicate_names_groups_and_workflows_are_checked(tmp_path: Path) -> None:
    twice = workspace(
        tmp_path,
        """
activation:
  segments:
    - {name: a, when: {field: frequency, gt: 1}}
    - {name: a, when: {field: frequency, gt: 2}}
""",
    )
    assert "defined twice" in error_of(twice)
    settings = ActivationSettings.model_validate(
        {
            "segments": [{"name": "a", "when": {"field": "frequency", "gt": 1}}],
            "groups": [{"name": "g", "segments": ["a", "zzz"]}],
        }
    )
    with pytest.raises(ConfigError, match="unknown rule segment 'zzz'"):
        plan_from_settings(settings)
    settings = ActivationSettings.model_validate(
        {
            "destinations": [{"name": "f", "type": "csv", "purpose": "email"}],
            "workflows": [{"segment": "a", "destination": "f", "fields": ["email", "shoe_size"]}],
        }
    )
    with pytest.raises(ConfigError, match="unknown field 'shoe_size' in a workflow"):
        plan_from_settings(settings)


def test_webhook_secret_must_be_standard(tmp_path: Path) -> None:
    root = workspace(
        tmp_path,
        """
activation:
  destinations:
    - {name: h, type: webhook, purpose: email, url: "https://x.example/h", secret: hunter2}
""",
    )
    assert "must start with 'whsec_'" in error_of(root)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    root = workspace(tmp_path, "activation:\n  segments:\n    - {name: a, when: {field: x\n")
    assert "audience.yaml line" in error_of(root)
