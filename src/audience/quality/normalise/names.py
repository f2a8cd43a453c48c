"""Person names: one casing, composed accents, particles in lower case, a matching key.

CRM exports shout (``DUPONT``), whisper (``jean-pierre``) or arrive as typed. A name typed in
mixed case is kept as its owner wrote it (``McDonald``, ``de Villepin``): only names written
all upper or all lower are re-cased, because only those have lost information we can
restore by rule. Re-casing capitalises each part (``Jean-Pierre``, ``O'Neill``) and keeps
particles such as *de*, *du*, *d'* in lower case when they follow another word
(``Charles de Gaulle``); a particle that opens the field is capitalised (``Da Silva``), as a
surname standing alone is written. Accents cannot be put back on ``HELENE`` by rule; the
``key`` column (lower case, no accents, no punctuation) lets records match regardless.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import pandas as pd

from audience.quality.normalise.core import by_unique, fold

PARTICLES: tuple[str, ...] = (
    "de",
    "du",
    "des",
    "d'",
    "da",
    "das",
    "do",
    "dos",
    "di",
    "del",
    "della",
    "van",
    "von",
    "der",
    "den",
    "ten",
    "ter",
    "y",
    "e",
)
"""Words written in lower case inside a name (Portuguese, Italian, Dutch, German too)."""

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
_ALLOWED = re.compile(r"^[^\W\d_]+(?:(?:\.?[ '\-]|\.)[^\W\d_]+)*\.?$")
_PARTS = re.compile(r"([ '\-])")


def normalise_name(raw: pd.Series, *, particles: Iterable[str] = PARTICLES) -> pd.DataFrame:
    """Normalise first or last names.

    Parameters
    ----------
    raw:
        Names as imported.
    particles:
        Words kept in lower case when they follow another word; write elided ones with
        their apostrophe (``d'``).

    Returns
    -------
    DataFrame on ``raw.index``: ``value`` (NA when missing or invalid), ``status`` (ok,
    changed, invalid, missing) and ``key`` (lower-case ASCII words, for matching). A name
    is invalid when it holds digits or symbols other than spaces, hyphens, apostrophes and
    initials' dots.
    """
    lower_particles = frozenset(p.lower() for p in particles)

    def each(distinct: pd.Series) -> pd.DataFrame:
        cleaned = [_clean(str(text)) for text in distinct]
        values = [
            (text if _mixed_case(text) else _recase(text, lower_particles))
            if _ALLOWED.match(text)
            else None
            for text in cleaned
        ]
        status = [
            "invalid" if v is None else ("ok" if v == d else "changed")
            for v, d in zip(values, distinct, strict=True)
        ]
        keys = [None if v is None else fold(v) for v in values]
        return pd.DataFrame({"value": values, "status": status, "key": keys}, dtype="str")

    return by_unique(raw, each, {"key": "str"})


def _clean(text: str) -> str:
    """Composed accents, straight apostrophes, single spaces, no spaces around hyphens."""
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
    text = " ".join(text.split())
    return re.sub(r"\s*([\-'])\s*", r"\1", text)


def _mixed_case(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return any(c.isupper() for c in letters) and any(c.islower() for c in letters)


def _recase(text: str, particles: frozenset[str]) -> str:
    pieces = _PARTS.split(text.lower())
    out: list[str] = []
    for i in range(0, len(pieces), 2):
        word = pieces[i]
        after = pieces[i + 1] if i + 1 < len(pieces) else ""
        as_particle = word + "'" if after == "'" else word
        first = i == 0
        out.append(word if not first and as_particle in particles else word[:1].upper() + word[1:])
        out.append(after)
    return "".join(out)
