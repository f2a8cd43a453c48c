"""Live profiles in Redis: one JSON string per profile, written by compare-and-set in Lua.

Keys (``<p>`` is ``profiles.prefix``)::

    <p>:profile:<profile id>     the profile dict as JSON
    <p>:id:<kind>:<value>        identity -> profile id (kind: user_id, anonymous_id)
    <p>:msg:<messageId>          present once the event is applied (expires after dedupe_days)
    <p>:changes                  stream: segment changes waiting for emission (group 'relay')
    <p>:generation               marker written when the profiles were built (see rebuild)

An event is read (identities, then profiles), planned in Python by the engine, and written by
one script that first checks that the message is still unseen and every key read still holds
what was read; another consumer's concurrent write makes it answer ``conflict`` and the event
is planned again. Three round trips per event, whatever the profile's size; the events of a
delivered batch that share no identity are applied concurrently (:func:`chains`), one
person's always in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from audience.errors import TransientError
from audience.masking import mask, url_secrets
from audience.model.live_records import Event, PersonState, Profile, SegmentChange
from audience.realtime.engine import LiveEngine, identity_keys, lookup_keys
from audience.realtime.stores import Outcome, rejected

_COMMIT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 'dup' end
local n, m, k = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, n do
  local v = redis.call('GET', KEYS[2 + i])
  if v == false then v = '' end
  if v ~= ARGV[4 + i] then return 'conflict' end
end
for i = 1, m do redis.call('SET', KEYS[2 + n + i], ARGV[4 + n + i]) end
for i = 1, k do redis.call('DEL', KEYS[2 + n + m + i]) end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[4])
for i = 5 + n + m, #ARGV do redis.call('XADD', KEYS[2], '*', 'change', ARGV[i]) end
return 'ok'
"""
# One round trip to read what an event touches: is it known, its identities, their profiles
# (and the profile its own first identity would key). Returns {seen, ids..., pids..., data...}.
_READ = """
local seen = redis.call('EXISTS', KEYS[1])
local n = #KEYS - 1
local ids, pids, seen_pid = {}, {}, {}
for i = 1, n do
  local v = redis.call('GET', KEYS[1 + i])
  if v == false then v = '' end
  ids[i] = v
  if v ~= '' and not seen_pid[v] then seen_pid[v] = true; pids[#pids + 1] = v end
end
if not seen_pid[ARGV[2]] then pids[#pids + 1] = ARGV[2] end
local out = {seen}
for i = 1, n do out[#out + 1] = ids[i] end
for i = 1, #pids do out[#out + 1] = pids[i] end
for i = 1, #pids do
  local d = redis.call('GET', ARGV[1] .. pids[i])
  if d == false then d = '' end
  out[#out + 1] = d
end
return out
"""
# Delete the generation marker only if it still holds the claim being given back.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
GROUP = "relay"


MAX_CONFLICTS = 100


CHAINS = 32
"""Chains of events applied at once (each its own round trips to Redis): the round trips,
not Redis, bound one worker when events are applied one after another."""


