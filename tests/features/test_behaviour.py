from __future__ import annotations

import math
from pathlib import Path

import pytest

from audience.config import FeatureSettings
from audience.errors import InputError
from audience.features.behaviour import MOBILE_PRIOR_WEIGHT, compute_features
from audience.ingest.importer import import_file
from audience.store.clock import SYSTEM_CLOCK
from audience.store.workspace import Workspace
from tests.conftest import write

AS_OF = "2026-03-01T00:00:00"


@pytest.fixture
def features(workspace: Workspace, tmp_path: Path) -> dict[str, dict[str, float | None]]:
    write(
        tmp_path / "c.csv",
        "id;date_inscription\nA;01/01/2025 00:00\nB;01/02/2026 00:00\nC;01/01/2026 00:00\n",
    )
    write(
        tmp_path / "o.csv",
        "order_id;customer_id;ordered_at;amount;discount\n"
        "O1;A;2026-01-01T00:00:00Z;100;0\n"
        "O1;A;2026-01-01T00:00:00Z;50;50\n"
        "O2;A;2026-01-11T00:00:00Z;30;0\n"
        "O3;A;2026-01-31T00:00:00Z;20;0\n"
        "O4;B;2026-02-20T00:00:00Z;10;0\n",
    )
    events = [
        '{"type":"page","userId":"C","anonymousId":"x","messageId":"1","timestamp":"2026-03-01T00:00:00Z","context":{"device":{"type":"mobile"}}}',
        '{"type":"track","event":"Email Opened","userId":"C","messageId":"2","timestamp":"2026-01-30T00:00:00Z"}',
        '{"type":"track","event":"Product Viewed","anonymousId":"x","messageId":"3","timestamp":"2026-03-01T00:00:00Z","context":{"device":{"type":"mobile"}}}',
        '{"type":"track","event":"Product Viewed","anonymousId":"stranger","messageId":"4","timestamp":"2026-03-01T00:00:00Z"}',
    ]
    write(tmp_path / "e.jsonl", "\n".join(events) + "\n")
    for kind, name in (("customers", "c.csv"), ("orders", "o.csv"), ("events", "e.jsonl")):
        import_file(workspace, kind, tmp_path / name)
    with workspace.warehouse() as warehouse:
        compute_features(
            warehouse.con,
            FeatureSettings(as_of=AS_OF, engagement_half_life_days=30),
            now=SYSTEM_CLOCK.now(),
        )
        frame = warehouse.con.execute("SELECT * FROM features").df()
    return {row["customer_id"]: row for row in frame.to_dict("records")}


def test_rfm_and_basket(features: dict[str, dict[str, float | None]]) -> None:
    a = features["A"]
    assert a["frequency"] == 3
    assert a["monetary"] == pytest.approx(200.0)
    assert a["avg_basket"] == pytest.approx(200 / 3)
    assert a["recency_days"] == pytest.approx(29.0)
    assert a["mean_days_between"] == pytest.approx(15.0)  # 30 days over two gaps
    assert a["discount_share"] == pytest.approx(50 / 250)
    # From sign-up at midnight in Paris, 23:00 UTC the day before.
    assert a["tenure_days"] == pytest.approx(424 + 1 / 24)
    assert a["orders_90d"] == 3


def test_never_bought_and_single_order(features: dict[str, dict[str, float | None]]) -> None:
    b, c = features["B"], features["C"]
    assert b["frequency"] == 1
    assert math.isnan(float(b["mean_days_between"] or math.nan))
    assert c["frequency"] == 0
    assert c["monetary"] == 0
    assert c["recency_days"] is None or math.isnan(float(c["recency_days"]))


def test_engagement_decays_and_follows_anonymous_ids(
    features: dict[str, dict[str, float | None]],
) -> None:
    c = features["C"]
    assert c["visits"] == pytest.approx(1.0)  # page view on the as-of date
    assert c["product_views"] == pytest.approx(1.0)  # anonymous, stitched through "x"
    assert c["email_opens"] == pytest.approx(0.5)  # 30 days old with a 30-day half-life
    assert "stranger" not in features  # never identified: not a customer
    # Three events, two of them mobile, shrunk towards the population's share (2 of 3).
    prior = 2 / 3
    assert c["mobile_share"] == pytest.approx(
        (2 + MOBILE_PRIOR_WEIGHT * prior) / (3 + MOBILE_PRIOR_WEIGHT)
    )


def test_no_data_is_a_clear_error(workspace: Workspace) -> None:
    with workspace.warehouse() as warehouse, pytest.raises(InputError, match="audience import"):
        compute_features(warehouse.con, FeatureSettings(), now=SYSTEM_CLOCK.now())
