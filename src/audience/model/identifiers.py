"""A person's identifiers in every form the product stores them: raw, normalised, hashed.

Erasure must find an e-mail typed ``Ada.L@Example.com `` in a CRM file, stored lower-cased in
the clean tables, hashed (SHA-256) in an advertising export, and as a userId in the events;
a phone number written ``06 12 34 56 78`` in one file and stored as ``+33612345678`` in the
profiles. These few functions say what every form of one identifier is; the full normalisers
(typos, validation, a million rows at once) stay in the quality stage, which the privacy
stage may not import.

The keyed hash (HMAC-SHA256 with the workspace's privacy key) is how an identifier is kept
where it must be remembered without being stored: the suppression list, the audit log,
consent tombstones.

Examples
--------
>>> sorted(email_forms(" Ada.L@Example.com"))
['Ada.L@Example.com', 'ada.l@example.com']
>>> phone_e164("06 12 34 56 78")
'+33612345678'
>>> sorted(phone_forms("+33 6 12 34 56 78"))[:3]
['+33 6 12 34 56 78', '+33612345678', '0033612345678']
>>> keyed_hash(b"k" * 16, "ada.l@example.com")[:12]
'1d81ad0a1304'
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import phonenumbers

IdentifierKind = Literal["customer", "email", "phone", "user_id"]
IDENTIFIER_KINDS: tuple[IdentifierKind, ...] = ("customer", "email", "phone", "user_id")

_PHONE_CHARS = re.compile(r"[\s.\-()\u00a0]")


@dataclass(frozen=True)
class PersonQuery:
    """How a request names a person: one identifier of one kind."""

    kind: IdentifierKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


def normalise_email(value: str) -> str | None:
    """Trimmed and lower-cased, as the quality stage stores it; None when not an address."""
    text = value.strip().lower()
    return text if "@" in text and len(text) > 2 else None


def email_forms(value: str) -> set[str]:
    """The address as given (trimmed) and normalised."""
    forms = {value.strip()}
    normalised = normalise_email(value)
    if normalised:
        forms.add(normalised)
    return {form for form in forms if form}


@lru_cache(maxsize=1 << 16)
def _phone(value: str, region: str) -> tuple[str, str] | None:
    """(E.164, national significant number), parsed once per spelling: parsing is the cost
    of erasing thousands of persons at once."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    e164 = str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    return e164, str(parsed.national_number)


def phone_e164(value: str, region: str = "FR") -> str | None:
    """E.164 (``+33612345678``) as phonenumbers reads it, None when it cannot."""
    found = _phone(value, region)
    return found[0] if found else None


def phone_forms(value: str, region: str = "FR") -> set[str]:
    """The number as given, compact, E.164 and the national and ``00`` spellings of it.

    Files write the same number many ways; these are the ones a search of raw text or of a
    compacted column (separators removed) finds.
    """
    given = value.strip()
    forms = {given, _PHONE_CHARS.sub("", given)}
    found = _phone(given, region)
    if found:
        e164, national = found
        forms |= {e164, "00" + e164[1:], e164[1:], "0" + national}
    return {form for form in forms if len(form) >= 6}


def compact_phone(value: str) -> str:
    """A phone number without its separators, to compare with :func:`phone_forms`."""
    return _PHONE_CHARS.sub("", value)


def sha256_hex(value: str) -> str:
    """SHA-256 of a normalised identifier: the form advertising audiences upload."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 of ``value`` with the privacy key, hex: remembered, never readable."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def canonical(kind: str, value: str, region: str = "FR") -> str:
    """The one form of an identifier its keyed hash is taken of (suppression, audit)."""
    if kind == "email":
        return normalise_email(value) or value.strip()
    if kind == "phone":
        return phone_e164(value, region) or compact_phone(value)
    return value.strip()


def suppression_forms(kind: str, value: str, region: str = "FR") -> set[str]:
    """The forms whose keyed hashes list an identifier: its canonical form and, for a phone,
    its compact spellings too, so that an import can check a raw number without parsing it."""
    forms = {canonical(kind, value, region)}
    if kind == "phone":
        forms |= {f for f in phone_forms(value, region) if f == compact_phone(f)}
    return forms
