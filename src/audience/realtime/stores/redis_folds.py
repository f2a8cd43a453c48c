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
) -> tuple[list[Plan], Exception | None]:
    """Plans of ``events[0]``, then of each next event while it names the same identities;
    and the error that refused the first event, if it was refused (then no plans)."""
    keys = identity_keys(events[0])
    plans: list[Plan] = []
    seen: set[object] = set()
    for event in events:
        if plans and (identity_keys(event) != keys or event.get("messageId") in seen):
            break  # another read is needed (or the same message again: it is a duplicate)
        try:
            if engine.target(event, resolved) not in profiles:
                raise ValueError("the event's profile was not read")
            plan = engine.plan(event, resolved, profiles, engine.now())
        except Exception as exc:  # refused: alone, it is dead-lettered; else it starts a run
            return (plans, None) if plans else ([], exc)
        plans.append(plan)
        seen.add(event.get("messageId"))
        # What the read script would return once this plan is written.
        resolved = {k: plan.identities.get(k) or v for k, v in resolved.items()}
        profiles = {**profiles, **dict.fromkeys(plan.removed), plan.profile_id: plan.profile}
        wanted = {pid for pid in resolved.values() if pid} | {keys[0]}
        if not wanted <= profiles.keys():
            break
        profiles = {pid: profiles[pid] for pid in profiles if pid in wanted}
    return plans, None
