"""What the normalisers share: the result shape, unique-value broadcasting, summaries."""

from __future__ import annotations

import pandas as pd

from audience.quality.normalise import (
    STATUSES,
    normalise_email,
    normalise_name,
    normalise_phone,
    status_counts,
    summary,
)
from audience.quality.normalise.core import fold


def test_results_follow_the_input_index_and_order() -> None:
    raw = pd.Series(["BOB", None, "ann", "BOB"], index=[7, 3, 9, 1])
    result = normalise_name(raw)
    assert result.index.tolist() == [7, 3, 9, 1]
    assert result["value"].tolist()[0::2] == ["Bob", "Ann"]
    assert result.loc[1, "value"] == "Bob"
    assert result.loc[3, "status"] == "missing"


def test_empty_and_all_missing_inputs() -> None:
    for raw in (pd.Series([], dtype="str"), pd.Series([None, "", "  "])):
        for result in (normalise_name(raw), normalise_email(raw), normalise_phone(raw)):
            assert len(result) == len(raw)
            assert (result["status"] == "missing").all()
            assert result["value"].isna().all()


def test_status_counts_and_summary() -> None:
    emails = normalise_email(pd.Series(["a@free.fr", "A@free.fr", "bad", "", "b@free.fr"]))
    assert status_counts(emails) == {"ok": 2, "changed": 1, "invalid": 1, "missing": 1}
    assert list(status_counts(emails)) == [s for s in STATUSES if s in status_counts(emails)]
    table = summary({"email": emails, "name": normalise_name(pd.Series(["X", "y"]))})
    assert table.columns.tolist() == ["field", "status", "count", "share"]
    assert table.groupby("field")["share"].sum().round(9).tolist() == [1.0, 1.0]
    assert table.loc[table["field"] == "name", "count"].sum() == 2


def test_fold() -> None:
    assert fold("Saint-Étienne") == fold("SAINT  ETIENNE") == "saint etienne"
    assert fold("Cœur d'Alène") == "coeur d alene"
