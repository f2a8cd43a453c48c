"""Model selection: the rule picks what a data scientist would, and the guards hold."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from audience.errors import ModelError
from audience.segmentation.algorithms import AUTO_METHODS, ModelSettings, make_model
from audience.segmentation.selection import AutoSegmenter, selection_sample
from audience.segmentation.selection_rule import choose

FAST = {"sample_size": 3_000, "silhouette_size": 1_500, "stability_size": 1_500, "n_refits": 2}


@pytest.fixture(scope="module")
def uneven_blobs() -> tuple[np.ndarray, np.ndarray]:
    """Five groups of unequal sizes and spreads in eight dimensions."""
    rng = np.random.default_rng(4)
    centers = rng.normal(scale=4.0, size=(5, 8))
    X, truth = make_blobs(
        n_samples=[1_500, 1_000, 700, 500, 300],
        centers=centers,
        cluster_std=[1.0, 1.4, 0.7, 1.0, 0.5],
        random_state=4,
    )
    return X, truth


@pytest.fixture(scope="module")
def auto(uneven_blobs: tuple[np.ndarray, np.ndarray]) -> AutoSegmenter:
    return AutoSegmenter(k_range=(2, 8), random_state=0, **FAST).fit(uneven_blobs[0])


def test_auto_finds_the_planted_groups(
    auto: AutoSegmenter, uneven_blobs: tuple[np.ndarray, np.ndarray]
) -> None:
    assert auto.n_clusters_ == 5
    assert adjusted_rand_score(uneven_blobs[1], auto.labels_) > 0.95


def test_the_rule_does_not_prefer_a_worse_method(
    auto: AutoSegmenter, uneven_blobs: tuple[np.ndarray, np.ndarray]
) -> None:
    X, truth = uneven_blobs
    settings = ModelSettings(random_state=0)
    best = max(
        adjusted_rand_score(truth, make_model(method, 5, settings).fit(X).labels_)
        for method in AUTO_METHODS
    )
    assert adjusted_rand_score(truth, auto.labels_) >= best - 0.02


def test_the_table_has_every_candidate_and_one_winner(auto: AutoSegmenter) -> None:
    table = auto.selection_
    searched = {(r["method"], r["k"]) for r in table}
    expected = {(m, k) for m in ("kmeans", "gmm", "hierarchical") for k in range(2, 9)}
    assert searched == expected | {("hdbscan", None), ("dbscan", None)}
    assert sum(r["chosen"] for r in table) == 1
    chosen = next(r for r in table if r["chosen"])
    assert chosen["admissible"]
    assert chosen["tied"]
    assert chosen["method"] == auto.method_
    scored = [r for r in table if r["admissible"]]
    assert (
        chosen["silhouette"] >= max(r["silhouette"] for r in scored) - 3 * chosen["silhouette_se"]
    )
    for row in table:
        assert {"davies_bouldin", "calinski_harabasz", "stability", "silhouette_se"} <= set(row)
        assert 0 < row["silhouette_se"] < 0.05
    json.dumps(table, allow_nan=False)  # stored as JSON by the run


def test_segments_below_the_minimum_share_are_not_admissible() -> None:
    X, _ = make_blobs(
        n_samples=[2_000, 2_000, 30],
        centers=[[0, 0], [6, 0], [0, 6]],
        cluster_std=0.5,
        random_state=3,
    )
    model = AutoSegmenter(
        method="kmeans", k_range=(2, 4), min_share=0.02, random_state=0, **FAST
    ).fit(X)
    three = next(r for r in model.selection_ if r["k"] == 3)
    assert not three["admissible"]
    assert "smallest segment" in three["reason"]
    assert model.n_clusters_ == 2


def test_never_more_segments_than_the_maximum(uneven_blobs: tuple[np.ndarray, np.ndarray]) -> None:
    model = AutoSegmenter(
        method="kmeans", k_range=(2, 10), max_segments=3, random_state=0, **FAST
    ).fit(uneven_blobs[0])
    assert max(r["k"] for r in model.selection_) == 3
    assert model.n_clusters_ <= 3
    with pytest.raises(ModelError, match="max_segments is 3"):
        AutoSegmenter(n_clusters=4, max_segments=3).fit(uneven_blobs[0])


def test_hdbscan_that_calls_most_customers_noise_is_reported_not_chosen() -> None:
    X = np.random.default_rng(0).uniform(size=(3_000, 5))
    with pytest.warns(UserWarning, match="hdbscan left .* of customers as noise"):
        # min_useful_k=2: structureless data would also warn about k (test_k_choice)
        model = AutoSegmenter(k_range=(2, 4), min_useful_k=2, random_state=0, **FAST).fit(X)
    json.dumps(model.selection_, allow_nan=False)
    row = next(r for r in model.selection_ if r["method"] == "hdbscan")
    assert row["density_noise_share"] > 0.5
    assert not row["admissible"]
    assert "noise" in row["reason"]
    assert model.method_ != "hdbscan"


def test_fewer_customers_than_segments_is_a_clear_error() -> None:
    X = np.random.default_rng(0).normal(size=(4, 2))
    with pytest.raises(ModelError, match=r"4 customers .* cannot make 5 segments"):
        AutoSegmenter(n_clusters=5).fit(X)


def test_k_stops_where_the_stability_refits_run_out_of_customers() -> None:
    """15 customers: refits fit on 12, so k = 12 is never tried (it made every fit fail)."""
    X, _ = make_blobs(n_samples=15, centers=3, n_features=2, random_state=0)
    model = AutoSegmenter(method="kmeans", random_state=0, n_refits=2).fit(X)
    assert max(row["k"] for row in model.selection_) == 11
    with pytest.raises(ModelError, match=r"15 customers .* too few for 12 segments: .* on 12 "):
        AutoSegmenter(method="kmeans", n_clusters=12).fit(X)


def test_a_fixed_k_leaves_density_methods_out(uneven_blobs: tuple[np.ndarray, np.ndarray]) -> None:
    model = AutoSegmenter(n_clusters=4, random_state=0, **FAST).fit(uneven_blobs[0])
    assert {r["method"] for r in model.selection_} == {"kmeans", "gmm", "hierarchical"}
    assert model.n_clusters_ == 4
    with pytest.warns(UserWarning, match="finds its own number of segments"):
        AutoSegmenter(method="dbscan", n_clusters=4, random_state=0, **FAST).fit(uneven_blobs[0])


def test_membership_probabilities_only_from_a_mixture(
    uneven_blobs: tuple[np.ndarray, np.ndarray],
) -> None:
    X = uneven_blobs[0]
    gmm = AutoSegmenter(method="gmm", n_clusters=5, random_state=0, **FAST).fit(X)
    assert np.allclose(gmm.predict_proba(X[:10]).sum(axis=1), 1.0)
    kmeans = AutoSegmenter(method="kmeans", n_clusters=5, random_state=0, **FAST).fit(X)
    assert not hasattr(kmeans, "predict_proba")


def test_selection_sample_names_the_customers_selection_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run tests region and age band on exactly the customers selection fitted on."""
    import audience.segmentation.selection as selection

    X, _ = make_blobs(n_samples=6_000, centers=3, n_features=3, random_state=0)
    drawn = []
    real = selection._draw

    def spy(rng, n, size):  # type: ignore[no-untyped-def]
        drawn.append(real(rng, n, size))
        return drawn[-1]

    monkeypatch.setattr(selection, "_draw", spy)
    AutoSegmenter(method="kmeans", k_range=(2, 3), random_state=7, **FAST).fit(X)
    mask = selection_sample(6_000, 3_000, 7)
    assert mask.sum() == 3_000
    assert (np.flatnonzero(mask) == drawn[0]).all()


