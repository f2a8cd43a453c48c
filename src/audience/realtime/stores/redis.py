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
from redis.exceptions import NoScriptError, RedisError, ResponseError

from audience.errors import TransientError
from audience.masking import mask, url_secrets
from audience.model.live_records import Event, PersonState, Profile, SegmentChange
from audience.realtime.engine import LiveEngine, Plan, identity_keys, lookup_keys
from audience.realtime.stores import Outcome, rejected
from audience.realtime.stores.chains import WAVE, chains
from audience.realtime.stores.redis_folds import fold
from audience.realtime.stores.redis_scripts import COMMIT, COMMIT_MANY, READ, RELEASE

GROUP = "relay"


MAX_CONFLICTS = 100


class RedisProfileStore:
    """Profiles, identities, processed ids and the change outbox in one Redis."""

    volatile = True

    def __init__(self, url: str, prefix: str, dedupe_days: float) -> None:
        self.url = url
        self.prefix = prefix
        self.ttl = max(1, int(dedupe_days * 86400))
        self.redis: Any = aioredis.from_url(url)  # redis-py types every reply as a union
        self._commit = self.redis.register_script(COMMIT)
        self._commit_many = self.redis.register_script(COMMIT_MANY)
        self._read = self.redis.register_script(READ)
        self._release = self.redis.register_script(RELEASE)
        self.changes_key = f"{prefix}:changes"
        self.generation_key = f"{prefix}:generation"

    def _profile(self, pid: str) -> str:
        return f"{self.prefix}:profile:{pid}"

    def _id(self, key: str) -> str:
        return f"{self.prefix}:id:{key}"

    async def start(self) -> None:
        try:
            await self._load_scripts()  # the pipelines of apply() call them by their sha
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
        """Apply ``events`` in waves: a run of each chain (:func:`chains`; a run: one
        person's next events, :func:`fold`), then the next run of each... A wave is read in
        one pipelined round trip and written in another; one person's events stay in order."""
        outcomes: list[Outcome | None] = [None] * len(events)
        where = chains(events)
        todo = [[events[i] for i in group] for group in where]
        done = [0] * len(todo)
        try:
            while True:
                wave = [c for c in range(len(todo)) if done[c] < len(todo[c])]
                if not wave:
                    break
                for start in range(0, len(wave), WAVE):
                    part = wave[start : start + WAVE]
                    runs = [todo[c][done[c] :] for c in part]
                    try:
                        found = await self._apply_wave(runs, engine, record_changes)
                    except NoScriptError:  # Redis restarted: nothing of the wave was run
                        await self._load_scripts()
                        found = await self._apply_wave(runs, engine, record_changes)
                    for c, applied in zip(part, found, strict=True):
                        for outcome in applied:
                            outcomes[where[c][done[c]]] = outcome
                            done[c] += 1
        except RedisError as exc:
            raise TransientError(
                mask(f"Redis failed while applying events ({exc}); retry", url_secrets(self.url))
            ) from exc
        return [outcome for outcome in outcomes if outcome is not None]

    async def _apply_wave(
        self, runs: list[list[Event]], engine: LiveEngine, record_changes: bool
    ) -> list[list[Outcome]]:
        """The outcomes of the first events of each run (which share no identity): all read
        at once, planned, all committed at once. A run whose commit met a concurrent write
        (another worker's, or a wave-mate's that reached the same profile through a stored
        link) or a message already seen is applied again, one event at a time."""
        # evalsha on the pipeline itself: a script registered with it would cost a round
        # trip more (redis-py asks SCRIPT EXISTS before every execute); they are loaded once.
        pipe = self.redis.pipeline(transaction=False)
        for run in runs:
            keys, args = self._read_call(run[0])
            pipe.evalsha(self._read.sha, len(keys), *keys, *args)
        replies = await pipe.execute()
        steps = [
            self._planned(run, reply, engine, record_changes)
            for run, reply in zip(runs, replies, strict=True)
        ]
        pipe = self.redis.pipeline(transaction=False)
        for step in steps:
            if not isinstance(step, Outcome):
                pipe.evalsha(self._commit_many.sha, len(step[1]), *step[1], *step[2])
        results = iter(await pipe.execute() if len(pipe) else [])
        outcomes: list[list[Outcome]] = []
        for run, step in zip(runs, steps, strict=True):
            if isinstance(step, Outcome):
                outcomes.append([step])
            elif (result := next(results)) == b"ok":
                outcomes.append([Outcome("applied", changes=p.changes) for p in step[0]])
            elif len(step[0]) == 1 and result == b"dup":
                outcomes.append([Outcome("duplicate")])
            else:
                run = run[: len(step[0])]
                outcomes.append([await self._apply_one(e, engine, record_changes) for e in run])
        return outcomes

    async def _load_scripts(self) -> None:
        for script in (self._read, self._commit_many):
            script.sha = await self.redis.script_load(script.script)

    def _read_call(self, event: Event) -> tuple[list[str], list[str]]:
        """The keys and arguments of the read script for ``event``."""
        keys = identity_keys(event)
        return (
            [f"{self.prefix}:msg:{event['messageId']}", *(self._id(k) for k in keys)],
            [self._profile(""), keys[0] if keys else ""],
        )

    def _planned(
        self, run: list[Event], reply: list[Any], engine: LiveEngine, record_changes: bool
    ) -> Outcome | tuple[list[Plan], list[Any], list[Any]]:
        """What was read for ``run[0]``, planned with the next events :func:`fold` takes: the
        outcome when there is nothing to write, else the plans and the commit's keys and
        arguments (for ``COMMIT_MANY``)."""
        if reply[0]:
            return Outcome("duplicate")
        keys = identity_keys(run[0])
        first, rest = reply[1 : 1 + len(keys)], reply[1 + len(keys) :]
        pids = [p.decode() for p in rest[: len(rest) // 2]]
        raw = rest[len(rest) // 2 :]
        resolved = {k: (v.decode() or None) for k, v in zip(keys, first, strict=True)}
        profiles = {p: (orjson.loads(r) if r else None) for p, r in zip(pids, raw, strict=True)}
        plans, error = fold(run, resolved, profiles, engine)
        if error is not None:  # a bad event must not stop the stream: dead-letter it
            return rejected(error)
        watched = [self._id(k) for k in keys] + [self._profile(p) for p in pids]
        # Each key's last state: a profile (serialised once, at the end), an id, or deleted.
        final: dict[str, Profile | bytes | None] = {}
        for plan in plans:
            final.update(dict.fromkeys((self._profile(p) for p in plan.removed), None))
            final[self._profile(plan.profile_id)] = plan.profile
            final.update({self._id(k): pid.encode() for k, pid in plan.identities.items()})
        sets = {
            key: value if isinstance(value, bytes) else orjson.dumps(value)
            for key, value in final.items()
            if value is not None
        }
        dels = [key for key, value in final.items() if value is None]
        messages = [f"{self.prefix}:msg:{e['messageId']}" for e in run[: len(plans)]]
        changes = [c for plan in plans for c in plan.changes] if record_changes else []
        return (
            plans,
            [self.changes_key, *messages, *watched, *sets, *dels],
            [
                *(len(messages), len(watched), len(sets), len(dels), self.ttl),
                *first,
                *raw,
                *sets.values(),
                *(orjson.dumps(c) for c in changes),
            ],
        )

    async def _apply_one(self, event: Event, engine: LiveEngine, record_changes: bool) -> Outcome:
        for attempt in range(MAX_CONFLICTS):
            if attempt:  # writers that collided retry at random moments, not in lockstep
                await asyncio.sleep(random.uniform(0, 0.0005 * min(attempt, 20)))
            keys, args = self._read_call(event)
            reply = await self._read(keys=keys, args=args)
            step = self._planned([event], reply, engine, record_changes)
            if isinstance(step, Outcome):
                return step
            result = await self._commit_many(keys=step[1], args=step[2])
            if result == b"ok":
                return Outcome("applied", changes=step[0][0].changes)
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
