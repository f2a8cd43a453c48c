"""The communes reference indexed for matching: folded keys, postcodes, departments.

Built once per process from the communes reference shipped with the package
(:mod:`audience.reference.communes`, about a second) and cached; nothing is loaded at import
time. A missing or damaged reference file raises :class:`~audience.errors.ConfigError`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from audience.quality.normalise.core import fold
from audience.reference.communes import load_communes

COMMUNE_COLUMNS: dict[str, str] = {
    "insee": "str",
    "name": "str",
    "dep_code": "str",
    "dep_name": "str",
    "region": "str",
}
"""Columns a matched commune contributes to the result, with their dtype."""

_ARTICLE_AFTER = re.compile(r"^(.+?)\s*(?:\(\s*(les?|la|l')\s*\)|,\s*(les?|la|l'))$", re.I)
_ON = re.compile(r"\bs/\s*", re.I)  # 'Boulogne s/ Mer'
_CEDEX = re.compile(r"\s+cedex(?:\s+\d{1,3})?$")
_ARRONDISSEMENT = re.compile(
    r"^(paris|lyon|marseille)\s+\d{1,2}\s*(?:e|er|eme|ieme)?(?:\s+arrondissement)?$"
)
_SAINTS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}


def city_key(text: str) -> str:
    """The key two spellings of one commune share.

    ``St-Etienne``, ``saint etienne`` and ``ST ETIENNE`` all give ``saint etienne``;
    ``Havre (Le)`` gives ``le havre``; ``Lyon 3e``, ``Lyon Cedex 03`` give ``lyon``.
    """
    moved = _ARTICLE_AFTER.match(text.strip())
    if moved:
        text = f"{moved[2] or moved[3]} {moved[1]}"
    key = _CEDEX.sub("", fold(_ON.sub("sur ", text)))
    key = " ".join(_SAINTS.get(word, word) for word in key.split())
    arrondissement = _ARRONDISSEMENT.match(key)
    return arrondissement[1] if arrondissement else key


def postcode_prefix(postcode: str) -> str:
    """The department part of a postcode: three digits overseas (97x, 98x), else two."""
    return postcode[:3] if postcode[:2] in ("97", "98") else postcode[:2]


@dataclass(frozen=True)
class CityReference:
    """Communes (positional rows) and the lookups matching needs."""

    communes: pd.DataFrame
    """insee, name, dep_code, dep_name, region; one row per commune, positions 0..n-1."""
    population: np.ndarray
    postcodes: tuple[frozenset[str], ...]
    prefixes: tuple[frozenset[str], ...]
    key_of_row: tuple[str, ...]
    rows_of_key: dict[str, tuple[int, ...]]
    rows_of_postcode: dict[str, tuple[int, ...]]


@lru_cache(maxsize=1)
def city_reference() -> CityReference:
    """The cached reference; the first call reads the shipped communes file."""
    communes = load_communes().reset_index(drop=True)
    names = communes["name"].tolist()
    key_of_row = tuple(city_key(name) for name in names)
    rows_of_key: dict[str, list[int]] = defaultdict(list)
    for row, (name, key) in enumerate(zip(names, key_of_row, strict=True)):
        rows_of_key[key].append(row)
        # Systems that strip what is not ASCII turn 'Annœullin' into 'Annullin'.
        stripped = city_key(re.sub("[œŒæÆ]", "", name))
        if stripped != key:
            rows_of_key[stripped].append(row)
    rows_of_postcode: dict[str, list[int]] = defaultdict(list)
    for row, codes in enumerate(communes["postcodes"]):
        for code in codes:
            rows_of_postcode[code].append(row)
    postcodes = tuple(frozenset(codes) for codes in communes["postcodes"])
    return CityReference(
        communes=communes[list(COMMUNE_COLUMNS)].astype("str"),
        population=communes["population"].fillna(0).to_numpy(dtype=float),
        postcodes=postcodes,
        prefixes=tuple(frozenset(postcode_prefix(c) for c in codes) for codes in postcodes),
        key_of_row=key_of_row,
        rows_of_key={key: tuple(rows) for key, rows in rows_of_key.items()},
        rows_of_postcode={code: tuple(rows) for code, rows in rows_of_postcode.items()},
    )
