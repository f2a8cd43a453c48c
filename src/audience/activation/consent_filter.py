"""Who may be sent for a purpose: the consent filter of every destination.

Activation sends or exports a person for a purpose only when her current status for it is
``granted`` (view ``current_consents``, kept by :mod:`audience.privacy.consent`); everyone
else is *suppressed*, with the reason: ``no_consent`` (never asked), ``denied`` or
``withdrawn``.

A segment that keeps a holdout (``segment_holdouts``, see :mod:`audience.experiments.holdout`)
has its held-out members suppressed for every purpose with the reason ``holdout``: this is the
one place activation chooses who is sent, so no file or webhook reaches them.
"""

from __future__ import annotations

from audience.config.activation import PURPOSES
from audience.errors import InputError
from audience.model.bucketing import segment_holdout_sql


def suppression_sql(people: str, purpose: str) -> str:
    """``people`` (customer_id, segment_id) with ``suppressed``: NULL when she may be sent.

    ``suppressed`` is the reason a person may not be sent for ``purpose``: ``holdout`` (held
    out of the segment), ``no_consent``, ``denied`` or ``withdrawn``. The purpose is checked
    against the known purposes so it can be written as a literal.
    """
    if purpose not in PURPOSES:
        raise InputError(f"unknown consent purpose {purpose!r}; use one of {', '.join(PURPOSES)}")
    held = segment_holdout_sql("p.segment_id", "p.customer_id", "h.percent / 100.0")
    return f"""SELECT p.*, CASE WHEN h.segment_id IS NOT NULL AND {held}
                                THEN 'holdout'
                                WHEN cc.status IS NULL THEN 'no_consent'
                                WHEN cc.status <> 'granted' THEN cc.status END AS suppressed
               FROM ({people}) p
               LEFT JOIN current_consents cc
                 ON cc.customer_id = p.customer_id AND cc.purpose = '{purpose}'
               LEFT JOIN segment_holdouts h ON h.segment_id = p.segment_id"""
