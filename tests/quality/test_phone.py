"""Phone normalisation: the demo's planted formats, and equivalence with phonenumbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import phonenumbers
import pytest

from audience.errors import ConfigError
from audience.quality.normalise import normalise_phone
from audience.quality.normalise.phone import french_fast_path


def _library(text: str, region: str = "FR") -> str | None:
    """What phonenumbers itself says: the E.164 form of a valid number, else None."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_every_valid_planted_variant_becomes_the_true_number(crm: pd.DataFrame) -> None:
    result = normalise_phone(crm["telephone"])
    truly_valid = crm["true_phone"].map(lambda p: _library(p) is not None)
    planted = ~crm["phone_dirt"].isin(["invalid", "missing"]) & truly_valid
    assert planted.sum() > 1_500
    assert (result["value"][planted] == crm["true_phone"][planted]).all()
    assert set(result["status"][planted]) <= {"ok", "changed"}


def test_invalid_numbers_are_flagged_never_kept(crm: pd.DataFrame) -> None:
    result = normalise_phone(crm["telephone"])
    invalid = crm["phone_dirt"] == "invalid"
    assert invalid.sum() > 10
    assert (result["status"][invalid] == "invalid").all()
    # A 'true' number in a range no operator holds is not valid either.
    unassigned = crm["true_phone"].map(lambda p: _library(p) is None) & (crm["telephone"] != "")
    assert (result["status"][unassigned] == "invalid").all()
    assert result["value"][result["status"] == "invalid"].isna().all()
    assert (result["status"][crm["phone_dirt"] == "missing"] == "missing").all()


def _numbers(n: int, seed: int) -> list[str]:
    """French-looking numbers in every plain and awkward format, valid or not."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        length = int(rng.choice([9, 9, 9, 9, 8, 10]))
        digits = str(rng.integers(1, 10)) + "".join(map(str, rng.integers(0, 10, length - 1)))
        prefix = str(rng.choice(["0", "0", "", "+33", "0033", "+33 ", "33", "+330", "00", "+44"]))
        sep = str(rng.choice(["", " ", ".", "-", "  ", " - ", "/", "(0)"]))
        pairs = [digits[i : i + 2] for i in range(0, len(digits), 2)]
        out.append(prefix + sep.join(pairs))
    return out


def test_results_match_phonenumbers_number_by_number() -> None:
    raw = pd.Series(_numbers(15_000, seed=1), dtype="str")
    _, fast = french_fast_path(raw)
    assert fast.mean() > 0.25  # thousands go the vectorised way; the rest, the fallback
    result = normalise_phone(raw)
    expected = raw.map(_library)
    mismatch = result["value"].fillna("") != expected.fillna("")
    assert not mismatch.any(), raw[mismatch].head().tolist()
    assert expected.notna().sum() > 3_000
    assert expected.isna().sum() > 3_000


def test_other_regions_and_international_numbers() -> None:
    raw = pd.Series(["0470 12 34 56", "+44 20 7946 0958", "+33 6 12 34 56 78"])
    belgian = normalise_phone(raw, region="be")
    assert belgian["value"].tolist() == ["+32470123456", "+442079460958", "+33612345678"]
    french = normalise_phone(raw)
    assert french["value"].tolist()[1:] == ["+442079460958", "+33612345678"]


def test_numbers_in_unallocated_ranges_are_invalid() -> None:
    raw = pd.Series(["07 01 23 45 67", "+33 7 01 23 45 67", "06 91 23 45 67", "07 81 23 45 67"])
    result = normalise_phone(raw)
    assert result["status"].tolist() == ["invalid", "invalid", "invalid", "changed"]


def test_status_ok_only_when_already_e164() -> None:
    result = normalise_phone(pd.Series(["+33612345678", "06 12 34 56 78", " ", None]))
    assert result["status"].tolist() == ["ok", "changed", "missing", "missing"]


def test_unknown_region_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="default_region"):
        normalise_phone(pd.Series(["0612345678"]), region="XX")
