"""Segments on a real order file: the CDNOW sample, imported as a user would."""

from __future__ import annotations

from pathlib import Path

import pytest

from audience.ingest.importer import import_file
from audience.model.runs import SegmentRun
from audience.pipelines.segment_run import run_segmentation
from audience.store.workspace import Workspace

CDNOW = Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_sample_transactions.csv"


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace.init(tmp_path_factory.mktemp("cdnow") / "ws")
    import_file(ws, "orders", CDNOW, ["ordered_at=date", "amount=amount"], one_order_per_line=True)
    return ws


def _run(ws: Workspace, method: str) -> SegmentRun:
    with ws.warehouse() as warehouse:
        return run_segmentation(warehouse.con, ws.config, method=method, clock=ws.clock)


@pytest.fixture(scope="module")
def clusters(cdnow: Workspace) -> SegmentRun:
    return _run(cdnow, "kmeans")


def test_tenure_of_one_acquisition_quarter_is_left_out_with_a_warning(
    clusters: SegmentRun,
) -> None:
    assert "tenure_days" not in clusters.features
    assert any("'tenure_days' is nearly constant" in w for w in clusters.warnings)
    assert "tenure_days" in clusters.preprocessing["dropped_near_constant"]


def test_more_than_a_trivial_split(clusters: SegmentRun) -> None:
    assert 3 <= clusters.k <= 12
    assert min(s.share for s in clusters.segments) >= 0.02


def test_names_hold_in_absolute_terms(clusters: SegmentRun) -> None:
    for segment in clusters.segments:
        median_recency = segment.features["recency_days"]["median"]
        if segment.name == "Champions":
            assert median_recency is not None and median_recency <= 90
        if segment.name == "At-risk high spenders":
            assert (segment.features["monetary"]["lift"] or 0) > 1
        assert segment.name != "New customers"  # everyone arrived 15 to 18 months earlier
        assert "distinctive" not in segment.description and "," not in segment.name


def test_rfm_obeys_the_minimum_share(cdnow: Workspace) -> None:
    run = _run(cdnow, "rfm")
    assert min(s.share for s in run.segments) >= cdnow.config.segmentation.min_segment_share
    assert run.preprocessing["folded"]  # the sample has RFM cells of a handful of customers
    assert any("is folded into" in w for w in run.warnings)
