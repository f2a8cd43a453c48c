"""Segments matched across runs (Hungarian on member overlap), per-segment bootstrap Jaccard,
and names that survive a refit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from audience.mlops.matching import carry_names, contingency, match_segments
from audience.pipelines.segment_lineage import transitions
from audience.pipelines.segment_run import run_segmentation
from audience.segmentation.stability import jaccard_band, segment_jaccard
from tests.mlops.registry.conftest import first_run, open_ws


def test_hungarian_recovers_a_permutation_of_labels() -> None:
    rng = np.random.default_rng(0)
    old = rng.integers(0, 4, size=2_000)
    permutation = np.array([2, 0, 3, 1])
    new = permutation[old]
    flip = rng.random(2_000) < 0.05  # a few customers move
    new[flip] = rng.integers(0, 4, size=int(flip.sum()))
    matches = match_segments(contingency(old, new))
    assert {(m.old_label, m.new_label) for m in matches} == {
        (i, int(p)) for i, p in enumerate(permutation)
    }
    assert all(m.jaccard > 0.85 for m in matches)


def test_a_segment_with_no_counterpart_is_new() -> None:
    old = np.array([0] * 50 + [1] * 50)
    new = np.array([0] * 50 + [1] * 25 + [2] * 25)  # segment 1 split in two halves
    matches = match_segments(contingency(old, new), min_jaccard=0.6)
    assert [(m.old_label, m.new_label) for m in matches] == [(0, 0)]


def test_carried_names_stay_unique() -> None:
    old = ["Loyal", "Dormant"]
    new = ["Dormant", "Loyal", "Loyal"]  # generated names; label 0 continues 'Loyal'
    matches = match_segments(contingency(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1])))
    assert carry_names(new, old, matches) == ["Loyal", "Dormant", "Loyal 2"]


def test_bootstrap_jaccard_of_clear_and_of_forced_segments() -> None:
    X, _ = make_blobs(n_samples=1_500, centers=3, cluster_std=0.5, random_state=0)
    labels = KMeans(3, n_init=3, random_state=0).fit_predict(X)
    clear = segment_jaccard(KMeans(3, n_init=3), X, labels, n_boot=8, random_state=0)
    assert clear.shape == (3,)
    assert all(jaccard_band(v) == "stable" for v in clear)
    # Seven segments forced on uniform noise: borders move with every bootstrap sample.
    noise = np.random.default_rng(1).random((1_500, 2))
    forced = KMeans(7, n_init=1, random_state=0).fit_predict(noise)
    shaky = segment_jaccard(KMeans(7, n_init=1), noise, forced, n_boot=8, random_state=0)
    assert shaky.min() < clear.min()
    assert jaccard_band(0.5) == "dissolved"
    assert jaccard_band(0.7) == "doubtful"
    assert jaccard_band(0.9) == "stable"


def test_refit_keeps_renamed_segments_and_their_stable_ids(ws_root: Path) -> None:
    ws = open_ws(ws_root)
    champion = first_run(ws)
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        # A marketer renamed one segment; the refit must keep her name on the same members.
        con.execute("UPDATE segments SET name = 'Our VIPs' WHERE segment_id = ?", [f"{champion}:1"])
        old = dict(
            con.execute("SELECT label, name FROM segments WHERE run_id = ?", [champion]).fetchall()
        )
        run = run_segmentation(con, ws.config, k=4, method="kmeans", clock=ws.clock)
        ids = {
            s: json.loads(p)
            for s, p in con.execute(
                "SELECT segment_id, profile FROM segments WHERE run_id = ?", [run.run_id]
            ).fetchall()
        }
        moves = transitions(con, champion, run.run_id)
    assert sorted(p.name for p in run.segments) == sorted(old.values())
    vip = next(p for p in run.segments if p.name == "Our VIPs")
    assert vip.matched_from == f"{champion}:1"
    assert ids[run.segment_id(vip.label)]["stable_id"] == f"{champion}:1"
    assert all(p.stability_band is not None for p in run.segments)
    assert run.preprocessing["lineage"]["previous_run"] == champion
    assert moves is not None
    # Nobody's data changed: each champion segment goes whole into one refit segment.
    assert moves.counts.sum() == 3_000
    assert moves.counts.max(axis=1).sum() >= 0.98 * moves.counts.sum()


def test_the_report_shows_stability_transitions_and_history(ws_root: Path) -> None:
    from audience.pipelines.drift import drift_report
    from audience.pipelines.recalibrate import recalibrate
    from audience.pipelines.run_report import write_run_report

    ws = open_ws(ws_root)
    champion = first_run(ws)
    decision = recalibrate(ws)  # a refit, not promoted: its reason goes to the history
    with ws.warehouse() as warehouse:  # prices up 80 %: a drift check with drifted features
        warehouse.con.execute("UPDATE order_lines SET amount = amount * 1.8")
    check = drift_report(ws, "champion", notify=False)
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        run = run_segmentation(con, ws.config, k=4, method="kmeans", clock=ws.clock)
        path = write_run_report(con, run, ws.config, ws.reports_dir, ws.clock)
    html = path.read_text(encoding="utf-8")
    assert 'id="stability"' in html and "bootstrap Jaccard" in html
    assert f"Where the customers of <code>{champion}</code> went" in html
    assert html.count("<code>run-") >= 3  # the history lists the three runs
    assert decision.candidate_run in html and "not promoted: " in html
    assert "stable</td>" in html
    assert 'id="drift"' in html and check.run_id in html
    assert "monetary" in html.split('id="drift"')[1].split("</table>")[0]
