"""The segment guards applied to RFM: small cells fold into their nearest cell.

RFM's cells come from a fixed grid, not from a search over k, so the guards that reject a
clustering candidate (smallest share, most segments) cannot reject anything: they fold
instead. While a cell holds less than ``min_share`` of the customers, or there are more than
``max_segments`` cells, the smallest cell joins the cell whose centroid is nearest to its own
in the standardised (R, F, M) space the profiles use, and takes that cell's name; the run
reports every fold in its warnings and in ``preprocessing["folded"]``. Folding rather than
dropping keeps every customer in a segment, and the nearest centroid is the cell the folded
customers most resemble (a 9-customer "Cannot lose them" cell joins "At risk", not "Champions").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Fold:
    """One small cell folded into a larger one."""

    cell: str
    into: str
    customers: int
    share: float

    def message(self) -> str:
        who = f"{self.customers} customer{'' if self.customers == 1 else 's'}"
        return (
            f"RFM segment '{self.cell}' ({who}, {self.share:.1%}) is below the minimum share "
            f"or over the maximum number of segments and is folded into '{self.into}', the "
            "nearest segment"
        )


def fold_small_cells(
    labels: NDArray[np.int64],
    names: list[str],
    space: NDArray[np.float64],
    min_share: float,
    max_segments: int,
) -> tuple[NDArray[np.int64], list[str], list[Fold]]:
    """Labels (0..n-1, compacted), their names and the folds made; warns once per fold.

    ``labels[i]`` indexes ``names``; ``space`` holds one row per customer (the standardised
    features centroids are taken in).
    """
    labels = labels.copy()
    alive = list(range(len(names)))
    folds: list[Fold] = []
    n = len(labels)
    while len(alive) > 1:
        counts = {c: int((labels == c).sum()) for c in alive}
        smallest = min(alive, key=lambda c: (counts[c], c))
        if counts[smallest] >= min_share * n and len(alive) <= max_segments:
            break
        centroid = space[labels == smallest].mean(axis=0)
        others = [c for c in alive if c != smallest]
        into = min(
            others, key=lambda c: float(((space[labels == c].mean(axis=0) - centroid) ** 2).sum())
        )
        folds.append(Fold(names[smallest], names[into], counts[smallest], counts[smallest] / n))
        labels[labels == smallest] = into
        alive.remove(smallest)
    for fold in folds:
        warnings.warn(fold.message(), UserWarning, stacklevel=2)
    remap = np.full(len(names), -1, dtype=np.int64)
    remap[alive] = np.arange(len(alive))
    result: NDArray[np.int64] = remap[labels]
    return result, [names[c] for c in alive], folds
