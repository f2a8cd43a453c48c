"""RFM obeys the segment guards: small cells fold into their nearest cell."""

from __future__ import annotations

import numpy as np
import pytest

from audience.segmentation.rfm_fold import fold_small_cells


def test_a_small_cell_folds_into_the_nearest_and_says_so() -> None:
    labels = np.array([0] * 50 + [1] * 45 + [2] * 5, dtype=np.int64)
    space = np.array([[0.0]] * 50 + [[10.0]] * 45 + [[9.0]] * 5)
    with pytest.warns(UserWarning, match="'Cannot lose them' .5 customers, 5.0%. .* 'At risk'"):
        folded, names, folds = fold_small_cells(
            labels, ["Champions", "At risk", "Cannot lose them"], space, 0.1, 12
        )
    assert names == ["Champions", "At risk"]
    assert folded.tolist() == [0] * 50 + [1] * 50
    assert [(f.cell, f.into, f.customers) for f in folds] == [("Cannot lose them", "At risk", 5)]


def test_too_many_cells_fold_down_to_the_maximum() -> None:
    labels = np.repeat(np.arange(5), 20).astype(np.int64)
    space = np.repeat(np.arange(5.0), 20)[:, None]
    with pytest.warns(UserWarning, match="folded"):
        folded, names, _ = fold_small_cells(labels, list("abcde"), space, 0.0, 3)
    assert len(names) == 3 and set(folded.tolist()) == {0, 1, 2}


def test_cells_that_pass_the_guards_are_left_alone() -> None:
    labels = np.repeat(np.arange(3), 10).astype(np.int64)
    folded, names, folds = fold_small_cells(labels, list("abc"), np.zeros((30, 1)), 0.1, 3)
    assert folds == [] and names == list("abc") and (folded == labels).all()
