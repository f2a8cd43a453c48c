"""Is a supervised score any good? Against the constant base rate, and is it calibrated?

A probability model earns its keep only if it beats always predicting the base rate (the
share of positives in the hold-out): a lower Brier score and log-loss, and an AUC above the
0.5 of a constant. The Brier skill score, 1 − Brier / Brier of the base rate, says by how
much (0: no better, < 0: worse). Calibration is reported two ways: reliability bins (mean
predicted against observed rate) and the logistic calibration slope and intercept (slope 1
and intercept 0 when a score of 0.7 means 70 %; a slope below 1 means overconfident scores).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import logit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

RELIABILITY_BINS = 10
CLIP = 1e-6
"""Probabilities are kept this far from 0 and 1 for log-loss and logits."""


@dataclass(frozen=True)
class BaseRateComparison:
    """A probability score against the constant base-rate predictor, on the same rows."""

    base_rate: float
    auc: float
    brier: float
    brier_base_rate: float
    log_loss: float
    log_loss_base_rate: float
    brier_skill_score: float
    beats_base_rate: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def verdict(self) -> str:
        """Why the score does not beat the base rate, in a sentence (empty when it does)."""
        if self.beats_base_rate:
            return ""
        failed = []
        if self.brier >= self.brier_base_rate:
            failed.append(f"Brier {self.brier:.3f} against {self.brier_base_rate:.3f}")
        if self.log_loss >= self.log_loss_base_rate:
            failed.append(f"log-loss {self.log_loss:.3f} against {self.log_loss_base_rate:.3f}")
        if self.auc <= 0.5:
            failed.append(f"AUC {self.auc:.3f} against 0.5")
        return (
            f"on the hold-out it does no better than always predicting the base rate "
            f"{self.base_rate:.1%} ({'; '.join(failed)})"
        )


def compare_with_base_rate(y: NDArray[np.int64], score: NDArray[np.float64]) -> BaseRateComparison:
    """Brier, log-loss and AUC of ``score`` and of the constant ``mean(y)``."""
    rate = float(y.mean())
    constant = np.full(len(y), rate)
    p = np.clip(score, CLIP, 1 - CLIP)
    brier = float(brier_score_loss(y, score))
    brier_base = float(brier_score_loss(y, constant))
    loss = float(log_loss(y, p, labels=[0, 1]))
    loss_base = float(log_loss(y, np.clip(constant, CLIP, 1 - CLIP), labels=[0, 1]))
    auc = float(roc_auc_score(y, score))
    return BaseRateComparison(
        base_rate=rate,
        auc=auc,
        brier=brier,
        brier_base_rate=brier_base,
        log_loss=loss,
        log_loss_base_rate=loss_base,
        brier_skill_score=1 - brier / brier_base if brier_base > 0 else 0.0,
        beats_base_rate=brier < brier_base and loss < loss_base and auc > 0.5,
    )


def calibration(y: NDArray[np.int64], score: NDArray[np.float64]) -> dict[str, Any]:
    """Logistic calibration slope and intercept, and reliability bins of equal width."""
    z = logit(np.clip(score, CLIP, 1 - CLIP)).reshape(-1, 1)
    if np.ptp(z) > 0:
        fit = LogisticRegression(C=np.inf).fit(z, y)
        slope, intercept = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    else:  # a constant score: no slope to speak of
        slope, intercept = 0.0, float(logit(np.clip(y.mean(), CLIP, 1 - CLIP)) - z[0, 0])
    edges = np.linspace(0, 1, RELIABILITY_BINS + 1)
    which = np.clip(np.digitize(score, edges[1:-1]), 0, RELIABILITY_BINS - 1)
    bins = []
    for k in range(RELIABILITY_BINS):
        rows = which == k
        if rows.any():
            bins.append(
                {
                    "from": float(edges[k]),
                    "to": float(edges[k + 1]),
                    "n": int(rows.sum()),
                    "mean_predicted": float(score[rows].mean()),
                    "observed": float(y[rows].mean()),
                }
            )
    return {"slope": slope, "intercept": intercept, "reliability": bins}
