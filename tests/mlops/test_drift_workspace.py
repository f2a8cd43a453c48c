"""Drift on a segmented demo workspace: no change, a planted shift, the verdict's event, and
bad input (an unknown run, features that differ, a run without sketches)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import stats
from standardwebhooks import Webhook

from audience.errors import InputError
from audience.features.behaviour import compute_features
from audience.pipelines.drift import drift_report
from audience.store.workspace import Workspace
from tests.conftest import SECRET, Receiver

AMOUNT_FEATURES = {"monetary", "avg_basket"}
"""What scaling every order line's amount and discount moves (shares and counts stay)."""


def plant_price_shift(root: Path, factor: float = 1.8) -> None:
    with Workspace.open(root).warehouse() as warehouse:
        warehouse.con.execute(
            "UPDATE order_lines SET amount = amount * ?, discount = discount * ?",
            [factor, factor],
        )


def edit_config(root: Path, **sections: Any) -> None:
    path = root / "audience.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(sections)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_no_change_no_drift_and_the_same_segments(ws_root: Path) -> None:
    report = drift_report(Workspace.open(ws_root))
    data = report.to_dict()
    assert data["dataset_drift"] is False and data["drift_share"] == 0
    assert all(f["statistic"] == pytest.approx(0, abs=1e-9) for f in data["features"])
    assert {f["method"] for f in data["features"]} == {"wasserstein"}  # 3,000 rows > 1,000
    sizes = data["segment_sizes"]
    assert len(sizes) == 4 and all(s["training"] == s["now"] for s in sizes)
    counts = np.array(data["transitions"]["counts"])
    assert counts.sum() == 3_000 and np.trace(counts) == 3_000  # everyone kept their segment
    with Workspace.open(ws_root).warehouse(read_only=True) as warehouse:
        recorded = warehouse.con.execute(
            "SELECT run_id, dataset_drift, results FROM drift_checks"
        ).fetchall()
    assert [(r[0], r[1]) for r in recorded] == [(report.run_id, False)]
    assert json.loads(recorded[0][2])["features"] == data["features"]


def test_a_planted_shift_drifts_the_shifted_features_only(ws_root: Path) -> None:
    ws = Workspace.open(ws_root)
    with ws.warehouse(read_only=True) as warehouse:
        before = warehouse.con.execute("SELECT * FROM features ORDER BY customer_id").df()
    plant_price_shift(ws_root)
    report = drift_report(ws)
    drifted = {f.feature for f in report.drift.features if f.drifted}
    assert drifted == AMOUNT_FEATURES
    assert report.drift.dataset_drift is False  # 2 of 11 features

    # Each verdict is SciPy's normed Wasserstein verdict on the same numbers.
    with ws.warehouse() as warehouse:
        compute_features(
            warehouse.con, ws.config.features, ws.config.timezone, now=ws.clock.now(), into="after"
        )
        after = warehouse.con.execute("SELECT * FROM after ORDER BY customer_id").df()
    for result in report.drift.features:
        ref = before[result.feature].dropna().to_numpy(float)
        cur = after[result.feature].dropna().to_numpy(float)
        exact = stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)
        assert result.statistic == pytest.approx(exact, rel=0.02, abs=0.002), result.feature
        assert result.drifted == (exact >= 0.1)


def test_dataset_drift_sends_a_signed_drift_detected(ws_root: Path, receiver: Receiver) -> None:
    edit_config(
        ws_root,
        drift={"share": 0.15},
        activation={
            "destinations": [
                {
                    "name": "ops",
                    "type": "webhook",
                    "purpose": "email",
                    "url": receiver.url,
                    "secret": SECRET,
                    "allow_networks": ["loopback"],
                    "max_attempts": 2,
                    "backoff_seconds": 0.01,
                }
            ]
        },
    )
    plant_price_shift(ws_root)
    report = drift_report(Workspace.open(ws_root))
    assert report.drift.dataset_drift is True
    assert [(n.destination, n.status) for n in report.notified] == [("ops", "delivered")]
    ((headers, body),) = receiver.requests
    message = Webhook(SECRET).verify(body, headers)
    assert message["type"] == "drift.detected"
    assert message["data"]["run_id"] == report.run_id
    assert set(message["data"]["features"]) == AMOUNT_FEATURES
    assert message["data"]["drift_share"] == pytest.approx(2 / 11, abs=1e-6)


def test_no_event_without_dataset_drift(ws_root: Path, receiver: Receiver) -> None:
    edit_config(
        ws_root,
        activation={
            "destinations": [
                {
                    "name": "ops",
                    "type": "webhook",
                    "purpose": "email",
                    "url": receiver.url,
                    "secret": SECRET,
                    "allow_networks": ["loopback"],
                }
            ]
        },
    )
    plant_price_shift(ws_root)
    assert drift_report(Workspace.open(ws_root)).drift.dataset_drift is False
    assert receiver.requests == []


def test_per_feature_method_and_threshold(ws_root: Path) -> None:
    edit_config(
        ws_root,
        drift={
            "features": {
                "monetary": {"threshold": 5.0},  # a distance it cannot reach
                "frequency": {"method": "psi"},
            }
        },
    )
    plant_price_shift(ws_root)
    results = {f.feature: f for f in drift_report(Workspace.open(ws_root)).drift.features}
    assert results["monetary"].threshold == 5.0 and not results["monetary"].drifted
    assert results["avg_basket"].drifted
    assert results["frequency"].method == "psi" and not results["frequency"].drifted


def test_an_unknown_run_is_named(ws_root: Path) -> None:
    with pytest.raises(InputError, match=r"no segmentation run 'run-nope'.*latest runs: run-"):
        drift_report(Workspace.open(ws_root), "run-nope")


def test_features_that_differ_are_listed(ws_root: Path) -> None:
    with Workspace.open(ws_root).warehouse() as warehouse:
        warehouse.con.execute(
            "UPDATE run_sketches SET feature = 'loyalty_points' WHERE feature = 'visits'"
        )
        warehouse.con.execute(
            """UPDATE run_sketches SET kind = 'categorical',
                      sketch = '{"kind": "categorical", "count": 1, "missing": 0, "counts": {"a": 1}}'
               WHERE feature = 'frequency'"""
        )
    with pytest.raises(InputError) as caught:
        drift_report(Workspace.open(ws_root))
    message = str(caught.value)
    assert "missing now: loyalty_points" in message
    assert "frequency (categorical then, numeric now)" in message
    assert "\n" not in message


def test_a_run_without_sketches_says_how_to_get_them(ws_root: Path) -> None:
    with Workspace.open(ws_root).warehouse() as warehouse:
        warehouse.con.execute("DELETE FROM run_sketches")
    with pytest.raises(InputError, match=r"no reference sketches.*audience segment"):
        drift_report(Workspace.open(ws_root))


def test_an_rfm_run_is_tested_on_its_features_without_transitions(ws_root: Path) -> None:
    from audience.pipelines.segment_run import run_segmentation

    ws = Workspace.open(ws_root)
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        rfm = run_segmentation(con, ws.config, method="rfm", clock=ws.clock)
    plant_price_shift(ws_root)
    report = drift_report(ws, rfm.run_id)
    results = {f.feature: f.drifted for f in report.drift.features}
    assert results == {"recency_days": False, "frequency": False, "monetary": True}
    assert report.transitions is None and report.segment_sizes == []
    assert "keeps no assignable model" in report.notes[0]
    # the champion is still the clustering run the live path loads
    assert drift_report(ws).run_id != rfm.run_id
