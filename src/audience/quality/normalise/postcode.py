"""French postcodes: five digits, the leading zero a spreadsheet dropped put back.

``1000`` was ``01000`` before a spreadsheet read the column as numbers; ``75 001``,
``F-75001`` and ``75001.0`` are the same code. A well-formed code that La Poste does not
list (a CEDEX code, a typo) is kept but marked ``unknown``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from audience.quality.normalise.core import by_unique
from audience.reference.communes import load_communes

_DECORATION = r"^(?:FRANCE|FR|F)\s*-?\s*|\s+|\.0+$"


def normalise_postcode(raw: pd.Series, *, check_reference: bool = True) -> pd.DataFrame:
    """Normalise French postcodes.

    Parameters
    ----------
    raw:
        Postcodes as imported (text or numbers).
    check_reference:
        Mark codes absent from La Poste's list (the shipped communes reference) as ``unknown``.

    Returns
    -------
    DataFrame on ``raw.index``: ``value`` (five digits, NA when invalid or missing) and
    ``status`` (ok, changed, unknown, invalid, missing).
    """

    def each(distinct: pd.Series) -> pd.DataFrame:
        bare = distinct.str.upper().str.replace(_DECORATION, "", regex=True)
        padded = bare.where(bare.str.len() != 4, "0" + bare)
        good = padded.str.fullmatch(r"\d{5}").to_numpy(dtype=bool)
        value = padded.where(good)
        status = np.where(good, np.where(value == distinct, "ok", "changed"), "invalid")
        if check_reference:
            known = value.isin(known_postcodes()).to_numpy(dtype=bool)
            status[good & ~known] = "unknown"
        return pd.DataFrame({"value": value, "status": status}, dtype="str")

    return by_unique(raw, each, {})


@lru_cache(maxsize=1)
def known_postcodes() -> frozenset[str]:
    """Every postcode La Poste assigns to a commune (CEDEX codes are not in it)."""
    return frozenset(code for codes in load_communes()["postcodes"] for code in codes)
