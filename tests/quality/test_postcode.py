"""French postcodes: leading zeros put back, decoration removed, checked against La Poste."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from audience.errors import ConfigError
from audience.quality.normalise import normalise_postcode
from audience.quality.normalise import postcode as postcode_module
from audience.reference import communes


def test_every_planted_postcode_is_recovered(crm: pd.DataFrame) -> None:
    result = normalise_postcode(crm["code_postal"])
    present = crm["postcode_dirt"] != "missing"
    assert (crm["postcode_dirt"] == "lost_zero").sum() > 20
    assert (result["value"][present] == crm["true_postcode"][present]).all()
    lost = crm["postcode_dirt"] == "lost_zero"
    assert (result["status"][lost] == "changed").all()
    assert (result["status"][crm["postcode_dirt"] == "clean"] == "ok").all()


@pytest.mark.parametrize(
    ("raw", "value", "status"),
    [
        ("1000", "01000", "changed"),
        (1000, "01000", "changed"),  # read as a number by a spreadsheet
        (75001.0, "75001", "changed"),
        ("75 001", "75001", "changed"),
        ("F-75001", "75001", "changed"),
        ("75001", "75001", "ok"),
        ("99999", "99999", "unknown"),  # well formed, but no commune has it
        ("7500A", None, "invalid"),
        ("750", None, "invalid"),
        ("", None, "missing"),
    ],
)
def test_postcode_rules(raw: object, value: str | None, status: str) -> None:
    result = normalise_postcode(pd.Series([raw], dtype=object))
    assert result["status"][0] == status
    assert (pd.isna(result["value"][0]) and value is None) or result["value"][0] == value


def test_reference_check_can_be_skipped() -> None:
    assert normalise_postcode(pd.Series(["99999"]), check_reference=False)["status"][0] == "ok"


def test_missing_reference_file_says_to_reinstall(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(communes, "_DATA", tmp_path / communes.DATA_FILE)
    monkeypatch.setattr(postcode_module, "load_communes", communes.load_communes.__wrapped__)
    monkeypatch.setattr(
        postcode_module, "known_postcodes", postcode_module.known_postcodes.__wrapped__
    )
    with pytest.raises(ConfigError, match=r"missing or damaged \(.*\); reinstall audience"):
        normalise_postcode(pd.Series(["75001"]))
