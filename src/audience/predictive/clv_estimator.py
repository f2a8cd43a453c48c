"""The estimator contract shared by the CLV models, and input checks of customer summaries.

Each model is a scikit-learn estimator: ``__init__`` stores the fitting options, ``fit(X)``
validates the customer summaries, maximises the likelihood and returns ``self``, and what was
learnt ends in ``_``. ``X`` holds one row per customer: (frequency, recency, T) for the
transaction models, (frequency, mean spend) for Gamma-Gamma. ``sample_weight`` counts
customers, which is how grouped summaries are fitted.

The models go through scikit-learn's ``parametrize_with_checks`` with every other estimator
(``tests/test_estimator_checks.py``). Many of those checks feed arbitrary real matrices, and a
purchase history is not one (frequency is a count, recency cannot exceed T): the checks that
then meet our refusal of invalid data rather than the contract are waived there, each with
its reason. Input is non-negative (the ``positive_only`` tag), and negative values are refused
first, with scikit-learn's wording.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from audience.errors import ModelError
from audience.predictive.mle import (
    FloatArray,
    MLEResult,
    bootstrap,
    compress,
    maximise,
    standard_errors,
    wald_interval,
)


class MLEModel(BaseEstimator, metaclass=ABCMeta):  # type: ignore[misc]
    """Base of the maximum-likelihood CLV models (abstract: each model states its likelihood).

    Parameters
    ----------
    bootstrap:
        Refits on resampled customers for percentile intervals (0: Hessian intervals only).
    interval_level:
        Coverage of the parameter intervals.
    random_state:
        Seed of the bootstrap resampling.
    max_iter:
        Iteration limit of the optimiser; reaching it is reported, not ignored.
    """

    names: ClassVar[tuple[str, ...]] = ()
    label: ClassVar[str] = ""

    def __init__(
        self,
        bootstrap: int = 0,
        interval_level: float = 0.9,
        random_state: int | None = None,
        max_iter: int = 1000,
    ) -> None:
        self.bootstrap = bootstrap
        self.interval_level = interval_level
        self.random_state = random_state
        self.max_iter = max_iter

    # -- what subclasses provide ---------------------------------------------------------

    @abstractmethod
    def _prepare(self, X: FloatArray, weights: FloatArray) -> Any:
        """Validated, grouped data; a dataclass whose weights field is ``w``."""

    @abstractmethod
    def _negll(self, log_params: FloatArray, data: Any) -> tuple[float, FloatArray | None]:
        """Negative log-likelihood at ``log_params`` and its gradient (None: numerical)."""

    def _start(self, data: Any) -> FloatArray:
        return np.zeros(len(self.names))

    # -- the contract ---------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> Self:
        """Maximise the likelihood on the customer summaries ``X``; returns ``self``."""
        X = validate_data(self, X, dtype=np.float64)
        weights = _customer_weights(sample_weight, len(X))
        data = self._prepare(X, weights)
        total = float(data.w.sum())
        result = maximise(
            lambda z: self._negll(z, data),
            self._start(data),
            self.names,
            self.label,
            total,
            self.max_iter,
        )
        self._store(result, total)
        self.bootstrap_log_params_: FloatArray | None = None
        if self.bootstrap:
            self._bootstrap(data, result.log_params, total)
        return self

    def _store(self, result: MLEResult, total: float) -> None:
        self.log_params_ = result.log_params
        self.params_ = dict(zip(self.names, np.exp(result.log_params).tolist(), strict=True))
        self.covariance_ = result.covariance
        se = standard_errors(result.log_params, result.covariance)
        self.standard_errors_ = dict(zip(self.names, se.tolist(), strict=True))
        self.log_likelihood_ = result.log_likelihood
        self.n_customers_ = round(total)
        self.n_iter_ = result.n_iter
        self.convergence_ = result.status
        self.warnings_ = list(result.warnings)

    def _bootstrap(self, data: Any, start: FloatArray, total: float) -> None:
        def refit(counts: FloatArray) -> FloatArray:
            resampled = replace(data, w=counts)
            fitted = maximise(
                lambda z: self._negll(z, resampled),
                start,
                self.names,
                self.label,
                total,
                self.max_iter,
            )
            return fitted.log_params

        draws, failures = bootstrap(refit, data.w, self.bootstrap, self.random_state)
        self.bootstrap_log_params_ = draws
        if failures:
            self.warnings_.append(f"{failures} of {self.bootstrap} bootstrap refits failed")

    def parameter_covariance(self) -> FloatArray:
        """Covariance of the log-parameters: bootstrap's when there is one, else the Hessian's."""
        check_is_fitted(self)
        if self.bootstrap_log_params_ is not None and len(self.bootstrap_log_params_) > 2:
            return np.atleast_2d(np.cov(self.bootstrap_log_params_, rowvar=False))
        return self.covariance_

    def summary(self) -> dict[str, Any]:
        """Parameters with standard errors and intervals, log-likelihood, convergence."""
        check_is_fitted(self)
        low, high = wald_interval(self.log_params_, self.covariance_, self.interval_level)
        params: dict[str, dict[str, float | None]] = {}
        for i, name in enumerate(self.names):
            params[name] = {
                "estimate": self.params_[name],
                "se": _finite(self.standard_errors_[name]),
                "low": _finite(low[i]),
                "high": _finite(high[i]),
            }
        if self.bootstrap_log_params_ is not None:
            tail = 100 * (1 - self.interval_level) / 2
            q = np.exp(np.percentile(self.bootstrap_log_params_, [tail, 100 - tail], axis=0))
            for i, name in enumerate(self.names):
                params[name]["bootstrap_low"] = float(q[0, i])
                params[name]["bootstrap_high"] = float(q[1, i])
        return {
            "model": self.label,
            "parameters": params,
            "interval_level": self.interval_level,
            "bootstrap": int(self.bootstrap),
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
            "n_iter": self.n_iter_,
            "convergence": self.convergence_,
            "warnings": self.warnings_,
        }

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per customer (higher is better, as scikit-learn expects)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        data = self._prepare(X, np.ones(len(X)))
        return -self._negll(self.log_params_, data)[0] / len(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True  # counts, durations and amounts
        return tags


def _customer_weights(sample_weight: Any, n: int) -> FloatArray:
    """One non-negative count per customer, not all zero; ones when none is given."""
    if sample_weight is None:
        return np.ones(n)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n,) or not np.isfinite(weights).all() or (weights < 0).any():
        raise ModelError("sample_weight must hold one non-negative count per customer")
    if not weights.any():
        raise ModelError("sample_weight is zero for every customer: there is nobody to fit")
    return weights


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def check_purchase_summaries(
    X: FloatArray, label: str
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(frequency, recency, T) columns of ``X``, or a ModelError saying what is wrong."""
    if (X < 0).any():
        raise ModelError(
            f"Negative values in data passed to {label}: frequency must be a count of repeat "
            "purchases (integers >= 0), recency and T are durations (>= 0)"
        )
    if X.shape[1] != 3:
        raise ModelError(
            f"expected 3 columns (frequency, recency, T), got n_features = {X.shape[1]}; "
            "build them with audience.predictive.purchases.customer_summary"
        )
    x, t_x, T = X[:, 0], X[:, 1], X[:, 2]
    if (x < 0).any() or (x != np.round(x)).any():
        raise ModelError("frequency must be a count of repeat purchases (integers >= 0)")
    if (t_x < 0).any() or (t_x > T).any():
        raise ModelError("recency must lie between 0 and T (time from first purchase to end)")
    if ((x == 0) & (t_x != 0)).any() or ((x > 0) & (t_x == 0)).any():
        raise ModelError("recency must be 0 exactly for customers without repeat purchases")
    if not (x > 0).any():
        raise ModelError(
            "no customer made a repeat purchase in the calibration period: a transaction model "
            "cannot be fitted; use a later --calibration-end or import more orders"
        )
    return x, t_x, T


@dataclass(frozen=True)
class GroupedPurchases:
    """Distinct (frequency, recency, T) rows and how many customers each stands for."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    w: FloatArray

    @classmethod
    def of(cls, X: FloatArray, weights: FloatArray, label: str) -> Self:
        x, t_x, T = check_purchase_summaries(X, label)
        (gx, gt, gT), w, _ = compress([x, t_x, T], weights)
        return cls(gx, gt, gT, w)

    def log_time_scale(self) -> float:
        """log(1 / purchase rate): where the transaction models start alpha's search."""
        rate = float((self.w * self.x).sum() / max((self.w * self.T).sum(), 1e-9))
        return float(np.log(1.0 / max(rate, 1e-6)))
