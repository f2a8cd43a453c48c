"""The Redis store applies a batch's events in chains: one person's in order, others at once."""

from __future__ import annotations

from typing import Any, cast

from audience.model.live_records import Event
from audience.realtime.stores.chains import chains


def ev(i: int, **ids: str) -> Event:
    return cast(Event, {"type": "track", "messageId": f"m{i}", "event": "e", **ids})


def test_events_linked_by_any_identity_form_one_chain_in_delivery_order() -> None:
    events = [
        ev(0, userId="u1"),
        ev(1, anonymousId="a9"),
        ev(2, userId="u2"),
        ev(3, anonymousId="a9", userId="u1"),  # links the first two chains, after both
        ev(4, userId="u2"),
        ev(5, userId="u1"),
    ]
    found = sorted(chains(events))
    assert found == [[0, 1, 3, 5], [2, 4]]


def test_an_alias_joins_the_previous_id_to_the_user() -> None:
    alias: dict[str, Any] = {"type": "alias", "messageId": "m2", "previousId": "old"}
    events = [
        ev(0, anonymousId="old"),
        ev(1, userId="new"),
        cast(Event, {**alias, "userId": "new"}),
    ]
    assert chains(events) == [[0, 1, 2]]


def test_strangers_are_chains_of_their_own() -> None:
    assert sorted(chains([ev(i, userId=f"u{i}") for i in range(4)])) == [[0], [1], [2], [3]]
