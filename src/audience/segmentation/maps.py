"""Two-dimensional maps of the segments, to see whether they are separate groups or slices.

Three projections, each answering a different question:

* ``pca`` -- the linear view: distances and directions are faithful, overlaps are real or
  hidden in the other components. Fast on any number of customers.
* ``tsne`` -- neighbourhoods: customers close on the map are close in the space; sizes and
  distances between groups mean little. Quadratic-ish cost, hence a sample.
* ``umap`` -- neighbourhoods with more of the global layout kept; needs the optional
  ``umap-learn`` package.

t-SNE and UMAP run on a uniform random sample (``sample_size``) so a map of millions of
customers takes seconds; segments keep their share of points. Maps are drawn by
:func:`audience.plotting.map_chart`, returned as a PNG data URI for the HTML report and
written as a PNG file when a path is given.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.utils import check_random_state

from audience.errors import ConfigError
from audience.plotting import map_chart, png_bytes
from audience.segmentation.labels import NOISE, noise_as_group

MAP_METHODS = ("pca", "tsne", "umap")
NOISE_NAME = "No segment (noise)"
_TITLES = {"pca": "principal components", "tsne": "t-SNE", "umap": "UMAP"}


@dataclass(frozen=True)
class SegmentMap:
    """A drawn map: the projection used, the image, and how many customers it shows."""

    method: str
    data_uri: str
    path: Path | None
    n_points: int

    def png(self) -> bytes:
        return png_bytes(self.data_uri)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": None if self.path is None else str(self.path),
            "n_points": self.n_points,
        }


def embed(
    X: NDArray[np.float64], method: str = "pca", *, sample_size: int = 3_000, random_state: Any = 0
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """2-D coordinates of a random sample of ``X``'s rows, and which rows they are."""
    if method not in MAP_METHODS:
        raise ConfigError(f"unknown map '{method}'; choose one of {', '.join(MAP_METHODS)}")
    rng = check_random_state(random_state)
    n = len(X)
    idx = np.sort(rng.choice(n, size=min(n, sample_size), replace=False)).astype(np.int64)
    if len(idx) < 3:
        raise ConfigError(f"a map needs at least 3 customers, got {len(idx)}")
    points = X[idx] if X.shape[1] >= 2 else np.column_stack([X[idx], np.zeros(len(idx))])
    seed = int(rng.randint(2**31 - 1))
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(points), idx
    if method == "tsne":
        perplexity = min(30.0, (len(idx) - 1) / 3)
        tsne = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed)
        return tsne.fit_transform(points), idx
    return _umap(points, seed), idx


def _umap(points: NDArray[np.float64], seed: int) -> NDArray[np.float64]:
    try:  # optional extra: heavy (numba) and only needed for this map
        umap = importlib.import_module("umap")
    except ImportError as exc:
        raise ConfigError(
            "the UMAP map needs the optional package umap-learn: pip install umap-learn "
            "(or choose --map pca or tsne)"
        ) from exc
    reducer = umap.UMAP(n_components=2, n_neighbors=min(15, len(points) - 1), random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*random_state.*")  # parallelism off: fine
        coordinates: NDArray[np.float64] = reducer.fit_transform(points)
    return coordinates


def segment_map(
    X: NDArray[np.float64],
    labels: NDArray[np.int64],
    names: Sequence[str],
    method: str = "pca",
    *,
    sample_size: int = 3_000,
    random_state: Any = 0,
    path: Path | None = None,
) -> SegmentMap:
    """Draw the segments of ``labels`` (names in label order; noise added) on a 2-D map."""
    labels = np.asarray(labels, dtype=np.int64)
    names = list(names)
    if (labels == NOISE).any():
        labels = noise_as_group(labels)
        names = [*names[: int(labels.max())], NOISE_NAME]
    points, idx = embed(X, method, sample_size=sample_size, random_state=random_state)
    shown = f"{len(idx):,} of {len(X):,} customers" if len(idx) < len(X) else "all customers"
    uri = map_chart(points, labels[idx], names, f"Segments on a {_TITLES[method]} map ({shown})")
    result = SegmentMap(method, uri, path, len(idx))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(result.png())
    return result
