"""The order a batch of events must keep: chains of events that share an identity.

A store may apply different chains at once (their events touch different identities, so
neither can see the other's write), and must apply each chain in delivery order.
"""

from __future__ import annotations

from collections.abc import Sequence

from audience.model.live_records import Event
from audience.realtime.engine import identity_keys

WAVE = 500
"""Most events one pipelined round trip to the store carries."""


def chains(events: Sequence[Event]) -> list[list[int]]:
    """The events' indexes in chains that share no identity, each in delivery order.

    Events linked by any identity key (directly or through another event of the batch) are
    one chain. Two chains that meet in a profile through links stored earlier are kept apart
    by the store's compare-and-set, as two workers are.
    """
    owner: dict[str, int] = {}
    parent = list(range(len(events)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for index, event in enumerate(events):
        for key in identity_keys(event) or [f"message:{event.get('messageId')}"]:
            if key in owner:
                parent[root(index)] = root(owner[key])
            else:
                owner[key] = index
    found: dict[int, list[int]] = {}
    for index in range(len(events)):
        found.setdefault(root(index), []).append(index)
    return list(found.values())
