"""RFM scoring: quintile scores for recency, frequency and monetary value, and the named segments.

Scores
    Among customers with at least one order, each of recency (days since the last order),
    frequency (orders) and monetary value (total spent) is cut at its quintiles, learnt in
    ``fit``. A customer's score is 1 plus the number of quintile edges she strictly beats:
    5 for the most recent fifth, the most frequent, the biggest spenders. On a tie with an
    edge she takes the lower score, so that, for instance, one-time buyers (often far more
    than a fifth of buyers) all score F=1 instead of being split at random.

Segments
    The segment comes from R and the rounded mean of F and M (``FM``, halves rounded up), the
    convention of Putler's widely copied RFM segment table (Champions: R 4-5, FM 4-5; Loyal:
    R 2-5, FM 3-5; ... Lost: R 1-2, FM 1-2). Putler's ranges overlap and are read first match
    first, which leaves some names unreachable, so :data:`RFM_GRID` states one segment per
    (R, FM) cell, keeping each name's meaning::

        R\\FM 1               2                    3               4                 5
        5     New customers   Potential loyalists  Loyal           Champions         Champions
        4     Promising       Potential loyalists  Loyal           Champions         Champions
        3     About to sleep  Need attention       Need attention  Loyal             Loyal
        2     Hibernating     Hibernating          At risk         At risk           Cannot lose
        1     Lost            Lost                 At risk         Cannot lose       Cannot lose

    ("Cannot lose" is "Cannot lose them".)

    Customers without an order have no RFM score; they form a twelfth group, ``No orders
    yet`` (Shopify's "prospects").

Labels are indices into :data:`RFM_SEGMENTS`, the same in every run, so that a label always
means the same name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from audience.errors import ModelError

RFM_FEATURES = ("recency_days", "frequency", "monetary")

RFM_SEGMENTS = (
    "Champions",
    "Loyal",
    "Potential loyalists",
    "New customers",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Cannot lose them",
    "Hibernating",
    "Lost",
    "No orders yet",
)
NO_ORDERS = RFM_SEGMENTS.index("No orders yet")

_GRID_NAMES = (  # rows: R = 5, 4, 3, 2, 1; columns: FM = 1 .. 5
    ("New customers", "Potential loyalists", "Loyal", "Champions", "Champions"),
    ("Promising", "Potential loyalists", "Loyal", "Champions", "Champions"),
    ("About to sleep", "Need attention", "Need attention", "Loyal", "Loyal"),
    ("Hibernating", "Hibernating", "At risk", "At risk", "Cannot lose them"),
    ("Lost", "Lost", "At risk", "Cannot lose them", "Cannot lose them"),
)
RFM_GRID: NDArray[np.int64] = np.array(
    [[RFM_SEGMENTS.index(name) for name in row] for row in reversed(_GRID_NAMES)], dtype=np.int64
)
"""Segment label for ``RFM_GRID[R - 1, FM - 1]``."""


class RFMSegmenter(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Quintile R, F, M scores (``transform``) and named RFM segments (``predict``).

    Input columns, in this order: recency in days (missing when the customer never ordered),
    number of orders, total spent -- :data:`RFM_FEATURES`.
    """

    def fit(self, X: Any, y: Any = None) -> RFMSegmenter:
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        _check_columns(X)
        buyers = _buyers(X)
        if not buyers.any():
            raise ModelError(
                "RFM needs customers with at least one order and none has any; import orders"
            )
        self.edges_ = np.quantile(X[buyers], [0.2, 0.4, 0.6, 0.8], axis=0).T
        self.labels_ = _segments(self._scores(X))
        return self

    def transform(self, X: Any) -> NDArray[np.int64]:
        """R, F and M scores from 1 to 5 per customer; 0 for customers without an order."""
        check_is_fitted(self, "edges_")
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        return self._scores(X)

    def predict(self, X: Any) -> NDArray[np.int64]:
        """Index of each customer's segment in :data:`RFM_SEGMENTS`."""
        return _segments(self.transform(X))

    def _scores(self, X: NDArray[np.float64]) -> NDArray[np.int64]:
        recency, frequency, monetary = X[:, 0:1], X[:, 1:2], X[:, 2:3]
        scores = np.column_stack(
            [
                1 + (recency < self.edges_[0][None, :]).sum(axis=1),
                1 + (frequency > self.edges_[1][None, :]).sum(axis=1),
                1 + (monetary > self.edges_[2][None, :]).sum(axis=1),
            ]
        ).astype(np.int64)
        result: NDArray[np.int64] = np.where(_buyers(X)[:, None], scores, 0)
        return result

    def predict_one(self, profile: Mapping[str, float | None]) -> int:
        """Segment of one profile with keys :data:`RFM_FEATURES` (missing: never ordered)."""
        values = [profile.get(k) for k in RFM_FEATURES]
        row = np.array([[np.nan if v is None else float(v) for v in values]])
        names = getattr(self, "feature_names_in_", None)
        return int(self.predict(row if names is None else pd.DataFrame(row, columns=names))[0])

    def to_json(self) -> dict[str, Any]:
        check_is_fitted(self, "edges_")
        names = getattr(self, "feature_names_in_", None)
        return {
            "type": "rfm",
            "feature_names_in": None if names is None else [str(n) for n in names],
            "edges": self.edges_.tolist(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RFMSegmenter:
        model = cls()
        model.edges_ = np.asarray(data["edges"], dtype=np.float64)
        model.n_features_in_ = len(RFM_FEATURES)
        if data.get("feature_names_in") is not None:
            model.feature_names_in_ = np.asarray(data["feature_names_in"], dtype=object)
        return model

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = []  # scores are integers 0-5
        return tags


def _check_columns(X: NDArray[np.float64]) -> None:
    if X.shape[1] != len(RFM_FEATURES):
        raise ModelError(
            f"RFM takes {len(RFM_FEATURES)} columns ({', '.join(RFM_FEATURES)}), got "
            f"n_features = {X.shape[1]}; select those features"
        )


def _segments(scores: NDArray[np.int64]) -> NDArray[np.int64]:
    """Segment label from R and FM = mean of F and M, halves rounded up (see RFM_GRID)."""
    fm = np.floor((scores[:, 1] + scores[:, 2]) / 2 + 0.5).astype(np.int64)
    labels = RFM_GRID[np.maximum(scores[:, 0], 1) - 1, np.clip(fm, 1, 5) - 1]
    result: NDArray[np.int64] = np.where(scores[:, 0] == 0, NO_ORDERS, labels)
    return result


def _buyers(X: NDArray[np.float64]) -> NDArray[np.bool_]:
    result: NDArray[np.bool_] = (X[:, 1] > 0) & np.isfinite(X[:, 0])
    return result
