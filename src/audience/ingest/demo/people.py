"""People and their CRM records: clean truth first, then the dirt a real export carries.

Every person gets a primary record; some get a planted duplicate written differently. What
was planted in each record is kept in the ground truth so that cleaning can be scored.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
from faker.providers.person.fr_FR import Provider as FrenchNames

from audience.reference.communes import load_communes

EMAIL_DOMAINS = np.array(
    [
        "gmail.com",
        "orange.fr",
        "free.fr",
        "hotmail.fr",
        "laposte.net",
        "sfr.fr",
        "yahoo.fr",
        "wanadoo.fr",
        "outlook.fr",
        "icloud.com",
    ]
)
DOMAIN_WEIGHTS = np.array([0.34, 0.16, 0.1, 0.1, 0.06, 0.06, 0.06, 0.04, 0.05, 0.03])
DOMAIN_TYPOS = {
    "gmail.com": "gmial.com",
    "hotmail.fr": "hotmial.fr",
    "orange.fr": "ornage.fr",
    "yahoo.fr": "yaho.fr",
    "outlook.fr": "outlok.fr",
}


def ascii_fold(text: str) -> str:
    """'Éloïse' -> 'Eloise': what people type in e-mail addresses."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


@dataclass(frozen=True)
class People:
    """The true attributes of each person (index = person id)."""

    frame: pd.DataFrame


def draw_people(
    rng: np.random.Generator, personas: np.ndarray, ages: np.ndarray, end: pd.Timestamp
) -> People:
    """Draw names, contact details, birth date and city for every person."""
    n = len(personas)
    male = rng.random(n) < 0.5
    males = np.array(list(FrenchNames.first_names_male))
    females = np.array(list(FrenchNames.first_names_female))
    first = np.where(
        male, males[rng.integers(0, len(males), n)], females[rng.integers(0, len(females), n)]
    )
    lasts = np.array(list(FrenchNames.last_names))
    last = lasts[rng.integers(0, len(lasts), n)]
    birth = end.normalize() - pd.to_timedelta(ages * 365.25 + rng.integers(0, 365, n), unit="D")

    communes = load_communes()
    communes = communes[communes["population"].notna() & (communes["postcodes"].map(len) > 0)]
    communes = communes.nlargest(3000, "population").reset_index(drop=True)
    weights = communes["population"].to_numpy() ** 0.8
    city_idx = rng.choice(len(communes), size=n, p=weights / weights.sum())
    postcodes = communes["postcodes"].to_numpy()
    postcode = [postcodes[i][rng.integers(0, len(postcodes[i]))] for i in city_idx]

    folded_first = {name: ascii_fold(name).lower().replace(" ", "") for name in set(first)}
    folded_last = {name: ascii_fold(name).lower().replace(" ", "") for name in set(last)}
    domain = EMAIL_DOMAINS[rng.choice(len(EMAIL_DOMAINS), size=n, p=DOMAIN_WEIGHTS)]
    style = rng.integers(0, 4, n)
    number = rng.integers(1, 10_000, n)
    emails = [
        _email_local(folded_first[f], folded_last[la], s, k) + "@" + d
        for f, la, s, k, d in zip(first, last, style, number, domain, strict=True)
    ]
    emails = _unique(emails, np.arange(n))
    national = _mobile_numbers(rng, n)
    national = _unique_numbers(national, rng)

    frame = pd.DataFrame(
        {
            "persona": personas,
            "gender": np.where(male, "M", "F"),
            "first_name": first,
            "last_name": last,
            "birth_date": birth,
            "email": emails,
            "phone_national": national,
            "phone_e164": ["+33" + str(x) for x in national],
            "city_insee": communes["insee"].to_numpy()[city_idx],
            "city_name": communes["name"].to_numpy()[city_idx],
            "postcode": postcode,
        }
    )
    return People(frame)


def _email_local(first: str, last: str, style: int, number: int) -> str:
    if style == 0:
        return f"{first}.{last}"
    if style == 1:
        return f"{first[:1]}.{last}{number % 100}"
    if style == 2:
        return f"{first}{last}{number}"
    return f"{last}.{first}{number % 1000}"


def _unique(values: list[str], ids: np.ndarray) -> list[str]:
    """Make e-mail addresses unique per person by adding the person id where they collide."""
    seen: set[str] = set()
    out = []
    for value, pid in zip(values, ids, strict=True):
        if value in seen:
            local, domain = value.split("@")
            value = f"{local}.{pid}@{domain}"
        seen.add(value)
        out.append(value)
    return out


# Allocated French mobile ranges (06 0-2, 06 4-8, 07 3-9): numbers outside them are not
# valid, and a planted "valid" number must be one.
_MOBILE_PREFIXES = np.array([60, 61, 62, 64, 65, 66, 67, 68, 73, 74, 75, 76, 77, 78, 79])


def _mobile_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """National significant numbers of French mobiles (9 digits), distinct."""
    prefix = _MOBILE_PREFIXES[rng.integers(0, len(_MOBILE_PREFIXES), n)]
    return _unique_numbers(prefix * 10_000_000 + rng.integers(0, 10_000_000, n), rng)


def _unique_numbers(numbers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    numbers = numbers.astype(np.int64)
    while True:
        _, first_index = np.unique(numbers, return_index=True)
        clash = np.ones(len(numbers), dtype=bool)
        clash[first_index] = False
        if not clash.any():
            return numbers
        redraw = _MOBILE_PREFIXES[rng.integers(0, len(_MOBILE_PREFIXES), int(clash.sum()))]
        numbers[clash] = redraw * 10_000_000 + rng.integers(0, 10_000_000, int(clash.sum()))
