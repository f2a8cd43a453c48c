"""Predictive segmentation: CLV (BG/NBD, Pareto/NBD, Gamma-Gamma), churn, cohorts.

The models are scikit-learn estimators over ``(frequency, recency, T)`` rows
(:attr:`PurchaseSummary.X`, from :func:`customer_summary`); :func:`run_clv` and
:func:`run_churn` are what ``audience predict`` runs, storing the scores in the warehouse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.predictive.bgnbd import BetaGeoModel
    from audience.predictive.churn import ChurnRun, run_churn
    from audience.predictive.clv import ClvOptions, ClvRun, run_clv
    from audience.predictive.cohorts import cohort_table
    from audience.predictive.gamma_gamma import GammaGammaModel
    from audience.predictive.pnbd import ParetoNBDModel
    from audience.predictive.purchases import PurchaseSummary, customer_summary
    from audience.predictive.simulate import simulate_bgnbd

__all__ = [
    "BetaGeoModel",
    "ChurnRun",
    "ClvOptions",
    "ClvRun",
    "GammaGammaModel",
    "ParetoNBDModel",
    "PurchaseSummary",
    "cohort_table",
    "customer_summary",
    "run_churn",
    "run_clv",
    "simulate_bgnbd",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "BetaGeoModel": "bgnbd",
    "ChurnRun": "churn",
    "run_churn": "churn",
    "ClvOptions": "clv",
    "ClvRun": "clv",
    "run_clv": "clv",
    "cohort_table": "cohorts",
    "GammaGammaModel": "gamma_gamma",
    "ParetoNBDModel": "pnbd",
    "PurchaseSummary": "purchases",
    "customer_summary": "purchases",
    "simulate_bgnbd": "simulate",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
