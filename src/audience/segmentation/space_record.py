"""What a fitted :class:`~audience.segmentation.space.FeatureSpace` records and keeps.

Two views of the same learnt state: :func:`describe_space` for people (the run record: which
features were dropped and why, which were logged, clipping bounds and scaling in original
units, the variance each component keeps), and :func:`space_to_json` /
:func:`restore_space` for machines (the arrays ``transform`` needs, nothing else).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from audience.segmentation.preprocess import FeaturePreprocessor

if TYPE_CHECKING:
    from audience.segmentation.space import FeatureSpace

TOP_LOADINGS = 3
"""Features named per principal component in the run record (largest absolute loadings)."""


def describe_space(space: FeatureSpace) -> dict[str, Any]:
    """The choices ``space`` learnt, by feature name; bounds in the features' own units."""
    names = space._names()
    usable = [n for n, u in zip(names, space.usable_, strict=True) if u]
    pre = space.preprocessor_
    kept = space.kept_features_
    low, high = _original_units(space, space.lower_), _original_units(space, space.upper_)
    pca_on = space.pca_variance is not None and space.pca_variance < 1
    return {
        "features_in": names,
        "features_kept": kept,
        "dropped_all_missing": [n for n, u in zip(names, space.usable_, strict=True) if not u],
        "dropped_no_variance": [n for n, k in zip(usable, pre.keep_, strict=True) if not k],
        "imputation": {n: float(v) for n, v in zip(usable, pre.fill_values_, strict=True)},
        "log_transformed": [n for n, c in zip(usable, pre.log_columns_, strict=True) if c],
        "winsorize": space.winsorize,
        "clipped_to": {
            n: [_finite(lo), _finite(hi)]
            for n, lo, hi in zip(kept, low, high, strict=True)
            if np.isfinite(lo) or np.isfinite(hi)
        },
        "scaling": space.scaling,
        "pca": {
            "variance_target": space.pca_variance if pca_on else None,
            "n_components": len(space.components_),
            "variance_kept": round(float(space.explained_variance_ratio_.sum()), 4),
            "explained_variance_ratio": [
                round(float(v), 4) for v in space.explained_variance_ratio_
            ],
            "top_loadings": [_top_loadings(row, kept) for row in space.components_]
            if pca_on
            else [],
        },
    }


def _original_units(space: FeatureSpace, bounds: NDArray[np.float64]) -> NDArray[np.float64]:
    """Undo standardisation and the log transform of kept columns (infinite stays infinite)."""
    pre = space.preprocessor_
    mean, scale = pre.mean_[pre.keep_], pre.scale_[pre.keep_]
    logged = pre.log_columns_[pre.keep_]
    with np.errstate(over="ignore", invalid="ignore"):
        values = bounds * scale + mean
        values = np.where(logged, np.expm1(values), values)
    result: NDArray[np.float64] = np.where(np.isfinite(bounds), values, bounds)
    return result


def _finite(value: float) -> float | None:
    return round(float(value), 4) if np.isfinite(value) else None


def _top_loadings(component: NDArray[np.float64], names: list[str]) -> dict[str, float]:
    order = np.argsort(-np.abs(component))[:TOP_LOADINGS]
    return {names[j]: round(float(component[j]), 3) for j in order}


_ARRAYS = (
    "usable_",
    "kept_",
    "lower_",
    "upper_",
    "center_",
    "scale_",
    "components_",
    "pca_mean_",
    "explained_variance_ratio_",
)
_PREPROCESSOR_ARRAYS = ("fill_values_", "log_columns_", "mean_", "scale_", "keep_")


def space_to_json(space: FeatureSpace) -> dict[str, Any]:
    """Parameters and learnt arrays as JSON types; infinite bounds become ``null``."""
    pre = space.preprocessor_
    names = getattr(space, "feature_names_in_", None)
    return {
        "type": "feature_space",
        "params": {
            k: list(v) if isinstance(v, tuple) else v for k, v in space.get_params().items()
        },
        "n_features_in": int(space.n_features_in_),
        "feature_names_in": None if names is None else [str(n) for n in names],
        **{name: _to_list(getattr(space, name)) for name in _ARRAYS},
        "preprocessor": {
            "fill_max": list(pre.fill_max),
            "fill_median": list(pre.fill_median),
            "skew_threshold": pre.skew_threshold,
            **{name: _to_list(getattr(pre, name)) for name in _PREPROCESSOR_ARRAYS},
        },
    }


def restore_space(space: FeatureSpace, data: Mapping[str, Any]) -> None:
    """Set the learnt attributes of an unfitted ``space`` from :func:`space_to_json`."""
    space.fill_max = tuple(space.fill_max)
    space.fill_median = tuple(space.fill_median)
    space.n_features_in_ = int(data["n_features_in"])
    if data["feature_names_in"] is not None:
        space.feature_names_in_ = np.asarray(data["feature_names_in"], dtype=object)
    for name in _ARRAYS:
        setattr(space, name, _from_list(data[name], name))
    stored = data["preprocessor"]
    pre = FeaturePreprocessor(
        fill_max=tuple(stored["fill_max"]),
        fill_median=tuple(stored["fill_median"]),
        skew_threshold=stored["skew_threshold"],
    )
    for name in _PREPROCESSOR_ARRAYS:
        setattr(pre, name, _from_list(stored[name], name))
    pre.n_features_in_ = int(np.sum(space.usable_))
    space.preprocessor_ = pre


_BOOLEAN = ("usable_", "kept_", "log_columns_", "keep_")
_MISSING_AS = {"lower_": -np.inf, "upper_": np.inf}
"""Value a ``null`` stands for: only clipping bounds may be infinite (clipping off)."""


def _to_list(array: NDArray[Any]) -> Any:
    """Nested lists; non-finite numbers become ``null`` so that the JSON stays standard."""
    if array.dtype == bool:
        return array.tolist()
    return [
        _to_list(row) if np.ndim(row) else (float(row) if np.isfinite(row) else None)
        for row in array
    ]


def _from_list(values: Any, name: str) -> NDArray[Any]:
    if name in _BOOLEAN:
        return np.asarray(values, dtype=bool)
    return np.asarray(_fill_none(values, _MISSING_AS.get(name, np.nan)), dtype=np.float64)


def _fill_none(values: Any, missing: float) -> Any:
    if isinstance(values, list):
        return [_fill_none(v, missing) for v in values]
    return missing if values is None else values
