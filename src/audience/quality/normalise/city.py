"""French cities to their commune: canonical name, INSEE code, department and region.

The reference is INSEE's list of communes with La Poste's postcodes, shipped with the
package (see :mod:`audience.quality.normalise.city_reference`). A city as typed
is folded to a key (:func:`city_key`) and looked up exactly; a key no commune at the
record's postcode has is matched by similarity with rapidfuzz among that postcode's
communes, else among all sizeable communes with a stricter threshold. Several communes
share a name (there are about thirty Saint-Martin): the postcode picks one, else its
department; when neither decides, the most populous is returned and the row marked
``ambiguous``.

Matching runs once per distinct (city, postcode) pair: a million customers live in a few
tens of thousands of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from audience.errors import ConfigError
from audience.quality.normalise.city_reference import (
    COMMUNE_COLUMNS,
    CityReference,
    city_key,
    city_reference,
    postcode_prefix,
)
from audience.quality.normalise.core import as_text, broadcast, empty_result
from audience.quality.normalise.postcode import normalise_postcode

__all__ = ["city_key", "normalise_city"]

_SEPARATOR = "\x1f"
_CHUNK = 500  # queries per similarity matrix: 500 x <33,000 float32, 66 MB at most
_EXTRA = {**COMMUNE_COLUMNS, "score": "float64", "postcode_match": "boolean"}


def normalise_city(
    city: pd.Series,
    postcode: pd.Series | None = None,
    *,
    min_score: float = 85.0,
    min_score_in_postcode: float = 75.0,
    min_population: float = 2_000,
) -> pd.DataFrame:
    """Map French city names to communes.

    Parameters
    ----------
    city:
        City names as typed.
    postcode:
        Postcodes on the same index, in any format :func:`normalise_postcode` reads; they
        break ties between homonyms and narrow the fuzzy search.
    min_score:
        Least rapidfuzz ratio (0-100) to accept a fuzzy match without the help of the
        postcode (none given, or none of its communes is close).
    min_score_in_postcode:
        Least ratio to accept a fuzzy match among the communes of the record's postcode,
        where a handful of names compete instead of 35,000.
    min_population:
        Without the postcode's help, only communes this populous are fuzzy candidates: a
        typo of Toulouse is far likelier than the exact name of a hamlet, and foreign
        cities ('Berlin') would otherwise land on one ('Berling', 400 inhabitants).

    Returns
    -------
    DataFrame on ``city.index``: ``value`` (canonical name), ``status`` (ok, changed, fuzzy,
    ambiguous, unmapped, missing), ``insee``, ``name``, ``dep_code``, ``dep_name``,
    ``region``, ``score`` (100 for an exact key, the ratio for a fuzzy match) and
    ``postcode_match`` (whether the postcode is one of the commune's; NA without one).
    """
    thresholds = {"min_score": min_score, "min_score_in_postcode": min_score_in_postcode}
    for label, bound in thresholds.items():
        if not 0 <= bound <= 100:
            raise ConfigError(
                f"city {label} must be between 0 and 100, got {bound}; "
                f"set quality.city_{label} in audience.yaml"
            )
    reference = city_reference()
    text = as_text(city)
    codes = pd.Series("", index=city.index, dtype="str")
    if postcode is not None:
        codes = normalise_postcode(postcode, check_reference=False)["value"].fillna("")
    index, distinct = pd.factorize(text + _SEPARATOR + codes, use_na_sentinel=True)
    if len(distinct) == 0:
        return empty_result(city.index, _EXTRA)
    parts = pd.Series(distinct, dtype="str").str.split(_SEPARATOR, n=1, expand=True)
    matcher = _Matcher(reference, min_score, min_score_in_postcode, min_population)
    found = matcher.resolve(parts[0].tolist(), parts[1].fillna("").tolist())
    result = broadcast(_per_pair(found, reference), index, city.index, _EXTRA)
    exact = (result["status"] == "exact").to_numpy(dtype=bool)
    same = city.astype("str").to_numpy(dtype=object) == result["value"].to_numpy(dtype=object)
    result.loc[exact, "status"] = np.where(same[exact], "ok", "changed")
    return result


class _Matcher:
    """Resolves distinct (city, postcode) pairs to commune rows of the reference."""

    def __init__(
        self,
        reference: CityReference,
        min_score: float,
        min_in_postcode: float,
        min_population: float,
    ):
        self.ref = reference
        self.min_score = min_score
        self.min_in_postcode = min_in_postcode
        populous = reference.population >= min_population
        self.national_keys = [
            key for key, rows in reference.rows_of_key.items() if populous[list(rows)].any()
        ]

    def resolve(self, cities: Sequence[str], postcodes: Sequence[str]) -> pd.DataFrame:
        """Row (-1 when unmapped), status, score and postcode agreement of each pair."""
        n = len(cities)
        rows = np.full(n, -1, dtype=np.int64)
        status = np.full(n, "unmapped", dtype=object)
        score = np.full(n, np.nan)
        keys = [city_key(c) for c in cities]
        national: list[int] = []
        for i, (key, code) in enumerate(zip(keys, postcodes, strict=True)):
            exact = self.ref.rows_of_key.get(key)
            if exact and (not code or any(code in self.ref.postcodes[r] for r in exact)):
                rows[i], ambiguous = self._tie_break(exact, code)
                status[i], score[i] = ("ambiguous" if ambiguous else "exact"), 100.0
            elif key and self._near_postcode(i, key, code, rows, status, score):
                # A near name at the postcode beats an exact name elsewhere: 'Changy, 71150'
                # is Chagny (71150) mistyped more likely than Changy (71120) misaddressed.
                continue
            elif exact:
                rows[i], ambiguous = self._tie_break(exact, code)
                status[i], score[i] = ("ambiguous" if ambiguous else "exact"), 100.0
            elif key:
                national.append(i)
        for start in range(0, len(national), _CHUNK):
            self._nationally(national[start : start + _CHUNK], keys, postcodes, rows, status, score)
        matched = [
            bool(code) and r >= 0 and code in self.ref.postcodes[r]
            for r, code in zip(rows, postcodes, strict=True)
        ]
        agree = pd.array(matched, dtype="boolean")
        agree[np.array([not c for c in postcodes], dtype=bool) | (rows < 0)] = pd.NA
        return pd.DataFrame({"row": rows, "status": status, "score": score, "agree": agree})

    def _near_postcode(
        self, i: int, key: str, code: str, rows: np.ndarray, status: np.ndarray, score: np.ndarray
    ) -> bool:
        """Fuzzy match among the communes of the postcode; whether one was accepted."""
        local = self.ref.rows_of_postcode.get(code)
        if not local:
            return False
        choices = [self.ref.key_of_row[r] for r in local]
        scores = process.cdist([key], choices, scorer=fuzz.ratio, dtype=np.float32)[0]
        top = float(scores.max())
        if top < self.min_in_postcode:
            return False
        tied = [local[k] for k in np.flatnonzero(scores == top)]
        rows[i], ambiguous = self._tie_break(tied, code)
        status[i], score[i] = ("ambiguous" if ambiguous else "fuzzy"), top
        return True

    def _nationally(
        self,
        chunk: list[int],
        keys: list[str],
        postcodes: Sequence[str],
        rows: np.ndarray,
        status: np.ndarray,
        score: np.ndarray,
    ) -> None:
        """Fuzzy match among all communes; equal best keys are settled like homonyms."""
        if not self.national_keys:
            return
        similarity = process.cdist(
            [keys[i] for i in chunk],
            self.national_keys,
            scorer=fuzz.ratio,
            score_cutoff=self.min_score,
            dtype=np.float32,
            workers=-1,
        )
        best = similarity.max(axis=1)
        for i, line, top in zip(chunk, similarity, best, strict=True):
            if top <= 0:
                continue
            tied = np.flatnonzero(line == top)
            candidates = [r for k in tied for r in self.ref.rows_of_key[self.national_keys[k]]]
            rows[i], ambiguous = self._tie_break(candidates, postcodes[i])
            status[i], score[i] = ("ambiguous" if ambiguous else "fuzzy"), float(top)

    def _tie_break(self, candidates: Sequence[int], code: str) -> tuple[int, bool]:
        """One commune among homonyms: by postcode, then department, then population.

        Returns the row and whether the choice fell to population (ambiguous).
        """
        if len(candidates) == 1:
            return candidates[0], False
        pool = list(candidates)
        if code:
            same_code = [r for r in pool if code in self.ref.postcodes[r]]
            prefix = postcode_prefix(code)
            same_dep = [r for r in pool if prefix in self.ref.prefixes[r]]
            for narrowed in (same_code, same_dep):
                if len(narrowed) == 1:
                    return narrowed[0], False
                if narrowed:
                    pool = narrowed
                    break
        populations = self.ref.population[pool]
        return pool[int(np.argmax(populations))], True


def _per_pair(found: pd.DataFrame, reference: CityReference) -> pd.DataFrame:
    """The result columns of each distinct pair, commune attributes included."""
    rows = found["row"].to_numpy()
    communes = reference.communes.take(np.maximum(rows, 0)).reset_index(drop=True)
    communes = communes.where(pd.Series(rows >= 0), None)
    return pd.concat(
        [
            pd.DataFrame({"value": communes["name"], "status": found["status"]}),
            communes,
            pd.DataFrame({"score": found["score"], "postcode_match": found["agree"]}),
        ],
        axis=1,
    )