def _row(method: str, k: int | None, stability: float, admissible: bool = True) -> dict:  # type: ignore[type-arg]
    return {
        "method": method,
        "k": k,
        "n_segments": k or 5,
        "silhouette": 0.0,
        "stability": stability,
        "admissible": admissible,
        "reason": "",
    }


def test_rule_silhouette_leads_and_stability_breaks_ties() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(0.5, 0.1, 2_000)
    noise = rng.normal(0, 0.05, 2_000)
    rows = [
        _row("kmeans", 4, 0.80),
        _row("gmm", 4, 0.95),
        _row("kmeans", 5, 0.99),
        _row("hierarchical", 6, 1.0, admissible=False),
    ]
    silhouettes = [base, base - 0.001 + noise, base - 0.1 + noise, base + 0.2]
    for row, values in zip(rows, silhouettes, strict=True):
        row["silhouette"] = float(values.mean())
    winner = choose(rows, silhouettes, AUTO_METHODS)
    assert [r["tied"] for r in rows] == [True, True, False, False]
    assert winner is rows[1]  # tied with the leader, and more stable
    assert rows[3]["silhouette_gap"] < 0  # the best silhouette was not admissible


def test_rule_falls_back_with_a_warning_when_nothing_is_admissible() -> None:
    values = np.linspace(0.2, 0.4, 100)
    rows = [_row("kmeans", 2, 0.9, admissible=False), _row("gmm", 2, 0.9, admissible=False)]
    rows[0]["reason"], rows[1]["reason"] = "smallest segment 1.0% < 2.0%", "smallest segment"
    rows[0]["silhouette"], rows[1]["silhouette"] = 0.3, 0.2
    with pytest.warns(UserWarning, match="no candidate passes the segmentation guards"):
        winner = choose(rows, [values, values - 0.1], AUTO_METHODS)
    assert winner is rows[0]
    with pytest.raises(ModelError, match="no method found two or more segments"):
        choose([_row("kmeans", 2, 0.9)], [None], AUTO_METHODS)
