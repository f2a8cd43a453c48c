"""SQL expressions that read amounts, currencies, integers, yes/no words and JSON from raw text.

Like :mod:`audience.ingest.date_parsing`, each builder takes a SQL expression yielding the raw
text (NULL when absent) and returns one yielding the typed value, NULL when unreadable:

- a comma is the decimal separator unless a dot is also present and comes after it;
  spaces (also non-breaking) are thousands separators; a currency sign or ISO code before or
  after an amount is read apart (:func:`amount_currency`);
- yes/no words are French or English (``oui``, ``vrai``, ``opt-in``; ``non``, ``faux``, ...).
"""

from __future__ import annotations

from audience.store.sql import sql_literal

TRUE_WORDS = ("1", "true", "t", "yes", "y", "oui", "o", "vrai", "x", "granted", "opt-in", "optin")
FALSE_WORDS = ("0", "false", "f", "no", "n", "non", "faux", "denied", "opt-out", "optout")


CURRENCY_SIGNS = {"€": "EUR", "£": "GBP", "$": "USD", "¥": "JPY"}
"""A sign in an amount and the currency it stands for (``$`` is read as the US dollar)."""

CURRENCY_CODES = (
    "EUR", "USD", "GBP", "CHF", "CAD", "AUD", "NZD", "JPY", "CNY", "HKD", "SGD", "SEK", "NOK",
    "DKK", "PLN", "CZK", "HUF", "RON", "BGN", "TRY", "MAD", "TND", "DZD", "XOF", "XAF", "XPF",
    "BRL", "MXN", "INR", "ZAR",
)  # fmt: skip
"""ISO 4217 codes an amount may carry before or after the number (``EUR 12,50``,
``12,50 eur``); any other letters make the amount unreadable."""

_CODE = "(" + "|".join(CURRENCY_CODES) + ")"


_PLAIN_NUMBER = "'[0-9]+([.,][0-9]+)?'"
"""Regular expression of an amount written as bare digits, maybe a decimal comma or dot: most
amounts of a file, read by a plain cast without the currency and separator logic."""


def _is_plain_number(text: str) -> str:
    """SQL: whether ``text`` is bare digits with maybe one decimal comma or dot (``1234,50``)."""
    return f"regexp_full_match({text}, {_PLAIN_NUMBER})"


def parse_decimal(text: str) -> str:
    """Text -> DECIMAL(18, 4), decimal comma or dot, thousands separators removed.

    A currency sign or code before or after the number is decoration (``12,50 EUR``,
    ``€12.50``, ``1 234,50 €``): :func:`amount_currency` says which currency it names.
    """
    # The general reading gives a plain number the same value, at the price of a regular
    # expression replace and several searches: only the other values take it.
    plain = f"TRY_CAST(replace({text}, ',', '.') AS DECIMAL(18, 4))"
    return f"CASE WHEN {_is_plain_number(text)} THEN {plain} ELSE {_decorated_decimal(text)} END"


def _decorated_decimal(text: str) -> str:
    """SQL: the amount of a text with signs, codes, thousands separators (or none)."""
    signs = "".join(CURRENCY_SIGNS)
    # One pass drops the code at either end, the signs and the spaces.
    bare = (
        f"regexp_replace({text}, '(?i)^\\s*{_CODE}|{_CODE}\\s*$|[\\s\u00a0\u202f{signs}]', '', 'g')"
    )
    normalised = (
        f"CASE WHEN strpos({bare}, ',') > 0 AND strpos({bare}, '.') > 0 THEN "
        f"  CASE WHEN strpos(reverse({bare}), ',') < strpos(reverse({bare}), '.') "
        f"       THEN replace(replace({bare}, '.', ''), ',', '.') "
        f"       ELSE replace({bare}, ',', '') END "
        f"WHEN strpos({bare}, ',') > 0 THEN replace({bare}, ',', '.') "
        f"ELSE {bare} END"
    )
    return f"TRY_CAST({normalised} AS DECIMAL(18, 4))"


def amount_currency(text: str) -> str:
    """SQL: the ISO code of the currency an amount's text names by sign or code, else NULL."""
    signs = " ".join(
        f"WHEN strpos({text}, {sql_literal(sign)}) > 0 THEN {sql_literal(code)}"
        for sign, code in CURRENCY_SIGNS.items()
    )
    before = f"regexp_extract({text}, '(?i)^\\s*{_CODE}', 1)"
    after = f"regexp_extract({text}, '(?i){_CODE}\\s*$', 1)"
    # Only a value holding something else than digits and separators can name a currency.
    return (
        f"CASE WHEN NOT regexp_matches({text}, '[^0-9.,]') THEN NULL {signs} "
        f"WHEN regexp_matches({text}, '[A-Za-z]') "
        f"THEN upper(coalesce(nullif({before}, ''), nullif({after}, ''))) END"
    )


def parse_integer(text: str) -> str:
    """Text -> BIGINT; '2,0' is 2, '2,5' is not an integer."""
    value = parse_decimal(text)
    general = f"CASE WHEN {value} = trunc({value}) THEN CAST({value} AS BIGINT) END"
    # Up to 14 bare digits (what DECIMAL(18, 4) holds, so the same value) are cast directly.
    return (
        f"CASE WHEN regexp_full_match({text}, '[0-9]{{1,14}}') THEN CAST({text} AS BIGINT) "
        f"ELSE {general} END"
    )


def parse_bool(text: str) -> str:
    """Text -> BOOLEAN from French and English yes/no words."""
    word = f"lower({text})"
    return (
        f"CASE WHEN {word} IN ({', '.join(map(sql_literal, TRUE_WORDS))}) THEN true "
        f"WHEN {word} IN ({', '.join(map(sql_literal, FALSE_WORDS))}) THEN false END"
    )


def parse_json(text: str) -> str:
    """Text -> JSON, NULL when not valid JSON."""
    return f"TRY_CAST({text} AS JSON)"
