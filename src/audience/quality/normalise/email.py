"""E-mail addresses: trimmed, lower-cased, syntax checked offline, domain typos caught.

The syntax check is email-validator's (``check_deliverability=False``: no DNS, no network).
Calling it on a million addresses takes about a minute, so a strict pattern accepts the
plain addresses first, all at once: it only accepts what email-validator accepts and
normalises to the same text (a test checks this on many generated addresses), and every
address it does not accept goes to email-validator, once per distinct value.

Domain typos (``gmial.com``) are found by edit distance to a list of common mailbox domains.
They are flagged with a suggestion; they are replaced only when the caller asks, because a
domain one letter away from a popular one can still be real.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import pandas as pd
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from rapidfuzz import process
from rapidfuzz.distance import OSA

from audience.errors import ConfigError
from audience.quality.normalise.core import as_text, replace_regex

COMMON_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "googlemail.com",
    "yahoo.fr",
    "yahoo.com",
    "ymail.com",
    "hotmail.fr",
    "hotmail.com",
    "live.fr",
    "live.com",
    "msn.com",
    "outlook.fr",
    "outlook.com",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "sfr.fr",
    "neuf.fr",
    "laposte.net",
    "bbox.fr",
    "numericable.fr",
    "aliceadsl.fr",
    "club-internet.fr",
    "voila.fr",
    "aol.com",
    "aol.fr",
    "icloud.com",
    "me.com",
    "mac.com",
    "gmx.fr",
    "gmx.com",
    "gmx.de",
    "mail.com",
    "email.com",
    "protonmail.com",
    "proton.me",
    "skynet.be",
    "bluewin.ch",
    "hotmail.be",
    "yahoo.co.uk",
    "hotmail.co.uk",
)
"""Mailbox domains most French customers use; a domain one edit away is a likely typo."""

# Plain ASCII addresses email-validator accepts unchanged: dot-atoms without the rarer
# characters, domain labels without '--' (reserved for Punycode, which it re-encodes), a
# letters-only top-level domain. At most 64 characters in all, so no part can be too long.
_FAST_ADDRESS = r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9]+(?:-[a-z0-9]+)*\.)+[a-z]{2,63}"
_FAST_MAX_LENGTH = 64
_SPECIAL_USE = r"(?:^|[.@])(?:" + "|".join(SPECIAL_USE_DOMAIN_NAMES) + r")$"


def normalise_email(
    raw: pd.Series,
    *,
    correct_typos: bool = False,
    common_domains: Iterable[str] = COMMON_DOMAINS,
    max_typo_distance: int = 1,
) -> pd.DataFrame:
    """Normalise e-mail addresses.

    Parameters
    ----------
    raw:
        Addresses as imported; None and blanks are ``missing``.
    correct_typos:
        Replace a domain typo by its suggestion (status ``typo_corrected``) instead of
        keeping the address as typed (status ``typo_flagged``).
    common_domains:
        Domains known to be right; a domain within ``max_typo_distance`` edits
        (a swap of two letters counts as one) of exactly one of them is a likely typo.
    max_typo_distance:
        0 turns typo detection off.

    Returns
    -------
    DataFrame on ``raw.index``: ``value`` (lower-case address, NA when invalid or
    missing), ``status`` (ok, changed, typo_flagged, typo_corrected, invalid, missing) and
    ``suggestion`` (the address with its domain corrected, NA when no typo was seen).
    """
    if max_typo_distance < 0:
        raise ConfigError(
            f"email max_typo_distance must be 0 or more, got {max_typo_distance}; "
            "set quality.email_max_typo_distance in audience.yaml"
        )
    text = as_text(raw).str.lower()
    present = text.notna().to_numpy()
    fast = fast_path(text).to_numpy()
    value = text.to_numpy(dtype=object)
    value[~present] = None
    slow = present & ~fast
    if slow.any():
        value[slow] = _validate_each(text[slow])
    valid = present & pd.notna(value)
    unchanged = raw.astype("str").to_numpy(dtype=object) == value
    status = np.where(valid, np.where(unchanged, "ok", "changed"), "invalid").astype(object)
    status[~present] = "missing"
    suggestion = np.full(len(value), None, dtype=object)
    if max_typo_distance > 0 and valid.any():
        addresses = pd.Series(value[valid])
        fixed = _fix_domains(addresses, tuple(sorted(set(common_domains))), max_typo_distance)
        typo = np.zeros(len(value), dtype=bool)
        typo[valid] = fixed.notna().to_numpy()
        suggestion[valid] = fixed.astype(object).where(fixed.notna(), None).to_numpy()
        status[typo] = "typo_corrected" if correct_typos else "typo_flagged"
        if correct_typos:
            value[typo] = suggestion[typo]
    columns = {"value": value, "status": status, "suggestion": suggestion}
    return pd.DataFrame(columns, index=raw.index, dtype="str")


def fast_path(lowered: pd.Series) -> pd.Series:
    """Whether each (trimmed, lower-case) address is one the strict pattern accepts.

    Exposed so that tests can check, address by address, that everything it accepts
    email-validator accepts too, unchanged.
    """
    plain = lowered.str.fullmatch(_FAST_ADDRESS).fillna(False).astype(bool)
    short = (lowered.str.len() <= _FAST_MAX_LENGTH).fillna(False).astype(bool)
    special = lowered.str.contains(_SPECIAL_USE, regex=True).fillna(False).astype(bool)
    return plain & short & ~special


def _validate_each(addresses: pd.Series) -> np.ndarray:
    """email-validator once per distinct address; the normalised address or None."""
    codes, distinct = pd.factorize(addresses)
    checked = np.array([_validate_one(str(a)) for a in distinct], dtype=object)
    return checked[codes]


def _validate_one(address: str) -> str | None:
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.normalized.lower()


def _fix_domains(addresses: pd.Series, common: tuple[str, ...], distance: int) -> pd.Series:
    """Each address with its domain corrected, NaN where the domain is not a likely typo.

    The edit-distance search runs once per distinct domain (a few thousand in a million
    addresses); only the rows with a typo are rebuilt one by one.
    """
    domains = replace_regex(addresses, r"^.*@", "")
    fixes = {d: f for d in domains.unique() if (f := _closest_domain(d, common, distance))}
    typo = domains.isin(list(fixes)).to_numpy(dtype=bool)
    fixed = np.full(len(addresses), None, dtype=object)
    fixed[typo] = [
        address[: -len(domain)] + fixes[domain]
        for address, domain in zip(addresses[typo], domains[typo], strict=True)
    ]
    return pd.Series(fixed, index=addresses.index, dtype="str")


@lru_cache(maxsize=4096)
def _closest_domain(domain: str, common: tuple[str, ...], distance: int) -> str | None:
    """The one common domain within ``distance`` edits, None if none or several tie."""
    if domain in common:
        return None
    found = process.extract(domain, common, scorer=OSA.distance, score_cutoff=distance, limit=2)
    if not found or (len(found) == 2 and found[0][1] == found[1][1]):
        return None
    return str(found[0][0])
