"""Live profile stores: Redis, or an embedded SQLite file in the workspace.

Both apply an event exactly once: the profile, its identities, the event's ``messageId`` and
the segment changes it causes are written in one atomic step (a Lua script, a SQLite
transaction), so a redelivered or resent event finds its id and changes nothing. Changes wait
in an outbox (a Redis stream, a table) until a sink has emitted them, so a crash between the
write and the emission delays a change but never loses it.

Each store keeps a *generation* marker, written when its profiles are built. A store that
lost its data (a Redis restarted without persistence) has lost the marker too: the consumer
sees it and rebuilds the profiles from the event log (:mod:`audience.realtime.rebuild`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from audience.errors import PoisonEventError
from audience.model.live_records import Event, PersonState, Profile, SegmentChange
from audience.realtime.engine import LiveEngine


@dataclass
class Outcome:
    """What became of one event: applied, a duplicate, or rejected with a reason."""

    status: Literal["applied", "duplicate", "rejected", "unchanged"]
    reason: str = ""
    changes: list[SegmentChange] = field(default_factory=list)


class ProfileStore(Protocol):
    volatile: bool
    """Whether the store can lose its data while Audience runs (a Redis without persistence):
    the consumer then checks the generation marker before every batch."""

    async def start(self) -> None: ...

    async def apply(
        self, events: Sequence[Event], engine: LiveEngine, *, record_changes: bool = True
    ) -> list[Outcome]:
        """Apply events in order, each exactly once; raise TransientError if the store is down.

        ``record_changes=False`` (a rebuild) updates profiles without queueing the segment
        changes for emission: they were emitted when the events first arrived.
        """
        ...

    async def publish(self, states: Sequence[PersonState], engine: LiveEngine) -> list[Outcome]:
        """Write persons' warehouse states (``audience publish``), each in one atomic step
        with its identities; a person whose published hash is unchanged is not written
        (``unchanged``). Segment changes are not queued for emission."""
        ...

    async def generation(self) -> str | None:
        """The marker written when the profiles were built; None when the store has none."""
        ...

    async def set_generation(self, value: str, *, if_absent: bool = False) -> bool:
        """Write the marker (only if there is none, with ``if_absent``); whether it was."""
        ...

    async def release_generation(self, value: str) -> bool:
        """Remove the marker if it still reads ``value`` (a failed rebuild gives back its
        claim); whether it did."""
        ...

    async def clear(self) -> None:
        """Delete every profile, identity, processed id and change (not the marker)."""
        ...

    async def get(self, identifier: str) -> Profile | None:
        """The profile a user id, anonymous id or profile id belongs to."""
        ...

    async def forget(self, keys: Sequence[str], profile_ids: Sequence[str] = ()) -> int:
        """Erase the profiles that identity ``keys`` (``user_id:<id>``, ``anonymous_id:<id>``)
        resolve to and ``profile_ids``: each profile, every identity key naming it, its
        published state and its changes waiting in the outbox. Returns the number of
        profiles and keys deleted (0: the store held nothing of them)."""
        ...

    async def pending_changes(self, limit: int) -> list[tuple[str, SegmentChange]]:
        """Changes written but not yet acknowledged as emitted: (outbox id, change)."""
        ...

    async def ack_changes(self, ids: Sequence[str]) -> None: ...

    async def close(self) -> None: ...


def rejected(exc: Exception) -> Outcome:
    """An event the engine could not apply: its reason, one line.

    A refusal on purpose (a :class:`~audience.errors.PoisonEventError`) says its own reason
    code first (``merge_refused: ...``); anything else is named by its exception type.
    """
    message = str(exc).splitlines()[0] if str(exc) else ""
    reason = message if isinstance(exc, PoisonEventError) else f"{type(exc).__name__}: {message}"
    return Outcome("rejected", reason[:500])
