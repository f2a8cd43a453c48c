"""Normalisers of customer fields, each reporting what it did to every value.

Dates and timestamps are normalised where they are read, at import, in SQL
(:mod:`audience.ingest.date_parsing`: French day-first formats, ISO 8601 with offsets, spreadsheet
serials, epoch seconds), so that every table holds UTC from the start.

Every normaliser takes a pandas Series of raw values and returns a DataFrame on the same
index with ``value`` (normalised, NA when unusable), ``status`` (see :data:`STATUSES`) and
extra columns where they help. Nothing is dropped or guessed silently: an unusable value is
NA with a status saying why, and :func:`status_counts` / :func:`summary` give the counts the
quality report shows.

::

    normalise_email(s, correct_typos=False)      value, status, suggestion
    normalise_phone(s, region="FR")               value (E.164), status
    normalise_name(s)                             value, status, key
    normalise_postcode(s)                         value, status
    normalise_city(city, postcode)                value, status, insee, name, dep_code,
                                                  dep_name, region, score, postcode_match
    normalise_category(s, taxonomy)               value, status, score
"""

from __future__ import annotations

from audience.quality.normalise.category import normalise_category, unmapped_values
from audience.quality.normalise.city import city_key, normalise_city
from audience.quality.normalise.core import STATUSES, status_counts, summary
from audience.quality.normalise.email import COMMON_DOMAINS, normalise_email
from audience.quality.normalise.names import PARTICLES, normalise_name
from audience.quality.normalise.phone import normalise_phone
from audience.quality.normalise.postcode import normalise_postcode

__all__ = [
    "COMMON_DOMAINS",
    "PARTICLES",
    "STATUSES",
    "city_key",
    "normalise_category",
    "normalise_city",
    "normalise_email",
    "normalise_name",
    "normalise_phone",
    "normalise_postcode",
    "status_counts",
    "summary",
    "unmapped_values",
]
