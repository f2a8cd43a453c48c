"""E-mail normalisation, scored on the demo's planted dirt and checked against email-validator."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from email_validator import EmailNotValidError, validate_email

from audience.errors import ConfigError
from audience.quality.normalise import normalise_email
from audience.quality.normalise.email import fast_path


def _library_accepts(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def test_every_valid_planted_variant_becomes_the_true_address(crm: pd.DataFrame) -> None:
    result = normalise_email(crm["email"], correct_typos=True)
    truly_valid = crm["true_email"].map(_library_accepts)
    planted = crm["email_dirt"].isin(["clean", "case", "spaces", "typo_domain"]) & truly_valid
    assert planted.sum() > 2_500
    assert (result["value"][planted] == crm["true_email"][planted]).all()
    typos = crm["email_dirt"] == "typo_domain"
    assert typos.sum() > 10
    assert (result["status"][typos] == "typo_corrected").all()


def test_invalid_addresses_are_flagged_never_kept(crm: pd.DataFrame) -> None:
    result = normalise_email(crm["email"])
    invalid = crm["email_dirt"] == "invalid"
    assert invalid.sum() > 20
    assert (result["status"][invalid] == "invalid").all()
    assert result["value"][invalid].isna().all()
    # The generator writes a few 'true' addresses with a space in them; no validator takes them.
    unusable_truth = ~crm["true_email"].map(_library_accepts) & (crm["email"] != "")
    assert result["value"][unusable_truth].isna().all()


def test_typos_are_only_flagged_unless_correction_is_asked(crm: pd.DataFrame) -> None:
    result = normalise_email(crm["email"])
    typos = crm["email_dirt"] == "typo_domain"
    assert (result["status"][typos] == "typo_flagged").all()
    assert (result["value"][typos] == crm["email"][typos].str.strip().str.lower()).all()
    assert (result["suggestion"][typos] == crm["true_email"][typos]).all()
    assert result["suggestion"][~typos].isna().all()


def test_statuses_of_plain_cases() -> None:
    raw = pd.Series(["a.b@orange.fr", "  A.B@Orange.FR ", "", None, "a.b@gmial.com", "a@b@c.fr"])
    result = normalise_email(raw)
    assert result["status"].tolist() == [
        "ok",
        "changed",
        "missing",
        "missing",
        "typo_flagged",
        "invalid",
    ]
    assert result["value"].tolist()[:2] == ["a.b@orange.fr", "a.b@orange.fr"]
    assert result["suggestion"][4] == "a.b@gmail.com"


def test_result_keeps_the_input_index() -> None:
    raw = pd.Series(["x@free.fr", "bad"], index=[10, 3])
    result = normalise_email(raw)
    assert result.index.tolist() == [10, 3]
    assert result.loc[3, "status"] == "invalid"


def test_typo_detection_respects_its_settings() -> None:
    raw = pd.Series(["a@gmial.com", "a@mail.com", "a@exemple.fr"])
    off = normalise_email(raw, max_typo_distance=0)
    assert off["status"].tolist() == ["ok", "ok", "ok"]
    default = normalise_email(raw)
    assert default["status"].tolist() == ["typo_flagged", "ok", "ok"]  # mail.com is a real domain
    # Equally close to two known domains: no single correction, so no flag.
    tied = normalise_email(pd.Series(["a@abd.fr"]), common_domains=["abc.fr", "abe.fr"])
    assert tied["status"][0] == "ok"


def test_international_addresses_go_through_the_validator() -> None:
    result = normalise_email(pd.Series(["Élodie@Exemple.fr", "a@xn--bcher-kva.fr"]))
    assert result["value"].tolist() == ["élodie@exemple.fr", "a@bücher.fr"]
    assert result["status"].tolist() == ["changed", "changed"]


def test_negative_typo_distance_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="max_typo_distance"):
        normalise_email(pd.Series(["a@b.fr"]), max_typo_distance=-1)


_GOOD_LOCAL = ["a", "z", "0", "9", "jean", ".", "-", "_", "+"]
_BAD_LOCAL = ["..", "é", " ", '"', "!", "#", "A", "@"]
_GOOD_DOMAIN = ["x", "mail", "0", "-", "."]
_BAD_DOMAIN = ["--", "..", "xn--", "a" * 60, "é", "_", " ", "Z"]
_TLDS = ["fr", "com", "io", "c", "123", "test", "local", "onion", "localhost", "xn--p1ai", ""]


def _random_addresses(n: int, seed: int) -> list[str]:
    """Addresses built from the pieces that trip validators up: dots, dashes, Punycode...

    Each piece is a plain one most of the time, so that many addresses come close to valid.
    """
    rng = random.Random(seed)

    def part(good: list[str], bad: list[str]) -> str:
        pieces = [
            rng.choice(bad if rng.random() < 0.08 else good) for _ in range(rng.randint(1, 6))
        ]
        return "".join(pieces)

    return [
        f"{part(_GOOD_LOCAL, _BAD_LOCAL)}@{part(_GOOD_DOMAIN, _BAD_DOMAIN)}.{rng.choice(_TLDS)}"
        for _ in range(n)
    ]


def test_the_fast_path_accepts_only_what_email_validator_accepts_unchanged() -> None:
    addresses = pd.Series(_random_addresses(40_000, seed=5), dtype="str")
    accepted = addresses[fast_path(addresses).to_numpy()]
    assert len(accepted) > 1_000  # the check below must have something to check
    for address in accepted.unique():
        assert validate_email(address, check_deliverability=False).normalized == address


def test_the_fast_path_takes_the_plain_addresses(crm: pd.DataFrame) -> None:
    clean = crm.loc[crm["email_dirt"] == "clean", "email"].astype("str")
    assert fast_path(clean).mean() > 0.99
