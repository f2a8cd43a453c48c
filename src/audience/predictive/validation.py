"""Hold-out validation of a transaction model: per customer, in aggregate, week by week.

The model is fitted on the calibration period and asked, for the hold-out period, (1) how
many purchases each customer makes (conditional expectation given her history) and (2) how
many repeat purchases the whole cohort makes week by week (the "tracking plot" of Fader,
Hardie & Lee 2005), then compared with what happened.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from audience.predictive.mle import FloatArray
from audience.predictive.purchases import PurchaseSummary
from audience.predictive.scoring import TransactionModel

FREQUENCY_CAP = 7
"""Calibration frequencies of 7 and more are pooled in the conditional-expectation table."""


def holdout_metrics(model: TransactionModel, summary: PurchaseSummary) -> dict[str, Any]:
    """Predicted vs actual hold-out purchases per customer, in aggregate and by frequency."""
    assert summary.holdout_end is not None
    assert summary.holdout_frequency is not None
    length = (summary.holdout_end - summary.calibration_end).days / summary.unit_days
    X = summary.X
    predicted = model.p_alive(X) * model.expected_if_alive(X[:, 0], X[:, 2], length)
    actual = summary.holdout_frequency
    error = predicted - actual
    by_frequency = []
    capped = np.minimum(summary.frequency, FREQUENCY_CAP)
    for value in np.unique(capped):
        rows = capped == value
        by_frequency.append(
            {
                "frequency": f"{int(value)}+" if value == FREQUENCY_CAP else str(int(value)),
                "customers": int(rows.sum()),
                "actual_mean": float(actual[rows].mean()),
                "predicted_mean": float(predicted[rows].mean()),
            }
        )
    total_actual, total_predicted = float(actual.sum()), float(predicted.sum())
    return {
        "holdout_length": length,
        "customers": len(actual),
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "correlation": float(np.corrcoef(predicted, actual)[0, 1]) if actual.std() > 0 else None,
        "actual_total": total_actual,
        "predicted_total": total_predicted,
        "total_error_pct": 100 * (total_predicted - total_actual) / total_actual
        if total_actual
        else None,
        "by_frequency": by_frequency,
    }


def tracking(
    model: Any,
    summary: PurchaseSummary,
    days: NDArray[np.datetime64],
    counts: FloatArray,
) -> dict[str, Any]:
    """Cumulative repeat purchases week by week, actual and expected, through the hold-out.

    The expectation sums E[X(t)] of a new customer over customers, t being the time since
    each one's first purchase; customers are grouped by first-purchase day, so the work is
    weeks × distinct first days, not weeks × customers.
    """
    end = np.datetime64(summary.holdout_end or summary.calibration_end, "D")
    start = summary.first_day.min()
    weeks = start + np.arange(7, int((end - start).astype(int)) + 8, 7).astype("timedelta64[D]")
    weeks = np.minimum(weeks, end + np.timedelta64(1, "D"))
    firsts, n_first = np.unique(summary.first_day, return_counts=True)
    elapsed = (weeks[:, None] - firsts[None, :]).astype(np.float64) / summary.unit_days
    expected = np.where(elapsed > 0, model.expected_transactions(np.maximum(elapsed, 0)), 0.0)
    expected_cum = expected @ n_first
    actual_cum = np.concatenate([[0.0], np.cumsum(counts)])[np.searchsorted(days, weeks)]
    holdout = weeks > np.datetime64(summary.calibration_end, "D") + np.timedelta64(1, "D")
    metrics: dict[str, Any] = {}
    if holdout.any():
        rel = np.abs(expected_cum[holdout] - actual_cum[holdout]) / np.maximum(
            actual_cum[holdout], 1
        )
        metrics = {
            "holdout_cumulative_mape_pct": float(100 * rel.mean()),
            "end_cumulative_error_pct": float(100 * rel[-1]),
        }
    return {
        "week_end": [str(w - np.timedelta64(1, "D")) for w in weeks],
        "actual_cumulative": actual_cum.tolist(),
        "expected_cumulative": expected_cum.tolist(),
        "calibration_end": str(summary.calibration_end),
        **metrics,
    }
