"""Holm and Benjamini-Hochberg against statsmodels' multipletests; a family of results."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from audience.errors import InputError
from audience.experiments import AnalysisOptions, adjust, analyze
from audience.experiments.corrections import adjusted_p_values
from tests.experiments.helpers import mean_stats

TIGHT = 1e-9


@pytest.mark.parametrize(("ours", "theirs"), [("holm", "holm"), ("bh", "fdr_bh")])
@pytest.mark.parametrize("seed", range(5))
def test_agree_with_statsmodels(ours: str, theirs: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = list(rng.uniform(0, 0.2, size=int(rng.integers(1, 30))))
    p += [p[0], 1.0, 0.0]  # ties and both ends
    expected = multipletests(p, method=theirs)[1]
    assert adjusted_p_values(p, ours) == pytest.approx(list(expected), rel=TIGHT, abs=0)  # type: ignore[arg-type]


def test_none_leaves_p_values_and_bad_ones_are_refused() -> None:
    assert adjusted_p_values([0.01, 0.5], "none") == [0.01, 0.5]
    with pytest.raises(InputError, match="outside"):
        adjusted_p_values([1.5], "holm")
    with pytest.raises(InputError, match="correction 'sidak' is not one of holm, bh, none"):
        adjusted_p_values([0.5], "sidak")  # type: ignore[arg-type]


@pytest.mark.parametrize(("ours", "theirs"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjust_a_family_of_segment_results_together(ours: str, theirs: str) -> None:
    rng = np.random.default_rng(9)
    results = []
    for segment in range(6):
        variants = [
            mean_stats(f"v{i}", rng.normal(10 + 0.2 * i * (segment % 2), 3, 400)) for i in range(3)
        ]
        results.append(
            analyze("m", variants, AnalysisOptions(correction="none"), group=f"seg{segment}")
        )
    adjusted = adjust(results, ours)  # type: ignore[arg-type]
    raw = [row.p_value for result in results for row in result.variants[1:]]
    expected = multipletests(raw, method=theirs)[1]
    got = [row.adjusted_p_value for result in adjusted for row in result.variants[1:]]
    assert got == pytest.approx(list(expected), rel=TIGHT)
    assert [r.group for r in adjusted] == [f"seg{i}" for i in range(6)]
    assert all(r.variants[0].adjusted_p_value is None for r in adjusted)
    assert any("across 12 comparisons in 6 results" in note for note in adjusted[0].notes)


def test_bayesian_results_pass_through_unchanged() -> None:
    rng = np.random.default_rng(1)
    variants = [mean_stats("a", rng.normal(1, 1, 50)), mean_stats("b", rng.normal(1, 1, 50))]
    result = analyze("m", variants, AnalysisOptions(engine="bayesian"))
    assert adjust([result], "holm") == [result]
