"""The live profile carries its experiment assignments: the batch variant, decided live.

When a person is in a running experiment's segment, her profile records the variant
:meth:`~audience.model.bucketing.Allocation.assign` gives her: the very function (and so the
very variant) of ``audience experiment assign`` and of ``GET /v1/experiments/{name}/
assignment``. The unit hashed is the person id the warehouse knows her by: the ``customer_id``
``audience publish`` wrote into the profile, else her first ``userId`` (which the warehouse
takes as her id when it loads her events), else the profile id.

An assignment, once carried, stays: leaving the segment does not undo what she was shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from audience.model.bucketing import Allocation
from audience.model.live_records import Profile


def experiment_unit(profile: Profile) -> str:
    """The id a profile is bucketed by, the batch path's ``customer_id``."""
    published = profile.get("published")
    if published:
        return str(published["customer_id"])
    users = profile["identities"]["user_id"]
    if users:
        return str(users[0])
    return str(profile["profile_id"])


def carry_assignments(profile: Profile, allocations: Sequence[Allocation]) -> None:
    """Add the variant of every experiment whose segment the profile is now in."""
    if not allocations:
        return
    carried = dict(profile.get("experiments") or {})
    unit = experiment_unit(profile)
    for allocation in allocations:
        if allocation.name in carried or allocation.segment_id not in profile["segments"]:
            continue
        variant = allocation.assign(unit)
        if variant is not None:
            carried[allocation.name] = variant
    profile["experiments"] = carried
