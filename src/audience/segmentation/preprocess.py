"""Turn raw behavioural features into the space clusters are found in.

Missing values first (a customer who never ordered is as far as can be from her last order,
so recency takes the column's maximum; an undefined average, such as the basket of someone
who never bought, takes the median so that it does not pull her anywhere; counts take zero),
then a log transform for the
skewed non-negative columns (spend and counts follow long tails that would otherwise decide
every cluster), then standard scaling. Columns with no variance are dropped with a warning.
Every choice is learnt in ``fit`` and recorded by :meth:`FeaturePreprocessor.describe`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

FILL_WITH_MAX = ("recency_days",)
FILL_WITH_MEDIAN = ("avg_basket", "mean_days_between")


class FeaturePreprocessor(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Impute, log-transform skewed columns, and standardise.

    Parameters
    ----------
    fill_max : sequence of int, default=()
        Indices of columns whose missing values take the column's maximum.
    fill_median : sequence of int, default=()
        Indices of columns whose missing values take the column's median (others take 0).
    skew_threshold : float, default=1.0
        Columns with a sample skewness above this, and no negative value, are log1p-ed.
    """

    def __init__(
        self,
        fill_max: tuple[int, ...] = (),
        fill_median: tuple[int, ...] = (),
        skew_threshold: float = 1.0,
    ) -> None:
        self.fill_max = fill_max
        self.fill_median = fill_median
        self.skew_threshold = skew_threshold

    def fit(self, X: Any, y: Any = None) -> FeaturePreprocessor:
        self.fit_transform(X)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> NDArray[np.float64]:
        """Fit and transform in one pass over the data (the data may be millions of rows)."""
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        fill = np.zeros(X.shape[1])
        for j in (*self.fill_max, *self.fill_median):
            finite = X[~np.isnan(X[:, j]), j]
            if finite.size:
                fill[j] = finite.max() if j in self.fill_max else np.median(finite)
        self.fill_values_ = fill
        filled = self._fill(X)
        # Skewness is a shape: 100,000 rows measure it as well as millions.
        rows = np.random.default_rng(0).choice(
            len(filled), min(len(filled), 100_000), replace=False
        )
        self.log_columns_ = np.array(
            [
                bool(filled[:, j].min() >= 0 and _skewness(filled[rows, j]) > self.skew_threshold)
                for j in range(X.shape[1])
            ]
        )
        logged = self._log(filled)
        self.mean_ = logged.mean(axis=0)
        std = logged.std(axis=0)
        self.keep_ = std > 1e-12
        if not self.keep_.all():
            dropped = [int(j) for j in np.flatnonzero(~self.keep_)]
            warnings.warn(
                f"feature column(s) {dropped} have no variance and are left out",
                stacklevel=2,
            )
        self.scale_ = np.where(self.keep_, std, 1.0)
        logged -= self.mean_
        logged /= self.scale_
        result: NDArray[np.float64] = logged[:, self.keep_]
        return result

    def _fill(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.where(np.isnan(X), self.fill_values_, X)

    def _log(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        out = X.copy()
        cols = self.log_columns_
        out[:, cols] = np.log1p(np.maximum(out[:, cols], 0.0))
        return out

    def transform(self, X: Any) -> NDArray[np.float64]:
        check_is_fitted(self, "scale_")
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        scaled = (self._log(self._fill(X)) - self.mean_) / self.scale_
        result: NDArray[np.float64] = scaled[:, self.keep_]
        return result

    def describe(self, names: list[str]) -> dict[str, Any]:
        """The learnt choices, by feature name, for the run record."""
        check_is_fitted(self, "scale_")
        return {
            "imputation": {n: float(v) for n, v in zip(names, self.fill_values_, strict=True)},
            "log_transformed": [n for n, c in zip(names, self.log_columns_, strict=True) if c],
            "dropped_no_variance": [n for n, k in zip(names, self.keep_, strict=True) if not k],
            "scaling": "standard",
            "mean": {n: float(v) for n, v in zip(names, self.mean_, strict=True)},
            "scale": {n: float(v) for n, v in zip(names, self.scale_, strict=True)},
        }

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _skewness(column: NDArray[np.float64]) -> float:
    std = column.std()
    if std == 0:
        return 0.0
    return float(np.mean(((column - column.mean()) / std) ** 3))
