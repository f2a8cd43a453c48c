"""What a run deploys: the feature space and the chosen model, batch or one profile at a time.

The same object assigns the warehouse's customers in batch (:meth:`SegmentAssigner.predict`)
and a single live profile (:meth:`SegmentAssigner.predict_one`, River's shape), so the two
paths cannot drift apart. It is saved as JSON -- the space's and the model's learnt arrays --
never as a pickle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.metrics import pairwise_distances

from audience.segmentation.algorithms import model_from_json, model_to_json
from audience.segmentation.autoencoder import AutoencoderEmbedding
from audience.segmentation.labels import NOISE
from audience.segmentation.space import FeatureSpace


class SegmentAssigner:
    """A fitted :class:`FeatureSpace` and a fitted segmentation model, used together.

    Parameters
    ----------
    space:
        Turns raw features (by name) into the clustering space.
    model:
        Any fitted model of :mod:`audience.segmentation.algorithms` (or an
        :class:`~audience.segmentation.selection.AutoSegmenter`'s ``model_``).
    encoder:
        For ``autoencoder+<method>`` runs, the fitted
        :class:`~audience.segmentation.autoencoder.AutoencoderEmbedding` between the space's
        scaled features and the model (it replaces the principal components).
    """

    def __init__(
        self, space: FeatureSpace, model: Any, encoder: AutoencoderEmbedding | None = None
    ) -> None:
        self.space = space
        self.model = model
        self.encoder = encoder

    def embed(self, frame: Any) -> NDArray[np.float64]:
        """Raw features (by name) where the model sees them: principal components, or the
        autoencoder's latent space."""
        if self.encoder is None:
            return self.space.transform(frame)
        scaled = pd.DataFrame(self.space.scaled(frame), columns=self.space.kept_features_)
        return self.encoder.transform(scaled)

    def embed_one(self, profile: Mapping[str, float | None]) -> NDArray[np.float64]:
        """One profile (feature name -> value; absent or None when unknown), as a 1-row matrix
        in the model's space."""
        if self.encoder is None:
            return self.space.transform_one(profile)
        names = self.features
        row = [[profile.get(name) for name in names]]
        return self.embed(pd.DataFrame(row, columns=names, dtype=np.float64))

    @property
    def features(self) -> list[str]:
        """Raw features a profile should carry (absent ones count as missing)."""
        return [str(n) for n in getattr(self.space, "feature_names_in_", [])]

    def predict(self, frame: pd.DataFrame) -> NDArray[np.int64]:
        """Segment of every row of ``frame`` (raw features by name); -1 is noise."""
        return np.asarray(self.model.predict(self.embed(frame)), dtype=np.int64)

    def predict_one(self, profile: Mapping[str, float | None]) -> int:
        """Segment of one profile, a mapping of feature name to value."""
        return int(self.model.predict(self.embed_one(profile))[0])

    def predict_proba_one(self, profile: Mapping[str, float | None]) -> dict[int, float]:
        """Membership probability per segment: soft for a Gaussian mixture, else 1 for one."""
        row = self.embed_one(profile)
        if hasattr(self.model, "predict_proba"):
            proba = self.model.predict_proba(row)[0]
            return {label: float(p) for label, p in enumerate(proba)}
        return {int(self.model.predict(row)[0]): 1.0}

    def to_json(self) -> dict[str, Any]:
        data = {"space": self.space.to_json(), "model": model_to_json(self.model)}
        if self.encoder is not None:
            data["encoder"] = self.encoder.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SegmentAssigner:
        encoder = data.get("encoder")
        return cls(
            FeatureSpace.from_json(data["space"]),
            model_from_json(data["model"]),
            AutoencoderEmbedding.from_json(encoder) if encoder is not None else None,
        )


def confidence(model: Any, X: NDArray[np.float64]) -> NDArray[np.float64]:
    """How sure each customer's assignment is, from 0 (a toss-up) to 1, by model family.

    A mixture gives its membership probability; a centroid model gives 1 - (distance to the
    nearest centroid / distance to the second nearest), 0 on a border and 1 on the centroid;
    a density model gives 1 to cluster members and 0 to noise.
    """
    if hasattr(model, "predict_proba"):
        proba: NDArray[np.float64] = model.predict_proba(X).max(axis=1)
        return proba
    centers = getattr(model, "cluster_centers_", getattr(model, "centroids_", None))
    if centers is None:
        members: NDArray[np.float64] = (model.predict(X) != NOISE).astype(np.float64)
        return members
    if len(centers) < 2:
        return np.ones(len(X))
    nearest_two = np.partition(pairwise_distances(X, centers), 1, axis=1)[:, :2]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(nearest_two[:, 1] > 0, nearest_two[:, 0] / nearest_two[:, 1], 0.0)
    result: NDArray[np.float64] = 1.0 - ratio
    return result
