"""Rule segments on custom traits: ``traits.<name>`` typed by the catalogue, batch and live
agreeing, and a trait nobody imported refused at load time with the traits there are."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from audience.config.activation import ActivationSettings
from audience.errors import ConfigError
from audience.pipelines.live import live_fields
from audience.rules.evaluate import evaluate
from audience.rules.live_evaluator import LiveEvaluator
from audience.rules.loading import load_activation, plan_from_settings
from audience.store.warehouse import Warehouse
from tests.conftest import write
from tests.rules.conftest import NOW

SEGMENTS = """
segments:
  - name: gold
    when: {field: traits.loyalty_tier, eq: gold}
  - name: many_points
    when: {field: traits.points_fidelite, gt: 500}
  - name: recent_vip
    when:
      all:
        - {field: traits.newsletter_vip, eq: true}
        - {field: traits.client_depuis, gte: 2020-01-01}
  - name: not_bronze
    when: {not: {field: traits.loyalty_tier, in: [bronze]}}
  - name: joined_lately
    when: {field: traits.client_depuis, within_last: 1500d}
  - name: buyer_with_interests
    when:
      all:
        - {field: frequency, gte: 2}
        - {field: traits.interets, exists: true}
"""


@pytest.fixture
def root(traits_template: Path, tmp_path: Path) -> Path:
    root = Path(shutil.copytree(traits_template, tmp_path / "ws"))
    (root / "segments").mkdir(exist_ok=True)
    return root


def _people(root: Path) -> list[tuple[str, dict[str, Any]]]:
    with Warehouse(root / "warehouse.duckdb", read_only=True) as warehouse:
        rows = warehouse.con.execute(
            """SELECT f.customer_id, p.traits, f.frequency FROM features f
               JOIN profiles p ON p.profile_id = f.customer_id ORDER BY 1"""
        ).fetchall()
    people = []
    for customer, traits, frequency in rows:
        view = {"traits": json.loads(traits), "features": {"frequency": frequency}}
        people.append((str(customer), live_fields({**view, "rfm": {"last_order_at": None}})))
    return people


def test_rules_on_traits_agree_in_the_warehouse_and_live(root: Path) -> None:
    write(root / "segments" / "traits.yaml", SEGMENTS)
    plan = load_activation(root)  # the trait types come from the warehouse's catalogue
    with Warehouse(root / "warehouse.duckdb") as warehouse, warehouse.transaction() as con:
        result = evaluate(con, plan, NOW)
        rows = con.execute(
            "SELECT segment_id, customer_id FROM memberships WHERE valid_to IS NULL"
        ).fetchall()
    batch: dict[str, set[str]] = {d.segment_id: set() for d in plan.definitions}
    for segment, customer in rows:
        batch[str(segment)].add(str(customer))
    live: dict[str, set[str]] = {d.segment_id: set() for d in plan.definitions}
    evaluator = LiveEvaluator(plan)
    for customer, profile in _people(root):
        for segment in evaluator.matches(profile, NOW):
            live[segment].add(customer)
    assert live == batch
    # Every rule splits the people: the agreement is not that of empty or full segments.
    assert all(0 < n < result.n_people for n in result.sizes.values()), result.sizes
    assert batch["rule:gold"] == {f"C{i:03d}" for i in range(3, 60, 3)}  # C000 is platinum now
    assert "C000" in batch["rule:not_bronze"]


def _load(root: Path, when: dict[str, Any]) -> None:
    write(root / "segments" / "one.yaml", json.dumps({"segments": [{"name": "x", "when": when}]}))
    load_activation(root)


def test_an_unknown_trait_is_refused_with_the_known_traits(root: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(root, {"field": "traits.loyalty_teir", "eq": "gold"})
    message = str(caught.value)
    assert "one.yaml" in message and "segments.0.when.field" in message
    assert "unknown trait 'traits.loyalty_teir'; did you mean traits.loyalty_tier?" in message
    assert (
        "traits.newsletter_vip (boolean)" in message and "traits.loyalty_tier (category)" in message
    )


def test_a_trait_is_compared_as_its_type(root: Path) -> None:
    with pytest.raises(ConfigError, match="operator gt does not apply to string field"):
        _load(root, {"field": "traits.loyalty_tier", "gt": "gold"})
    with pytest.raises(ConfigError, match=r"expected a boolean for field 'traits\.newsletter_vip'"):
        _load(root, {"field": "traits.newsletter_vip", "eq": "oui"})


def test_without_any_import_no_trait_is_known(tmp_path: Path) -> None:
    settings = ActivationSettings.model_validate(
        {"segments": [{"name": "x", "when": {"field": "traits.tier", "eq": "gold"}}]}
    )
    with pytest.raises(ConfigError, match="no custom trait is known yet"):
        plan_from_settings(settings)


def test_a_plan_read_with_another_type_is_refused_before_it_runs(root: Path) -> None:
    settings = ActivationSettings.model_validate(
        {"segments": [{"name": "x", "when": {"field": "traits.loyalty_tier", "gt": 3}}]}
    )
    plan = plan_from_settings(settings, traits={"loyalty_tier": "number"})
    with (
        Warehouse(root / "warehouse.duckdb") as warehouse,
        warehouse.transaction() as con,
        pytest.raises(ConfigError, match="is now a category"),
    ):
        evaluate(con, plan, NOW)
