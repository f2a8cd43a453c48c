"""Product categories to the taxonomy of ``audience.yaml``, with the list of what did not map.

Order lines spell one category many ways (``Beauté``, ``beaute``, ``BEAUTÉ``) and some
use a synonym (``Vêtements`` for ``Mode``). The taxonomy names each canonical category
and its synonyms; a category is looked up by its folded key (case, accents and
punctuation ignored), then by similarity with rapidfuzz. What still does not map is
``unmapped``: :func:`unmapped_values` lists it, most frequent first, so that someone can
add the synonyms to the taxonomy rather than the code guessing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from audience.errors import ConfigError
from audience.quality.normalise.core import by_unique, fold

Taxonomy = Mapping[str, Sequence[str]]
"""Canonical category -> its synonyms."""


def normalise_category(
    raw: pd.Series, taxonomy: Taxonomy | None, *, min_score: float = 85.0
) -> pd.DataFrame:
    """Map product categories to the configured taxonomy.

    Parameters
    ----------
    raw:
        Categories as imported.
    taxonomy:
        Canonical category -> synonyms (``{"Mode": ["Vêtements", "Habillement"]}``);
        ``quality.taxonomy`` in ``audience.yaml``.
    min_score:
        Least rapidfuzz ``WRatio`` (0-100) for a fuzzy match. WRatio also scores a
        category that contains a known one (``Maison & Déco`` for ``Maison``).

    Returns
    -------
    DataFrame on ``raw.index``: ``value`` (canonical category, NA when unmapped),
    ``status`` (ok, changed, fuzzy, ambiguous, unmapped, missing) and ``score``.

    Raises
    ------
    ConfigError
        When no taxonomy is configured, or two categories claim the same synonym.
    """
    lookup = _lookup(taxonomy)
    if not 0 <= min_score <= 100:
        raise ConfigError(
            f"category min_score must be between 0 and 100, got {min_score}; "
            "set quality.category_min_score in audience.yaml"
        )
    keys = list(lookup)

    def each(distinct: pd.Series) -> pd.DataFrame:
        folded = [fold(str(text)) for text in distinct]
        value = np.array([lookup.get(k) for k in folded], dtype=object)
        status = np.where(pd.isna(value), "unmapped", "exact").astype(object)
        score = np.where(pd.isna(value), np.nan, 100.0)
        pending = np.flatnonzero(pd.isna(value) & np.array([bool(k) for k in folded]))
        if len(pending) and keys:
            similarity = process.cdist(
                [folded[i] for i in pending], keys, scorer=fuzz.WRatio, score_cutoff=min_score
            )
            for i, line in zip(pending, similarity, strict=True):
                top = line.max()
                if top <= 0:
                    continue
                winners = {lookup[keys[k]] for k in np.flatnonzero(line == top)}
                value[i] = sorted(winners)[0]
                status[i] = "fuzzy" if len(winners) == 1 else "ambiguous"
                score[i] = float(top)
        exact = status == "exact"
        same = np.asarray(distinct.to_numpy(dtype=object) == value, dtype=bool)
        status[exact] = np.where(same[exact], "ok", "changed")
        return pd.DataFrame({"value": value, "status": status, "score": score})

    return by_unique(raw, each, {"score": "float64"})


def unmapped_values(raw: pd.Series, result: pd.DataFrame) -> pd.Series:
    """Raw categories that did not map, with their row counts, most frequent first.

    This is the list to extend the taxonomy from (the quality report shows it).
    """
    unmapped = raw[(result["status"] == "unmapped").to_numpy(dtype=bool)]
    return unmapped.astype("str").str.strip().value_counts()


def _lookup(taxonomy: Taxonomy | None) -> dict[str, str]:
    """Folded name or synonym -> canonical category."""
    if not taxonomy:
        raise ConfigError(
            "no product category taxonomy is configured; add quality.taxonomy to "
            "audience.yaml, e.g. 'Mode: [Vêtements, Habillement]' (canonical: synonyms)"
        )
    lookup: dict[str, str] = {}
    for canonical, synonyms in taxonomy.items():
        if isinstance(synonyms, str):
            synonyms = [synonyms]
        for name in (canonical, *synonyms):
            key = fold(name)
            if lookup.get(key, canonical) != canonical:
                raise ConfigError(
                    f"category taxonomy: {name!r} is listed under both {lookup[key]!r} and "
                    f"{canonical!r}; keep it under one in audience.yaml quality.taxonomy"
                )
            if key:
                lookup[key] = canonical
    return lookup
