"""Profiling consent: who may be placed in model-based segments and given predictive scores.

With ``privacy.profiling_consent: required`` a person is profiled only while her current
``profiling`` consent is ``granted`` (a denial, a withdrawal or no answer leave her out):
she is not among the customers a clustering or RFM run fits and assigns, and a prediction
run keeps no score for her. Rule segments on declared data are not profiling in this sense
and keep her.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
from numpy.typing import NDArray

GRANTED = """SELECT customer_id FROM current_consents
             WHERE purpose = 'profiling' AND status = 'granted'"""


def profiling_allowed(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> NDArray[np.bool_]:
    """For each id (a person of the features table), whether she may be profiled."""
    granted = {str(c) for (c,) in con.execute(GRANTED).fetchall()}
    return np.fromiter((str(i) in granted for i in ids), dtype=bool, count=len(ids))


def withhold_scores(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Delete the run's scores of persons who may not be profiled; how many."""
    rows = con.execute(
        f"DELETE FROM predictions WHERE run_id = ? AND customer_id NOT IN ({GRANTED})",
        [run_id],
    ).fetchall()
    return int(rows[0][0]) if rows else 0
