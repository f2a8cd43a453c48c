"""Charts as self-contained PNG data URIs, drawn on matplotlib figures outside pyplot.

Figures are made with :class:`matplotlib.figure.Figure` directly and rendered by the Agg
canvas, so that no backend is switched and no global figure registry fills up: importing
Audience in a notebook leaves the user's own plotting alone.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import NDArray

PALETTE = colormaps["tab10"]


def new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure with one axis, not registered with pyplot (nothing to close)."""
    figure = Figure(figsize=(width, height))
    return figure, figure.subplots()


def png_bytes(uri: str) -> bytes:
    """The PNG inside a data URI, to write it to a file."""
    return base64.b64decode(uri.split(",", 1)[1])


def data_uri(figure: Figure) -> str:
    """The figure as a PNG data URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def sizes_chart(names: Sequence[str], sizes: Sequence[int]) -> str:
    figure, axis = new_figure(7, 0.45 * len(names) + 1)
    positions = np.arange(len(names))
    axis.barh(positions, sizes, color=[PALETTE(i % 10) for i in range(len(names))])
    axis.set_yticks(positions, labels=list(names))
    axis.invert_yaxis()
    axis.set_xlabel("customers")
    for y, size in zip(positions, sizes, strict=True):
        axis.text(float(size), float(y), f" {size:,}", va="center", fontsize=8)
    axis.spines[["top", "right"]].set_visible(False)
    return data_uri(figure)


def map_chart(
    points: NDArray[np.float64], labels: NDArray[np.int64], names: Sequence[str], title: str
) -> str:
    figure, axis = new_figure(7, 5.5)
    for label, name in enumerate(names):
        chosen = labels == label
        axis.scatter(
            points[chosen, 0],
            points[chosen, 1],
            s=6,
            alpha=0.6,
            color=PALETTE(label % 10),
            label=name,
        )
    axis.set_title(title)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.legend(markerscale=3, fontsize=8, loc="best", frameon=False)
    return data_uri(figure)


def signature_chart(names: Sequence[str], features: Sequence[str], z: NDArray[np.float64]) -> str:
    """Heat map of segment z-scores: what sets each segment apart."""
    figure, axis = new_figure(1 + 0.6 * len(features), 0.5 * len(names) + 1.5)
    limit = max(1.0, float(np.nanmax(np.abs(z))))
    image = axis.imshow(z, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    axis.set_xticks(range(len(features)), labels=list(features), rotation=45, ha="right")
    axis.set_yticks(range(len(names)), labels=list(names))
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            axis.text(j, i, f"{z[i, j]:+.1f}", ha="center", va="center", fontsize=7)
    figure.colorbar(image, ax=axis, label="z-score vs population")
    return data_uri(figure)
