"""Maps: projections that keep planted groups apart, saved as PNG files and data URIs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_score

from audience import plotting as charts
from audience.errors import ConfigError
from audience.segmentation.labels import NOISE
from audience.segmentation.maps import NOISE_NAME, embed, segment_map

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, np.ndarray]:
    X, labels = make_blobs(n_samples=4_000, centers=4, n_features=6, random_state=3)
    return X, labels


def test_pca_map_is_written_as_png_and_data_uri(
    planted: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, labels = planted
    path = tmp_path / "maps" / "pca.png"
    drawn = segment_map(X, labels, ["A", "B", "C", "D"], "pca", sample_size=1_000, path=path)
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert drawn.data_uri.startswith("data:image/png;base64,")
    assert drawn.png() == path.read_bytes()
    assert drawn.n_points == 1_000


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_projections_keep_planted_groups_apart(
    method: str, planted: tuple[np.ndarray, np.ndarray]
) -> None:
    X, labels = planted
    points, idx = embed(X, method, sample_size=300, random_state=0)
    assert points.shape == (300, 2)
    assert len(set(idx)) == 300
    assert silhouette_score(points, labels[idx]) > 0.5


def test_noise_is_drawn_as_its_own_group(
    planted: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    X, labels = planted
    noisy = np.where(np.arange(len(labels)) % 10 == 0, NOISE, labels)
    figures: list[Figure] = []

    def keep(figure: Figure) -> str:
        figures.append(figure)
        return render(figure)

    render = charts.data_uri
    monkeypatch.setattr(charts, "data_uri", keep)
    drawn = segment_map(X, noisy, ["A", "B", "C", "D"], "pca", sample_size=500)
    assert drawn.png().startswith(PNG_MAGIC)
    # What the map shows: one scatter per group, noise among them under its own name, with
    # exactly the sampled noise customers at their projected positions.
    points, idx = embed(X, "pca", sample_size=500)  # the same sample and projection
    (axis,) = figures[0].axes
    scatters = {c.get_label(): c for c in axis.collections}
    assert list(scatters) == ["A", "B", "C", "D", NOISE_NAME]
    sampled = noisy[idx]
    for label, name in enumerate(["A", "B", "C", "D"]):
        assert np.allclose(scatters[name].get_offsets(), points[sampled == label])
    noise_points = scatters[NOISE_NAME].get_offsets()
    assert len(noise_points) == (sampled == NOISE).sum() > 0
    assert np.allclose(noise_points, points[sampled == NOISE])
    colours = {tuple(c.get_facecolor()[0][:3]) for c in scatters.values()}
    assert len(colours) == 5  # noise is told apart from every segment
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert legend == ["A", "B", "C", "D", NOISE_NAME]


def test_umap_without_its_package_says_how_to_install_it(
    planted: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "umap", None)  # makes "import umap" fail
    with pytest.raises(ConfigError, match="pip install umap-learn"):
        embed(planted[0], "umap", sample_size=100)


@pytest.mark.slow
def test_umap_keeps_planted_groups_apart(planted: tuple[np.ndarray, np.ndarray]) -> None:
    pytest.importorskip("umap")
    X, labels = planted
    points, idx = embed(X, "umap", sample_size=800, random_state=0)
    assert silhouette_score(points, labels[idx]) > 0.5


def test_unknown_map_is_a_config_error(planted: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ConfigError, match="unknown map 'mds'"):
        embed(planted[0], "mds")
