"""Who may be sent for a purpose: the consent filter of every destination.

Activation sends or exports a person for a purpose only when her current status for it is
``granted`` (view ``current_consents``, kept by :mod:`audience.privacy.consent`); everyone
else is *suppressed*, with the reason: ``no_consent`` (never asked), ``denied`` or
``withdrawn``.
"""

from __future__ import annotations

from audience.config.activation import PURPOSES
from audience.errors import InputError


def suppression_sql(people: str, purpose: str) -> str:
    """``people`` (a relation with customer_id) with ``suppressed``: NULL when granted.

    ``suppressed`` is the reason a person may not be sent for ``purpose``: ``no_consent``,
    ``denied`` or ``withdrawn``. The purpose is checked against the known purposes so it can be
    written as a literal.
    """
    if purpose not in PURPOSES:
        raise InputError(f"unknown consent purpose {purpose!r}; use one of {', '.join(PURPOSES)}")
    return f"""SELECT p.*, CASE WHEN cc.status IS NULL THEN 'no_consent'
                                WHEN cc.status <> 'granted' THEN cc.status END AS suppressed
               FROM ({people}) p
               LEFT JOIN current_consents cc
                 ON cc.customer_id = p.customer_id AND cc.purpose = '{purpose}'"""
