"""Product categories to the configured taxonomy, and the list of what did not map."""

from __future__ import annotations

import pandas as pd
import pytest

from audience.errors import ConfigError
from audience.ingest.demo.personas import CATEGORY_VARIANTS
from audience.quality.normalise import normalise_category, unmapped_values

BARE: dict[str, list[str]] = {
    category: [] for category in CATEGORY_VARIANTS
}  # names only, no synonyms


def _variants() -> tuple[pd.Series, pd.Series]:
    pairs = [(v, c) for c, variants in CATEGORY_VARIANTS.items() for v in (c, *variants)]
    return pd.Series([v for v, _ in pairs]), pd.Series([c for _, c in pairs])


def test_spellings_map_to_their_category_and_synonyms_need_configuring() -> None:
    raw, truth = _variants()
    result = normalise_category(raw, BARE)
    mapped = result["value"].notna()
    assert (result["value"][mapped] == truth[mapped]).all()
    assert raw[~mapped].tolist() == ["Vêtements"]  # a synonym no similarity can find
    with_synonym = normalise_category(raw, {**BARE, "Mode": ["Vêtements"]})
    assert (with_synonym["value"] == truth).all()


def test_statuses() -> None:
    raw = pd.Series(["Beauté", "BEAUTÉ", "Jouet", "Jardin", "", None])
    result = normalise_category(raw, BARE)
    assert result["status"].tolist() == ["ok", "changed", "fuzzy", "unmapped", "missing", "missing"]
    assert result["score"].tolist()[:2] == [100.0, 100.0]
    assert 85 <= result["score"][2] < 100


def test_unmapped_values_are_listed_most_frequent_first() -> None:
    raw = pd.Series(["Jardin", "Mode", "Animalerie", "Jardin ", "jardin", "Jardin"])
    result = normalise_category(raw, BARE)
    listed = unmapped_values(raw, result)
    assert listed.index.tolist() == ["Jardin", "Animalerie", "jardin"]
    assert listed.tolist() == [3, 1, 1]


def test_a_tie_between_categories_is_ambiguous() -> None:
    result = normalise_category(pd.Series(["Sport Maison"]), {"Sport": [], "Maison": []})
    assert result["status"][0] == "ambiguous"


def test_threshold_controls_fuzzy_matches() -> None:
    raw = pd.Series(["Hi-Tech"])
    assert normalise_category(raw, BARE)["value"][0] == "High-Tech"
    assert normalise_category(raw, BARE, min_score=95)["status"][0] == "unmapped"


@pytest.mark.parametrize("taxonomy", [None, {}])
def test_missing_taxonomy_says_what_to_configure(taxonomy: dict[str, list[str]] | None) -> None:
    with pytest.raises(ConfigError, match=r"quality\.taxonomy"):
        normalise_category(pd.Series(["Mode"]), taxonomy)


def test_a_synonym_under_two_categories_is_refused() -> None:
    with pytest.raises(ConfigError, match="both"):
        normalise_category(pd.Series(["Mode"]), {"Mode": ["Déco"], "Maison": ["deco"]})