def chains(events: Sequence[Event]) -> list[list[int]]:
    """The events' indexes in chains that share no identity, each in delivery order.

    Events linked by any identity key (directly or through another event of the batch) are
    one chain, applied in order; chains run concurrently. Two chains that meet in a profile
    through links stored earlier are kept apart by the commit's compare-and-set, as two
    workers are.
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


class RedisProfileStore:
    """Profiles, identities, processed ids and the change outbox in one Redis."""

    volatile = True

    def __init__(self, url: str, prefix: str, dedupe_days: float) -> None:
        self.url = url
        self.prefix = prefix
        self.ttl = max(1, int(dedupe_days * 86400))
        self.redis: Any = aioredis.from_url(url)  # redis-py types every reply as a union
        self._commit = self.redis.register_script(_COMMIT)
        self._read = self.redis.register_script(_READ)
        self._release = self.redis.register_script(_RELEASE)
        self.changes_key = f"{prefix}:changes"
        self.generation_key = f"{prefix}:generation"

    def _profile(self, pid: str) -> str:
        return f"{self.prefix}:profile:{pid}"

    def _id(self, key: str) -> str:
        return f"{self.prefix}:id:{key}"

    async def start(self) -> None:
        try:
            await self.redis.xgroup_create(self.changes_key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        except RedisError as exc:
            raise TransientError(
                mask(
                    f"Redis at {self.url} does not answer ({exc}); start it or fix "
                    "AUDIENCE_PROFILES__URL",
                    url_secrets(self.url),
                )
            ) from exc

    async def generation(self) -> str | None:
        try:
            value = await self.redis.get(self.generation_key)
        except RedisError as exc:
            raise TransientError(f"Redis does not answer ({exc}); retry") from exc
        return None if value is None else str(value.decode())

    async def set_generation(self, value: str, *, if_absent: bool = False) -> bool:
        with self._transient("writing the generation marker"):
            return bool(await self.redis.set(self.generation_key, value, nx=if_absent))

    async def release_generation(self, value: str) -> bool:
        try:
            return bool(await self._release(keys=[self.generation_key], args=[value]))
        except RedisError as exc:
            raise TransientError(f"Redis does not answer ({exc}); retry") from exc

    async def clear(self) -> None:
        with self._transient("clearing the profiles"):
            keys = [
                key
                async for key in self.redis.scan_iter(match=f"{self.prefix}:*", count=1000)
                if key.decode() != self.generation_key
            ]
            for start in range(0, len(keys), 1000):
                await self.redis.delete(*keys[start : start + 1000])
        await self.start()  # the change stream and its group again

    async def apply(
        self, events: Sequence[Event], engine: LiveEngine, *, record_changes: bool = True
    ) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(events)
        room = asyncio.Semaphore(CHAINS)

        async def chain(indexes: list[int]) -> None:
            async with room:
                for i in indexes:
                    outcomes[i] = await self._apply_one(events[i], engine, record_changes)

        try:
            failures = [
                found
                for found in await asyncio.gather(
                    *(chain(group) for group in chains(events)), return_exceptions=True
                )
                if found is not None
            ]
            if failures:
                raise failures[0]
        except RedisError as exc:
            raise TransientError(
                mask(f"Redis failed while applying events ({exc}); retry", url_secrets(self.url))
            ) from exc
        return [outcome for outcome in outcomes if outcome is not None]

    async def _apply_one(self, event: Event, engine: LiveEngine, record_changes: bool) -> Outcome:
        msg_key = f"{self.prefix}:msg:{event['messageId']}"
        keys = identity_keys(event)
        for attempt in range(MAX_CONFLICTS):
            if attempt:  # writers that collided retry at random moments, not in lockstep
                await asyncio.sleep(random.uniform(0, 0.0005 * min(attempt, 20)))
            reply = await self._read(
                keys=[msg_key, *(self._id(k) for k in keys)],
                args=[self._profile(""), keys[0] if keys else ""],
            )
            if reply[0]:
                return Outcome("duplicate")
            first, rest = reply[1 : 1 + len(keys)], reply[1 + len(keys) :]
            pids = [p.decode() for p in rest[: len(rest) // 2]]
            raw = rest[len(rest) // 2 :]
            resolved = {k: (v.decode() or None) for k, v in zip(keys, first, strict=True)}
            profiles = {p: (orjson.loads(r) if r else None) for p, r in zip(pids, raw, strict=True)}
            try:
                if engine.target(event, resolved) not in profiles:
                    raise ValueError("the event's profile was not read")
                plan = engine.plan(event, resolved, profiles, engine.now())
            except Exception as exc:  # a bad event must not stop the stream: dead-letter it
                return rejected(exc)
            watched = [self._id(k) for k in keys] + [self._profile(p) for p in pids]
            expected = [*first, *raw]
            sets = {self._profile(plan.profile_id): orjson.dumps(plan.profile)}
            sets.update({self._id(k): pid.encode() for k, pid in plan.identities.items()})
            dels = [self._profile(p) for p in plan.removed]
            result = await self._commit(
                keys=[msg_key, self.changes_key, *watched, *sets, *dels],
                args=[
                    len(watched),
                    len(sets),
                    len(dels),
                    self.ttl,
                    *expected,
                    *sets.values(),
                    *(orjson.dumps(c) for c in (plan.changes if record_changes else ())),
                ],
            )
            if result == b"ok":
                return Outcome("applied", changes=plan.changes)
            if result == b"dup":
                return Outcome("duplicate")
        raise TransientError(f"event {event['messageId']}: too many concurrent writes; retry")

    async def publish(self, states: Sequence[PersonState], engine: LiveEngine) -> list[Outcome]:
        try:
            return [await self._publish_one(state, engine) for state in states]
        except RedisError as exc:
            raise TransientError(
                mask(f"Redis failed while publishing ({exc}); retry", url_secrets(self.url))
            ) from exc

    async def _publish_one(self, state: PersonState, engine: LiveEngine) -> Outcome:
        """Read, plan and compare-and-set as for an event; the state's hash is its message
        id (a publish of the same state finds it), the profile's hash the lasting check."""
        msg_key = f"{self.prefix}:published:{state['customer_id']}:{state['hash']}"
        keys = state["keys"]
        for attempt in range(MAX_CONFLICTS):
            if attempt:
                await asyncio.sleep(random.uniform(0, 0.0005 * min(attempt, 20)))
            reply = await self._read(
                keys=[msg_key, *(self._id(k) for k in keys)], args=[self._profile(""), keys[0]]
            )
            if reply[0]:
                return Outcome("unchanged")
            first, rest = reply[1 : 1 + len(keys)], reply[1 + len(keys) :]
            pids = [p.decode() for p in rest[: len(rest) // 2]]
            raw = rest[len(rest) // 2 :]
            resolved = {k: (v.decode() or None) for k, v in zip(keys, first, strict=True)}
            profiles = {p: (orjson.loads(r) if r else None) for p, r in zip(pids, raw, strict=True)}
            plan = engine.plan_publish(state, resolved, profiles, engine.now())
            if plan.unchanged:
                return Outcome("unchanged")
            watched = [self._id(k) for k in keys] + [self._profile(p) for p in pids]
            sets = {self._profile(plan.profile_id): orjson.dumps(plan.profile)}
            sets.update({self._id(k): pid.encode() for k, pid in plan.identities.items()})
            dels = [self._profile(p) for p in plan.removed]
            result = await self._commit(
                keys=[msg_key, self.changes_key, *watched, *sets, *dels],
                args=[len(watched), len(sets), len(dels), self.ttl, *first, *raw, *sets.values()],
            )
            if result in (b"ok", b"dup"):
                return Outcome("applied" if result == b"ok" else "unchanged", changes=plan.changes)
        raise TransientError(f"publishing {state['customer_id']}: too many concurrent writes")

    async def get(self, identifier: str) -> Profile | None:
        try:
            return await self._get(identifier)
        except RedisError as exc:
            raise TransientError(f"Redis does not answer ({exc}); retry") from exc

    async def _get(self, identifier: str) -> Profile | None:
        for key in lookup_keys(identifier):
            pid = await self.redis.get(self._id(key))
            if pid:
                raw = await self.redis.get(self._profile(pid.decode()))
                if raw:
                    profile: Profile = orjson.loads(raw)
                    return profile
        return None

    async def forget(self, keys: Sequence[str], profile_ids: Sequence[str] = ()) -> int:
        with self._transient("erasing profiles"):
            return await self._forget(keys, profile_ids)

    async def _forget(self, keys: Sequence[str], profile_ids: Sequence[str]) -> int:
        pids = set(profile_ids)
        for key in keys:
            pid = await self.redis.get(self._id(key))
            if pid:
                pids.add(pid.decode())
        every = set(keys)
        for pid in sorted(pids):
            raw = await self.redis.get(self._profile(pid))
            if raw:
                identities = orjson.loads(raw).get("identities") or {}
                for kind in ("user_id", "anonymous_id"):
                    every |= {f"{kind}:{v}" for v in identities.get(kind, [])}
        # A profile id is an identity key (the first one seen): profiles merged away left
        # changes under the ids of her other identities.
        pids |= every
        doomed = {self._id(k) for k in every} | {self._profile(p) for p in pids}
        published = f"{self.prefix}:published:"
        async for found in self.redis.scan_iter(match=published + "*", count=1000):
            name = found.decode()
            if name[len(published) :].rsplit(":", 1)[0] in pids:  # published:<person>:<hash>
                doomed.add(name)
        existing = [k for k in sorted(doomed) if await self.redis.exists(k)]
        deleted = int(await self.redis.delete(*existing)) if existing else 0
        stale = [
            entry_id
            async for entry_id, fields in self._outbox()
            if orjson.loads(fields[b"change"]).get("profile_id") in pids
        ]
        if stale:
            await self._ack(stale)
        return deleted + len(stale)

    async def _outbox(self) -> Any:
        """Every change in the outbox stream, emitted or not, oldest first."""
        last = "-"
        while True:
            batch = await self.redis.xrange(self.changes_key, min=last, count=1000)
            if not batch:
                return
            for entry_id, fields in batch:
                yield entry_id.decode(), fields
            last = "(" + batch[-1][0].decode()

    async def pending_changes(self, limit: int) -> list[tuple[str, SegmentChange]]:
        for start in ("0", ">"):  # first those read before and never acknowledged
            with self._transient("reading the change outbox"):
                reply = await self.redis.xreadgroup(
                    GROUP, GROUP, {self.changes_key: start}, count=limit
                )
            entries = reply[0][1] if reply else []
            if entries:
                return [(i.decode(), orjson.loads(f[b"change"])) for i, f in entries]
        return []

    async def ack_changes(self, ids: Sequence[str]) -> None:
        if ids:
            with self._transient("acknowledging emitted changes"):
                await self._ack(ids)

    async def _ack(self, ids: Sequence[str]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.changes_key, GROUP, *ids)
            pipe.xdel(self.changes_key, *ids)
            await pipe.execute()

    async def close(self) -> None:
        await self.redis.aclose()

    @contextlib.contextmanager
    def _transient(self, doing: str) -> Iterator[None]:
        """Redis failing is a dependency down (retry later), said without its password."""
        try:
            yield
        except RedisError as exc:
            message = f"Redis failed while {doing} ({exc}); retry"
            raise TransientError(mask(message, url_secrets(self.url))) from exc
