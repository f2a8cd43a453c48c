"""Correctness against the literature: CDNOW estimates published by Fader, Hardie et al.

The published values are those of tests/data/cdnow/README.md; the fits use the data as
imported into a workspace, so the day convention, time zone and summaries are tested too.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from audience.predictive.bgnbd import BetaGeoModel
from audience.predictive.clv import ClvOptions, fit_spend_model
from audience.predictive.pnbd import ParetoNBDModel
from audience.predictive.purchases import PurchaseSummary, customer_summary
from audience.store.workspace import Workspace

TOLERANCE = 0.005
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_PNBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def summary(cdnow: Workspace) -> PurchaseSummary:
    with cdnow.warehouse(read_only=True) as warehouse:
        return customer_summary(
            warehouse.con, cdnow.config.timezone, "week", date(1997, 9, 30), date(1998, 6, 30)
        )


def _close(fitted: dict[str, float], published: dict[str, float]) -> None:
    for name, value in published.items():
        assert fitted[name] == pytest.approx(value, rel=TOLERANCE), name


def test_summary_follows_the_literature_conventions(summary: PurchaseSummary) -> None:
    assert len(summary) == 2357
    assert int((summary.frequency > 0).sum()) == 946
    # A first purchase on 1997-01-01 (stored as 1996-12-31 23:00 UTC) gives T = 272 days.
    first_day = summary.first_day == np.datetime64("1997-01-01")
    assert np.allclose(summary.T[first_day], 272 / 7)
    assert (summary.recency <= summary.T).all()
    assert summary.holdout_frequency is not None
    assert summary.holdout_frequency.sum() > 0


def test_bgnbd_matches_published_estimates(summary: PurchaseSummary) -> None:
    model = BetaGeoModel().fit(summary.X)
    _close(model.params_, PUBLISHED_BGNBD)
    assert model.log_likelihood_ == pytest.approx(-9582.4, rel=TOLERANCE)
    assert all(0 < se < model.params_[k] for k, se in model.standard_errors_.items())


def test_pareto_nbd_matches_published_estimates(summary: PurchaseSummary) -> None:
    model = ParetoNBDModel().fit(summary.X)
    _close(model.params_, PUBLISHED_PNBD)
    assert model.log_likelihood_ == pytest.approx(-9595.0, rel=TOLERANCE)


def test_gamma_gamma_matches_published_estimates(summary: PurchaseSummary) -> None:
    model, independence = fit_spend_model(summary, ClvOptions())
    _close(model.params_, PUBLISHED_GG)
    assert model.log_likelihood_ == pytest.approx(-4055.92, rel=TOLERANCE)
    assert model.n_customers_ == 946
    # Fader & Hardie report a correlation of 0.11 and accept independence.
    assert independence["pearson"] == pytest.approx(0.11, abs=0.01)
    assert independence["independent"] is True


def test_bgnbd_tracks_the_holdout_aggregate(summary: PurchaseSummary) -> None:
    """FHL (2005) show BG/NBD tracking cumulative repeat sales closely in weeks 40-78."""
    model = BetaGeoModel().fit(summary.X)
    length = 39.0
    predicted = model.conditional_expected_transactions(summary.X, length)
    assert summary.holdout_frequency is not None
    actual = summary.holdout_frequency
    assert abs(predicted.sum() - actual.sum()) / actual.sum() < 0.15
    assert np.corrcoef(predicted, actual)[0, 1] > 0.5
