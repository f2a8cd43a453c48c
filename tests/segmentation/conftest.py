"""Segmentation tests run their numeric libraries on one thread.

The fits here are small: threads only add synchronisation, and on a shared 2-core machine
scikit-learn's OpenMP and BLAS threads made some tests 5 to 20 times slower. Results do not
depend on the number of threads.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    with threadpool_limits(limits=1):
        yield
