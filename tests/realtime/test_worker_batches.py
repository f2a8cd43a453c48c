"""What makes one worker fast must not change what it does: batches of changes written in one
go land in order, a fold updates only its own profiles, and cheap time compares agree with
parsed ones."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import orjson
import pytest

from audience.model.live_records import Event, Profile
from audience.realtime.consumer import Consumer
from audience.realtime.engine import LiveEngine
from audience.realtime.events import iso
from audience.realtime.live_orders import earliest, latest
from audience.realtime.live_segments import (
    BatchChangeSink,
    JsonlChangeSink,
    PredicateEvaluator,
    PredicateRule,
    read_changes,
)
from audience.realtime.stores.redis_folds import fold
from audience.realtime.stores.sqlite import SqliteProfileStore
from audience.store.clock import FixedClock

_ids = itertools.count()
NOW = datetime(2030, 1, 2, 3, 4, 5)


def track(user: str, **fields: Any) -> Event:
    at = iso(NOW)
    body = {"type": "track", "event": "e", "userId": user, "timestamp": at, "receivedAt": at}
    return cast(Event, {**body, "messageId": f"w{next(_ids)}", **fields})


def odd_engine() -> LiveEngine:
    odd = PredicateRule("odd", lambda p: p["events_total"] % 2 == 1, "odd")
    return LiveEngine(evaluator=PredicateEvaluator([odd]), clock=FixedClock(NOW))


def test_a_batch_of_changes_lands_in_order_with_one_write(tmp_path: Path) -> None:
    sink = JsonlChangeSink(tmp_path / "out" / "changes.jsonl", FixedClock(NOW))
    asyncio.run(sink.emit({"id": "first"}))
    asyncio.run(sink.emit_many([{"id": f"c{i}", "n": i} for i in range(500)]))
    asyncio.run(sink.emit_many([]))  # nothing to write: no line, no error
    sink.close()
    found = read_changes(sink.path)
    assert [c["id"] for c in found] == ["first", *(f"c{i}" for i in range(500))]
    assert {c["emitted_at"] for c in found} == {iso(NOW)}
    assert isinstance(sink, BatchChangeSink)


def test_a_batch_written_after_an_erasure_rewrote_the_file_goes_to_the_new_file(
    tmp_path: Path,
) -> None:
    sink = JsonlChangeSink(tmp_path / "changes.jsonl", FixedClock(NOW))
    asyncio.run(sink.emit_many([{"id": "hers"}, {"id": "other"}]))
    rewritten = tmp_path / ".changes.jsonl.scrub"  # as privacy.files.scrub_file does
    rewritten.write_bytes(orjson.dumps({"id": "other"}) + b"\n")
    rewritten.replace(sink.path)
    asyncio.run(sink.emit_many([{"id": "later"}]))
    assert [c["id"] for c in read_changes(sink.path)] == ["other", "later"]


class OneByOne:
    """A sink without emit_many (a destination's): the relay hands it one change at a time."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def emit(self, change: Mapping[str, Any]) -> None:
        self.seen.append(str(change["id"]))


class Batches(OneByOne):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def emit_many(self, changes: Sequence[Mapping[str, Any]]) -> None:
        self.calls += 1
        self.seen += [str(c["id"]) for c in changes]


@pytest.mark.parametrize("sink_type", [OneByOne, Batches])
def test_the_relay_emits_each_change_once_in_order_whatever_the_sink(
    tmp_path: Path, sink_type: type[OneByOne]
) -> None:
    sink = sink_type()
    store = SqliteProfileStore(tmp_path / "profiles.sqlite", dedupe_days=1)
    consumer = Consumer(store, odd_engine(), sink)
    events = [track("u1") for _ in range(5)] + [track("u2") for _ in range(2)]

    async def main() -> None:
        await consumer.start()
        await consumer([orjson.dumps(events)])
        await store.close()

    asyncio.run(main())
    kinds = [i.rsplit(":", 1)[1] for i in sink.seen if ":user_id:u1:" in i]
    assert kinds == ["segment.entered", "segment.exited"] * 2 + ["segment.entered"]
    assert len(sink.seen) == len(set(sink.seen)) == 7 == consumer.stats.changes
    if isinstance(sink, Batches):
        assert sink.calls == 1


def test_an_event_that_changes_no_membership_emits_nothing(tmp_path: Path) -> None:
    always = PredicateRule("all", lambda p: True, "everyone")
    engine = LiveEngine(evaluator=PredicateEvaluator([always]), clock=FixedClock(NOW))
    sink = Batches()
    store = SqliteProfileStore(tmp_path / "profiles.sqlite", dedupe_days=1)
    consumer = Consumer(store, engine, sink)

    async def main() -> None:
        await consumer.start()
        await consumer([orjson.dumps([track("u1"), track("u1"), track("u1")])])
        await store.close()

    asyncio.run(main())
    assert [i.rsplit(":", 1)[1] for i in sink.seen] == ["segment.entered"]


def stored(profile: Profile) -> Profile:
    return cast(Profile, orjson.loads(orjson.dumps(profile)))


def test_a_fold_leaves_the_profiles_it_was_given_as_they_were() -> None:
    engine = odd_engine()
    first = fold([track("u1")], {"user_id:u1": None}, {"user_id:u1": None}, engine)[0]
    read = stored(first[-1].profile)
    profiles: dict[str, Profile | None] = {"user_id:u1": read}
    before = orjson.dumps(read)
    plans, error = fold(
        [track("u1") for _ in range(4)], {"user_id:u1": "user_id:u1"}, profiles, engine
    )
    assert error is None and len(plans) == 4
    assert plans[-1].profile["events_total"] == 5
    assert orjson.dumps(read) == before and profiles["user_id:u1"] is read


def test_an_event_failing_halfway_through_a_fold_leaves_no_trace_in_the_profile() -> None:
    def fails_on_the_third(profile: Mapping[str, Any]) -> bool:
        if profile["events_total"] == 3:
            raise RuntimeError("a rule that breaks after the event was folded in")
        return True

    rule = PredicateRule("r", fails_on_the_third, "why")
    engine = LiveEngine(evaluator=PredicateEvaluator([rule]), clock=FixedClock(NOW))
    events = [track("u1", event=f"e{i}") for i in range(5)]
    profiles: dict[str, Profile | None] = {"user_id:u1": None}
    plans, error = fold(events, {"user_id:u1": None}, profiles, engine)
    assert error is None and len(plans) == 2  # the third starts the next run, alone
    profile = plans[-1].profile
    assert profile["events_total"] == 2 and profile["counters"] == {"e0": 1, "e1": 1}
    assert profile["event_types"] == {"track": 2} and profile["device"]["total"] == 2
    resolved = {"user_id:u1": "user_id:u1"}
    alone, error = fold(events[2:], resolved, {"user_id:u1": stored(profile)}, engine)
    assert alone == [] and isinstance(error, RuntimeError)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("2030-01-02T03:04:05.678Z", "2030-01-02T03:04:05.679Z"),
        ("2029-12-31T23:59:59.999Z", "2030-01-01T00:00:00.000Z"),
        ("2030-01-02T03:04:05.678Z", "2030-01-02T04:04:05.000+02:00"),  # another offset
        ("2030-01-02T03:04:05Z", "2030-01-02T03:04:04.500Z"),  # no milliseconds
        ("2030-01-02T03:04:05.678Z", "2030-01-02T03:04:05.678Z"),
    ],
)
def test_times_compare_as_times_whatever_their_form(a: str, b: str) -> None:
    for x, y in ((a, b), (b, a)):
        assert earliest(x, y) == min((x, y), key=datetime.fromisoformat)
        assert latest(x, y) == max((x, y), key=datetime.fromisoformat)
    assert earliest(None, a) == latest(a, None) == a and earliest(None, None) is None
