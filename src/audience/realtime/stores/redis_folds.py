"""One person's consecutive events planned from one read of the Redis store.

Reading a profile and writing it back costs two round trips to Redis; a worker that takes
them once per event applies one busy person's events no faster than those round trips allow
(a few hundred a second on a loaded machine), however idle Redis is. So the store reads once
for the first event of a run, plans the next events of the same identities against the state
the previous plans leave (exactly what a read after the commit would return), and writes the
final state, every ``messageId`` and every change in one atomic script: the same outcome as
one event after another, in two round trips.
"""

from __future__ import annotations

from collections.abc import Sequence

from audience.model.live_records import Event, Profile
from audience.realtime.engine import LiveEngine, Plan, identity_keys


def fold(
    events: Sequence[Event],
    resolved: dict[str, str | None],
    profiles: dict[str, Profile | None],
    engine: LiveEngine,
    *,
    in_place: bool = True,
) -> tuple[list[Plan], Exception | None]:
    """Plans of ``events[0]``, then of each next event while it names the same identities;
    and the error that refused the first event, if it was refused (then no plans).

    ``profiles`` are left as given. After the first plan, each next one updates the profile
    the previous plan made in place (``in_place``): a copy per event would cost more than
    the event. So every plan of a run may share one profile, whose final state is the last
    plan's. An event that fails halfway could leave that profile half-updated: the run is
    then planned again up to it, copying at every step, the failure left out.

    The run is planned at one moment (the clock read once), as it was read at one."""
    keys = identity_keys(events[0])
    plans: list[Plan] = []
    seen: set[object] = set()
    start_resolved, start_profiles = resolved, profiles
    now = engine.now()
    for event in events:
        if plans and (identity_keys(event) != keys or event.get("messageId") in seen):
            break  # another read is needed (or the same message again: it is a duplicate)
        try:
            target = engine.target(event, resolved)
            if target not in profiles:
                raise ValueError("the event's profile was not read")
            # Only a profile this fold made is updated in place, never one of the caller's.
            owned = in_place and bool(plans) and profiles[target] is plans[-1].profile
            plan = engine.plan(event, resolved, profiles, now, owned=owned)
        except Exception as exc:  # refused: alone, it is dead-lettered; else it starts a run
            if not plans:
                return [], exc
            if in_place:
                good = events[: len(plans)]
                return fold(good, start_resolved, start_profiles, engine, in_place=False)
            return plans, None
        plans.append(plan)
        seen.add(event.get("messageId"))
        # What the read script would return once this plan is written.
        if plan.identities:
            resolved = {k: plan.identities.get(k) or v for k, v in resolved.items()}
        if plan.removed or profiles.get(plan.profile_id) is not plan.profile:
            profiles = {**profiles, **dict.fromkeys(plan.removed), plan.profile_id: plan.profile}
        wanted = {pid for pid in resolved.values() if pid} | {keys[0]}
        if not wanted <= profiles.keys():
            break
        if len(profiles) > len(wanted):
            profiles = {pid: profiles[pid] for pid in profiles if pid in wanted}
    return plans, None
