"""Model selection reports its candidate fits to a progress callback, from 0 to all."""

from __future__ import annotations

import numpy as np

from audience.segmentation.selection import AutoSegmenter


def test_progress_counts_every_candidate_fit() -> None:
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.3, size=(200, 3)) for c in (0.0, 3.0, 6.0)])
    calls: list[tuple[int, int]] = []
    model = AutoSegmenter(method="kmeans", k_range=(2, 4), n_refits=3, random_state=0)
    model.fit(X, progress=lambda done, total: calls.append((done, total)))
    total = 1 + 3  # one fit on the sample and one per stability refit, every k at once
    assert calls == [(i, total) for i in range(total + 1)]
    assert model.n_clusters_ == 3
