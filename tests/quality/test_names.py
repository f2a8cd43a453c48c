"""Person names: casing, particles, accents and the matching key."""

from __future__ import annotations

import pandas as pd
import pytest
from faker.providers.person.fr_FR import Provider as FrenchNames

from audience.quality.normalise import normalise_name

ALL_FRENCH_NAMES = sorted(
    {*FrenchNames.first_names_male, *FrenchNames.first_names_female, *FrenchNames.last_names}
)


def test_shouted_and_whispered_names_get_their_usual_spelling_back() -> None:
    names = pd.Series(ALL_FRENCH_NAMES)
    assert len(names) > 500
    for variant in (names.str.upper(), names.str.lower(), names):
        result = normalise_name(variant)
        assert (result["value"] == names).all(), names[result["value"] != names].tolist()[:5]


def test_records_of_one_person_agree_once_normalised(crm: pd.DataFrame) -> None:
    kept = crm[crm["name_dirt"] != "swapped"]
    first, last = normalise_name(kept["prenom"]), normalise_name(kept["nom"])
    people = pd.DataFrame(
        {"person": kept["person_id"], "first": first["value"], "last": last["value"]}
    )
    spellings = people.groupby("person").nunique()
    repeated = people["person"].value_counts()
    assert (repeated > 1).sum() > 50
    assert (spellings.loc[repeated[repeated > 1].index] == 1).all().all()
    raw_spellings = kept.groupby("person_id")["nom"].nunique()
    assert (raw_spellings > 1).any()  # the raw records did disagree


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("JEAN-PIERRE", "Jean-Pierre"),
        ("jean - pierre", "Jean-Pierre"),
        ("DE LA FONTAINE", "De La Fontaine"),
        ("charles de gaulle", "Charles de Gaulle"),
        ("JEAN D’ORMESSON", "Jean d'Ormesson"),
        ("d'artagnan", "D'Artagnan"),
        ("O'NEILL", "O'Neill"),
        ("ÉLODIE", "Élodie"),
        ("e\u0301lodie", "Élodie"),  # decomposed accent, composed back
        ("McDonald", "McDonald"),  # typed in mixed case: trusted
        ("de Villepin", "de Villepin"),
        ("J.-P.", "J.-P."),
        ("  Anne   Marie ", "Anne Marie"),
    ],
)
def test_name_rules(raw: str, expected: str) -> None:
    assert normalise_name(pd.Series([raw]))["value"][0] == expected


@pytest.mark.parametrize("raw", ["J3an", "dupont@free.fr", "---", "42", "Jean_Pierre"])
def test_names_with_digits_or_symbols_are_invalid(raw: str) -> None:
    result = normalise_name(pd.Series([raw]))
    assert result["status"][0] == "invalid"
    assert pd.isna(result["value"][0])


def test_statuses_and_key() -> None:
    raw = pd.Series(["Hélène", " Hélène", "HELENE", "", None])
    result = normalise_name(raw)
    assert result["status"].tolist() == ["ok", "changed", "changed", "missing", "missing"]
    assert result["key"].tolist()[:3] == ["helene", "helene", "helene"]


def test_particles_are_configurable() -> None:
    raw = pd.Series(["LUDWIG VAN BEETHOVEN"])
    assert normalise_name(raw)["value"][0] == "Ludwig van Beethoven"
    assert normalise_name(raw, particles=["de"])["value"][0] == "Ludwig Van Beethoven"
