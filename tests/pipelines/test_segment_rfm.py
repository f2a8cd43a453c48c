"""RFM runs: the profiles' space and the features it keeps stay aligned."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audience.config import WorkspaceConfig
from audience.pipelines.segment_run import _fit_rfm
from audience.segmentation.profiling import profile_segments


def test_a_score_without_variance_is_left_out_of_the_kept_features() -> None:
    rng = np.random.default_rng(3)
    raw = pd.DataFrame(
        {
            "recency_days": rng.integers(1, 400, 60).astype(float),
            "frequency": np.ones(60),  # every customer bought once
            "monetary": rng.gamma(2.0, 40.0, 60),
        }
    )
    with pytest.warns(UserWarning, match="no variance"):
        fitted = _fit_rfm(raw, WorkspaceConfig())
    assert fitted.kept == ["recency_days", "monetary"]
    assert fitted.signature_space.shape == (60, 2)
    profiles = profile_segments(raw[fitted.kept], fitted.signature_space, fitted.labels)
    assert sum(p.size for p in profiles) == 60
