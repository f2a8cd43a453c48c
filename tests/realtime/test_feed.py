"""The live feed's broadcast stays bounded whatever the traffic and however slow a reader."""

from __future__ import annotations

import asyncio

import pytest

from audience.errors import TransientError
from audience.realtime.feed import EventFeed


def _events(n: int, start: int = 0) -> list[dict[str, object]]:
    return [
        {
            "type": "track",
            "event": "Viewed",
            "userId": f"u{i}",
            "messageId": f"m{i}",
            "properties": {"email": "secret@example.com"},
        }
        for i in range(start, start + n)
    ]


def test_a_slow_reader_keeps_the_newest_events_and_learns_how_many_it_lost() -> None:
    async def main() -> None:
        feed = EventFeed(history=5, per_subscriber=10)
        reader = feed.subscribe()
        feed.publish(_events(25))
        items = await reader.next(timeout=0.1)
        assert [i.message_id for i in items] == [f"m{i}" for i in range(15, 25)]
        assert reader.dropped == 15
        assert len(feed.recent) == 5  # history bounded too
        assert "secret@example.com" not in repr(items)  # no properties or traits shown

    asyncio.run(main())


def test_a_new_reader_starts_with_the_recent_history_then_waits() -> None:
    async def main() -> None:
        feed = EventFeed(history=3)
        feed.publish(_events(5))
        reader = feed.subscribe()
        assert [i.user_id for i in await reader.next(timeout=0.1)] == ["u2", "u3", "u4"]
        assert await reader.next(timeout=0.05) == []
        waiting = asyncio.create_task(reader.next(timeout=5))
        await asyncio.sleep(0.01)
        feed.publish(_events(1, start=9))
        assert [i.user_id for i in await waiting] == ["u9"]

    asyncio.run(main())


def test_readers_are_capped_and_a_closed_one_stops_receiving() -> None:
    async def main() -> None:
        feed = EventFeed(max_subscribers=2)
        first, second = feed.subscribe(), feed.subscribe()
        with pytest.raises(TransientError, match="2 readers already"):
            feed.subscribe()
        feed.unsubscribe(first)
        feed.publish(_events(1))
        assert first.items == type(first.items)()  # nothing queued for a gone reader
        assert len(second.items) == 1
        feed.subscribe()  # the place is free again

    asyncio.run(main())


def test_closing_the_feed_ends_every_reader_and_refuses_new_ones() -> None:
    async def main() -> None:
        feed = EventFeed()
        reader = feed.subscribe()
        waiting = asyncio.create_task(reader.next(timeout=30))
        await asyncio.sleep(0.01)
        feed.close()
        assert await asyncio.wait_for(waiting, 5) == []
        assert reader.closed
        with pytest.raises(TransientError, match="stopping"):
            feed.subscribe()

    asyncio.run(main())
