"""Phone numbers to E.164 (``+33612345678``), valid or flagged, as phonenumbers decides.

phonenumbers (Google's libphonenumber metadata) is the authority, but calling it on a
million numbers takes most of a minute. Nearly every number in a French file is written one
of a few plain ways (``06 12 34 56 78``, ``+33 6 12...``, ``0033...``, or nine digits once a
spreadsheet dropped the leading zero); those are read all at once with string operations,
and judged valid or not with phonenumbers' own patterns for France, so the result is the
library's (a test checks this on many generated numbers). Everything else goes to the
library itself, once per distinct value.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from audience.errors import ConfigError
from audience.quality.normalise.core import as_text, replace_regex

# Separators the plain formats use; anything else (letters, brackets, '(0)') goes slow.
_SEPARATORS = "[ .\\-\u00a0]"  # not a raw string: RE2 has no \\u
_PLAIN_FRENCH = r"(?:\+33|0033|0)?[1-9]\d{8}"
_TYPE_DESCS = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
)


def normalise_phone(raw: pd.Series, *, region: str = "FR") -> pd.DataFrame:
    """Normalise phone numbers to E.164.

    Parameters
    ----------
    raw:
        Numbers as imported; None and blanks are ``missing``.
    region:
        ISO 3166 code of the country numbers without a country code belong to.

    Returns
    -------
    DataFrame on ``raw.index``: ``value`` (E.164, NA when invalid or missing) and
    ``status`` (ok, changed, invalid, missing). A number is valid when phonenumbers'
    ``is_valid_number`` says so: possible length and an assigned number range.
    """
    region = _check_region(region)
    text = as_text(raw)
    present = text.notna().to_numpy()
    value = np.full(len(text), None, dtype=object)
    handled = np.zeros(len(text), dtype=bool)
    if region == "FR":
        national, handled = french_fast_path(text)
        valid = handled & _valid_french(national)
        value[valid] = "+33" + national[valid]
    slow = present & ~handled
    if slow.any():
        codes, distinct = pd.factorize(text[slow])
        parsed = np.array([_parse_one(str(d), region) for d in distinct], dtype=object)
        value[slow] = parsed[codes]
    unchanged = raw.astype("str").to_numpy(dtype=object) == value
    status = np.where(pd.notna(value), np.where(unchanged, "ok", "changed"), "invalid")
    status = status.astype(object)
    status[~present] = "missing"
    return pd.DataFrame({"value": value, "status": status}, index=raw.index, dtype="str")


def french_fast_path(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """National significant numbers of plainly written French numbers, read all at once.

    Returns
    -------
    The nine-digit national number (a string, NaN where not handled) and a mask of the rows
    handled here; the others need phonenumbers. Exposed for the equivalence test.
    """
    digits = replace_regex(text, _SEPARATORS, "")
    plain = digits.str.fullmatch(_PLAIN_FRENCH).fillna(False).to_numpy(dtype=bool)
    return digits.str.slice(-9).where(plain), plain


def _valid_french(national: pd.Series) -> np.ndarray:
    general, any_type = _validity_patterns("FR")
    fits = national.str.fullmatch(general, na=False) & national.str.fullmatch(any_type, na=False)
    return fits.to_numpy(dtype=bool)


@lru_cache(maxsize=8)
def _validity_patterns(region: str) -> tuple[str, str]:
    """phonenumbers' own test of validity for a region, as two regular expressions.

    A number is valid when it fits the region's general pattern and one number type's
    pattern (see phonenumbers' ``_number_type_helper``); two patterns, because RE2, which
    runs them, has no look-ahead to join them. French numbers all have nine digits, so the
    possible-length checks reduce to the length the fast path already requires.
    """
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    general_desc = metadata.general_desc if metadata is not None else None
    general = general_desc.national_number_pattern if general_desc is not None else None
    if not general:
        raise ConfigError(f"phonenumbers has no numbering plan for region {region!r}")
    types = [getattr(metadata, name) for name in _TYPE_DESCS]
    any_type = "|".join(
        f"(?:{d.national_number_pattern})"
        for d in types
        if d is not None
        and d.national_number_pattern
        and (not d.possible_length or 9 in d.possible_length)
    )
    return general, any_type


def _parse_one(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def _check_region(region: str) -> str:
    code = region.strip().upper()
    if phonenumbers.country_code_for_region(code) == 0:
        raise ConfigError(
            f"unknown phone region {region!r}; set default_region in audience.yaml to an "
            "ISO 3166 country code such as FR"
        )
    return code
