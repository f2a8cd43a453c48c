"""French cities to communes, scored on the demo's planted spellings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from audience.errors import ConfigError
from audience.quality.normalise import city as city_module
from audience.quality.normalise import city_key, normalise_city
from audience.quality.normalise import city_reference as reference_module
from audience.reference import communes

VARIANTS = ["upper", "upper_ascii", "lower_ascii", "abbreviated", "typo"]


def test_planted_variants_map_to_the_right_commune(crm: pd.DataFrame) -> None:
    result = normalise_city(crm["ville"], crm["code_postal"])
    right = result["insee"] == crm["true_city_insee"]
    planted = crm["city_dirt"].isin(VARIANTS)
    assert planted.sum() > 500
    assert right[planted].mean() >= 0.97
    for variant in VARIANTS:  # no kind of dirt left behind
        assert right[crm["city_dirt"] == variant].mean() >= 0.9, variant
    assert right[crm["city_dirt"] == "clean"].mean() >= 0.99
    assert (result["status"][crm["city_dirt"] == "missing"] == "missing").all()


def test_wrong_communes_are_never_claimed_with_confidence(crm: pd.DataFrame) -> None:
    result = normalise_city(crm["ville"], crm["code_postal"])
    wrong = result["insee"].notna() & (result["insee"] != crm["true_city_insee"])
    assert (result["status"][wrong] == "ambiguous").all()


@pytest.mark.parametrize("typed", ["St-Etienne", "saint etienne", "ST ETIENNE", "Saint-Étienne"])
def test_saint_etienne_however_typed(typed: str) -> None:
    row = normalise_city(pd.Series([typed])).iloc[0]
    assert (row["value"], row["dep_code"], row["region"]) == (
        "Saint-Étienne",
        "42",
        "Auvergne-Rhône-Alpes",
    )
    assert row["insee"] == "42218"
    assert row["status"] == ("ok" if typed == "Saint-Étienne" else "changed")


def test_postcode_breaks_ties_between_homonyms() -> None:
    cities = pd.Series(["Saint-Denis", "Saint-Denis", "Saint-Denis"])
    result = normalise_city(cities, pd.Series(["93200", "97400", None]))
    assert result["dep_code"].tolist()[:2] == ["93", "974"]
    assert result["status"].tolist() == ["ok", "ok", "ambiguous"]
    assert result["postcode_match"].tolist()[:2] == [True, True]
    assert pd.isna(result["postcode_match"][2])


def test_postcode_guides_fuzzy_matches() -> None:
    result = normalise_city(pd.Series(["Sanit-Etinne", "LeVal"]), pd.Series(["42000", "83143"]))
    assert result["insee"].tolist() == ["42218", "83143"]
    assert result["status"].tolist() == ["fuzzy", "fuzzy"]
    assert (result["score"] < 100).all()


def test_a_near_name_at_the_postcode_beats_an_exact_name_elsewhere() -> None:
    # Changy exists (71120), but 71150 is Chagny's postcode: a swapped pair of letters.
    result = normalise_city(pd.Series(["Changy", "Changy"]), pd.Series(["71150", "71120"]))
    assert result["value"].tolist() == ["Chagny", "Changy"]
    assert result["status"].tolist() == ["fuzzy", "ok"]
    assert result["postcode_match"].tolist() == [True, True]


def test_typos_without_postcode_only_reach_sizeable_communes() -> None:
    typed = pd.Series(["Touluose", "Marseile", "Berlin", "Bruxelles", "Milan", "New York"])
    result = normalise_city(typed)
    assert result["value"].tolist()[:2] == ["Toulouse", "Marseille"]
    assert result["status"].tolist() == ["fuzzy", "fuzzy", *["unmapped"] * 4]
    assert result["insee"][2:].isna().all()


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Havre (Le)", "le havre"),
        ("Lyon Cedex 03", "lyon"),
        ("PARIS 15E ARRONDISSEMENT", "paris"),
        ("Boulogne s/ Mer", "boulogne sur mer"),
        ("Ste-Foy-lès-Lyon", "sainte foy les lyon"),
        ("L'Haÿ-les-Roses", "l hay les roses"),
    ],
)
def test_city_keys(typed: str, key: str) -> None:
    assert city_key(typed) == key


def test_ascii_stripped_ligatures_still_match() -> None:
    result = normalise_city(pd.Series(["ANNULLIN", "annoeullin"]))
    assert result["value"].tolist() == ["Annœullin", "Annœullin"]


def test_thresholds_are_checked() -> None:
    with pytest.raises(ConfigError, match="min_score"):
        normalise_city(pd.Series(["Lyon"]), min_score=120)


def test_missing_reference_file_says_to_reinstall(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(communes, "_DATA", tmp_path / communes.DATA_FILE)
    monkeypatch.setattr(reference_module, "load_communes", communes.load_communes.__wrapped__)
    monkeypatch.setattr(city_module, "city_reference", reference_module.city_reference.__wrapped__)
    with pytest.raises(ConfigError, match=r"missing or damaged \(.*\); reinstall audience"):
        normalise_city(pd.Series(["Lyon"]))
