"""Tenure counts from the first order or the sign-up, whichever came first."""

from __future__ import annotations

from pathlib import Path

import pytest

from audience.config import FeatureSettings
from audience.features.behaviour import compute_features
from audience.ingest.importer import import_file
from audience.store.clock import SYSTEM_CLOCK
from audience.store.workspace import Workspace
from tests.conftest import write


def test_orders_before_sign_up_count_towards_tenure(workspace: Workspace, tmp_path: Path) -> None:
    # A lapsed buyer who created an account long after her first order is not a new customer.
    write(tmp_path / "c.csv", "id;date_inscription\nA;01/02/2026 00:00\nB;01/02/2026 00:00\n")
    write(
        tmp_path / "o.csv",
        "order_id;customer_id;ordered_at;amount\n"
        "O1;A;2025-03-01T00:00:00Z;40\n"
        "O2;B;2026-02-15T00:00:00Z;40\n",
    )
    import_file(workspace, "customers", tmp_path / "c.csv")
    import_file(workspace, "orders", tmp_path / "o.csv")
    with workspace.warehouse() as warehouse:
        compute_features(
            warehouse.con, FeatureSettings(as_of="2026-03-01T00:00:00"), now=SYSTEM_CLOCK.now()
        )
        tenure = dict(
            warehouse.con.execute("SELECT customer_id, tenure_days FROM features").fetchall()
        )
    assert tenure["A"] == pytest.approx(365.0)  # from the order, not the sign-up
    assert tenure["B"] == pytest.approx(28 + 1 / 24)  # from sign-up (midnight in Paris)
