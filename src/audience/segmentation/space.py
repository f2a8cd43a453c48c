"""The clustering space: pre-processing a data scientist can state and defend, step by step.

:class:`FeatureSpace` composes the existing :class:`~audience.segmentation.preprocess.
FeaturePreprocessor` (imputation, log of skewed columns, standardisation) with what a defended
segmentation also needs:

1. columns that are entirely missing are dropped, and so are columns without variance, each
   with a warning that names the feature (a constant says nothing about who is who);
2. winsorising: every column is clipped to its own quantiles so that a handful of extreme
   customers cannot pull a centroid or a variance on their own (skipped for a column where
   clipping would leave it constant: a rare event is information, not an outlier);
3. standard or robust scaling: robust scaling (median, inter-quartile range) resists heavy
   tails further but inflates columns whose middle half is nearly constant, so standard is
   the default;
4. PCA keeping a configured share of the variance (95% by default): correlated features (orders,
   spend, 90-day orders...) otherwise count several times in every distance.

Every choice is learnt in ``fit`` and reported by :meth:`FeatureSpace.describe` in original
units; the learnt state is a handful of arrays, written by :meth:`FeatureSpace.to_json`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.preprocessing import RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from audience.errors import ModelError
from audience.model.fields import TRAIT_PREFIX
from audience.segmentation.preprocess import FILL_WITH_MAX, FILL_WITH_MEDIAN, FeaturePreprocessor
from audience.segmentation.space_record import describe_space, restore_space, space_to_json

Scaling = Literal["standard", "robust"]


class FeatureSpace(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Impute, log, winsorise, scale and project customers into the space clusters live in.

    Parameters
    ----------
    fill_max : tuple of str, default=FILL_WITH_MAX
        Features whose missing values take the column's maximum (matched by name).
    fill_median : tuple of str, default=FILL_WITH_MEDIAN
        Features whose missing values take the column's median; other features take 0,
        except custom traits (``traits.<name>``), which always take the median (a loyalty
        score nobody gave is not zero; an unknown yes/no takes the commoner answer).
    skew_threshold : float, default=1.0
        Non-negative columns more skewed than this are log1p-ed.
    winsorize : float, default=0.01
        Share of customers clipped in each tail of every column; 0 disables it.
    scaling : {"standard", "robust"}, default="standard"
    pca_variance : float or None, default=0.95
        Share of variance the principal components keep; None keeps the scaled features.
    """

    def __init__(
        self,
        fill_max: tuple[str, ...] = FILL_WITH_MAX,
        fill_median: tuple[str, ...] = FILL_WITH_MEDIAN,
        skew_threshold: float = 1.0,
        winsorize: float = 0.01,
        scaling: Scaling = "standard",
        pca_variance: float | None = 0.95,
    ) -> None:
        self.fill_max = fill_max
        self.fill_median = fill_median
        self.skew_threshold = skew_threshold
        self.winsorize = winsorize
        self.scaling = scaling
        self.pca_variance = pca_variance

    def fit(self, X: Any, y: Any = None) -> FeatureSpace:
        self.fit_scaled(X)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> NDArray[np.float64]:
        return self.project(self.fit_scaled(X))

    def fit_scaled(self, X: Any) -> NDArray[np.float64]:
        """Fit, and return :meth:`scaled` of the same data without transforming it twice."""
        self._check_params()
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        names = self._names()
        self.usable_ = ~np.isnan(X).all(axis=0)
        if not self.usable_.any():
            raise ModelError("every feature is empty; compute features before segmenting")
        _warn_dropped(names, ~self.usable_, "is entirely missing")
        usable = [n for n, u in zip(names, self.usable_, strict=True) if u]
        self.preprocessor_, Z = _fit_preprocessor(self, X[:, self.usable_], usable)
        self.kept_ = self.usable_.copy()
        self.kept_[self.usable_] = self.preprocessor_.keep_
        if not self.kept_.any():
            raise ModelError(
                f"no feature varies between the {len(X)} customers (n_samples = {len(X)}); "
                "check the feature table"
            )
        self.lower_, self.upper_ = _winsor_bounds(Z, self.winsorize)
        np.clip(Z, self.lower_, self.upper_, out=Z)
        scaler = StandardScaler() if self.scaling == "standard" else RobustScaler()
        scaler.fit(Z)
        self.center_ = np.asarray(scaler.mean_ if self.scaling == "standard" else scaler.center_)
        self.scale_ = np.asarray(scaler.scale_)
        Z -= self.center_
        Z /= self.scale_
        self._fit_pca(Z)
        return Z

    def _check_params(self) -> None:
        if not 0 <= self.winsorize < 0.5:
            raise ModelError(f"winsorize must be in [0, 0.5), got {self.winsorize}")
        if self.scaling not in ("standard", "robust"):
            raise ModelError(f"scaling must be 'standard' or 'robust', got {self.scaling!r}")
        if self.pca_variance is not None and not 0 < self.pca_variance <= 1:
            raise ModelError(f"pca_variance must be in (0, 1] or None, got {self.pca_variance}")

    def _names(self) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return [f"x{j}" for j in range(self.n_features_in_)]
        return [str(n) for n in names]

    def _fit_pca(self, scaled: NDArray[np.float64]) -> None:
        if self.pca_variance is None or self.pca_variance >= 1 or scaled.shape[1] < 2:
            self.components_ = np.eye(scaled.shape[1])
            self.pca_mean_ = np.zeros(scaled.shape[1])
            total = scaled.var(axis=0).sum()
            self.explained_variance_ratio_ = scaled.var(axis=0) / (total if total > 0 else 1.0)
            return
        pca = PCA(n_components=self.pca_variance, svd_solver="full")
        pca.fit(scaled)
        self.components_ = pca.components_
        self.pca_mean_ = pca.mean_
        self.explained_variance_ratio_ = pca.explained_variance_ratio_

    def scaled(self, X: Any) -> NDArray[np.float64]:
        """Customers after scaling, before PCA: one column per kept feature, for profiles."""
        check_is_fitted(self, "components_")
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        Z = self.preprocessor_.transform(X[:, self.usable_])
        result: NDArray[np.float64] = (np.clip(Z, self.lower_, self.upper_) - self.center_) / (
            self.scale_
        )
        return result

    def transform(self, X: Any) -> NDArray[np.float64]:
        """Customers in the clustering space (principal components when PCA is on)."""
        return self.project(self.scaled(X))

    def project(self, scaled: NDArray[np.float64]) -> NDArray[np.float64]:
        """Scaled customers (see :meth:`scaled`) into the clustering space."""
        check_is_fitted(self, "components_")
        result: NDArray[np.float64] = (scaled - self.pca_mean_) @ self.components_.T
        return result

    def transform_one(self, profile: Mapping[str, float | None]) -> NDArray[np.float64]:
        """One profile (feature name -> value, None or absent when unknown), as a 1-row matrix."""
        names = self._names()
        row = [[_as_float(profile.get(name)) for name in names]]
        frame: Any = pd.DataFrame(row, columns=names) if hasattr(self, "feature_names_in_") else row
        return self.transform(frame)

    @property
    def kept_features_(self) -> list[str]:
        """Names of the features that reach the space, in input order."""
        return [n for n, k in zip(self._names(), self.kept_, strict=True) if k]

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[np.object_]:
        check_is_fitted(self, "components_")
        if self.pca_variance is None or self.pca_variance >= 1:
            return np.asarray(self.kept_features_, dtype=object)
        return np.asarray([f"pc{i + 1}" for i in range(len(self.components_))], dtype=object)

    def describe(self) -> dict[str, Any]:
        """Every learnt choice, by feature name and in original units, for the run record."""
        check_is_fitted(self, "components_")
        return describe_space(self)

    def to_json(self) -> dict[str, Any]:
        """The learnt state as plain JSON types (arrays as nested lists)."""
        check_is_fitted(self, "components_")
        return space_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSpace:
        """Rebuild a fitted space from :meth:`to_json`'s output."""
        space = cls(**data["params"])
        restore_space(space, data)
        return space

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _fit_preprocessor(
    space: FeatureSpace, X: NDArray[np.float64], names: list[str]
) -> tuple[FeaturePreprocessor, NDArray[np.float64]]:
    """Fit the shared preprocessor (and transform, in the same pass), re-issuing its
    no-variance warning with feature names."""
    pre = FeaturePreprocessor(
        fill_max=tuple(j for j, n in enumerate(names) if n in space.fill_max),
        fill_median=tuple(
            j for j, n in enumerate(names) if n in space.fill_median or n.startswith(TRAIT_PREFIX)
        ),
        skew_threshold=space.skew_threshold,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # re-issued below with names instead of indices
        transformed = pre.fit_transform(X)
    _warn_dropped(names, ~pre.keep_, "has no variance")
    return pre, transformed


def _warn_dropped(names: list[str], dropped: NDArray[np.bool_], why: str) -> None:
    for name in (n for n, d in zip(names, dropped, strict=True) if d):
        warnings.warn(
            f"feature '{name}' {why} and is left out of the segmentation; "
            "check how it is computed or remove it from segmentation.features",
            UserWarning,
            stacklevel=4,
        )


def _winsor_bounds(
    Z: NDArray[np.float64], share: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-column clipping bounds; infinite where clipping is off or would flatten a column."""
    lower = np.full(Z.shape[1], -np.inf)
    upper = np.full(Z.shape[1], np.inf)
    if share <= 0:
        return lower, upper
    low, high = np.quantile(Z, [share, 1 - share], axis=0)
    useful = high > low
    lower[useful] = low[useful]
    upper[useful] = high[useful]
    return lower, upper


def _as_float(value: float | None) -> float:
    if value is None:
        return math.nan
    return float(value)
