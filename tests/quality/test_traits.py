"""Custom traits reach the person: ``profiles.traits`` merged by survivorship, per trait."""

from __future__ import annotations

import json
from pathlib import Path

from tests.rules.conftest import traits_workspace


def test_profiles_carry_typed_traits_merged_per_trait(tmp_path: Path) -> None:
    ws = traits_workspace(tmp_path / "ws")
    with ws.warehouse(read_only=True) as warehouse:
        rows = dict(warehouse.con.execute("SELECT profile_id, traits FROM profiles").fetchall())
        members = warehouse.con.execute(
            "SELECT record_id FROM profile_members WHERE profile_id = 'C000' ORDER BY 1"
        ).fetchall()
    assert len(rows) == 60 and members == [("C000",), ("D900",)]
    merged = json.loads(rows["C000"])
    # The later record wins the tier it gives; the traits it left empty come from the older.
    assert merged == {
        "loyalty_tier": "platinum",
        "points_fidelite": 0.5,
        "client_depuis": "2015-01-01",
        "newsletter_vip": True,
        "interets": "aime le produit 0",
    }
    assert json.loads(rows["C004"]) == {
        "loyalty_tier": "silver",
        "points_fidelite": 148.5,
        "client_depuis": "2019-05-05",
        "newsletter_vip": False,
        "interets": "aime le produit 4",
    }
