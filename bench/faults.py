"""Faults under load, measured on the real services: nothing dead-lettered, lost or doubled.

Four scenarios, each in a fresh workspace (``audience init``), with a RabbitMQ queue of its
own (``bench-faults-<uuid>``, deleted at the end) and, where Redis is used, a private
``redis-server`` on a free port started with ``--save "" --appendonly no``: stopping it
disturbs no one, and it comes back empty, as an unpersisted Redis does, so that the consumer's
generation check and the rebuild from the event log are exercised.

1. ``redis-down``: server + worker (RabbitMQ, Redis); Redis stopped for 30 s under load;
2. ``worker-kill``: server + worker; the worker SIGKILLed ten times, each time once it
   consumes again, and restarted after a short random delay;
3. ``server-kill``: ``audience serve`` alone (embedded queue and profile store, consumer
   in-process) SIGKILLed ten times while it picks up batches, and restarted;
4. ``broker-restart``: server + worker; ``rabbitmqctl stop_app`` then ``start_app`` under
   load. This disturbs everyone else on the machine's RabbitMQ: it runs last, and
   ``start_app`` runs in a ``finally``.

A load generator (client threads) posts ``/v1/batch`` requests of ``Order Completed`` track
events (unique ``messageId``, ``properties.total = 1``, users ``u0``..``u<n>``) at a bounded
rate. A request that fails (connection error, timeout, 5xx) is sent again with the *same*
events, as Segment's clients do, until it gets a 2xx: *accepted* counts the events of
requests answered 2xx. When the scenario's time is up no new request starts; those under way
are retried until answered.

Then the bench waits (polling, no fixed sleeps) until the queue is drained and the consumer
is quiet, stops the consumer, and per user compares what was accepted with the live profile
(``counters["Order Completed"]`` read through ``GET /v1/profiles/u<i>``):
*lost* = Σ max(0, accepted − live), *doubled* = Σ max(0, live − accepted), *applied* =
Σ live, *dead* = events in dead letters (``audience deadletters list --json``), *retried* =
batches handed over again after an outage (the worker's summary, or ``/health`` for the
embedded server, summed over the processes that reported it). Finally everything stops,
``audience sync`` loads the event log, and the warehouse's ``Order Completed`` rows per user
must equal the live counters.

Exit status 1 if any line shows dead, lost or doubled events, live ≠ warehouse, events whose
request never got an answer, or an error. A failed scenario's workspace (logs included) is
kept and its path printed.

Run: ``PYTHONPATH=src .venv/bin/python bench/faults.py [--scenario NAME] [--quick]
[--duration S] [--rate EVENTS_PER_S]``; RabbitMQ on 127.0.0.1:5672 (``--rabbit-url``) and
``redis-server`` on the PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"
WRITE_KEY = "dev-write-key"
READ_KEY = "dev-read-key"
EVENT = "Order Completed"
SCENARIOS = ("redis-down", "worker-kill", "server-kill", "broker-restart")
"""In the order they run: the broker restart last, as it disturbs every other user."""
RETRIED = re.compile(r"retried\s+after\s+an\s+outage\s+([\d,]+)")
REBUILT = "live profiles rebuilt"


@dataclass
class Plan:
    """The size of a run."""

    duration: float = 60.0
    """Seconds of load (longer if the faults take longer to play out)."""
    rate: float = 1000.0
    """Events per second the clients send, at most."""
    batch: int = 20
    users: int = 200
    clients: int = 4
    kills: int = 10
    redis_outage: float = 30.0
    broker_outage: float = 10.0
    drain_timeout: float = 600.0
    flush_timeout: float = 180.0
    """Seconds the requests under way when load stops may take to get an answer."""

    @classmethod
    def quick(cls) -> Plan:
        return cls(duration=15.0, rate=500.0, kills=3, redis_outage=5.0, broker_outage=2.0)


@dataclass
class Result:
    scenario: str
    seconds: float = 0.0
    accepted: int = 0
    applied: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0
    doubled: int = 0
    differ: int | None = None
    """Users whose warehouse count differs from the live one (None: not compared)."""
    unsettled: int = 0
    """Events of requests that never got an answer (neither accepted nor refused)."""
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    kept: Path | None = None

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and self.dead == 0
            and self.lost == 0
            and self.doubled == 0
            and self.differ == 0
            and self.unsettled == 0
        )


# --------------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def audience(*args: str) -> list[str]:
    """``python -m audience.cli <args>`` with this interpreter."""
    return [sys.executable, "-m", "audience.cli", *args]


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment, this checkout's ``src`` first on the path, wide consoles (the
    worker's summary on one line), plus ``extra``."""
    path = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    return {**os.environ, "PYTHONPATH": path, "COLUMNS": "200", **(extra or {})}


def wait_for(ready: Callable[[], bool], timeout: float, what: str, every: float = 0.1) -> None:
    """Poll ``ready`` until true, else raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() >= deadline:
            raise RuntimeError(f"{what}: not within {timeout:.0f}s")
        time.sleep(every)


class Procs:
    """Every process the bench starts, each leading a process group, stopped on every path."""

    def __init__(self) -> None:
        self.alive: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with log.open("ab") as handle:
            proc = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.alive.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the process and its group; reap it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        self._forget(proc)

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 30.0) -> int:
        """SIGTERM the group, wait up to ``grace`` seconds, then SIGKILL what is left."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait(30)
        self._forget(proc)
        return code

    def _forget(self, proc: subprocess.Popen[bytes]) -> None:
        if proc in self.alive:
            self.alive.remove(proc)

    def stop_all(self) -> None:
        for proc in list(reversed(self.alive)):
            self.stop(proc, grace=10.0)


def run(argv: list[str], env: dict[str, str], timeout: float = 300.0) -> str:
    """Run to completion (its group killed on a timeout); its stdout, or raise with stderr."""
    proc = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[2:])} failed ({proc.returncode}): {err.strip()}")
    return out


# ------------------------------------------------------------------------------ the services


class PrivateRedis:
    """A ``redis-server`` of the bench's own, without persistence: stopped, it comes back empty."""

    def __init__(self, procs: Procs, directory: Path) -> None:
        self.procs = procs
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        self.proc = self.procs.start(argv, self.directory / "redis.log", child_env())
        client = redis.Redis(port=self.port, socket_timeout=1)

        def answers() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        try:
            wait_for(answers, 30, "redis-server")
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.procs.stop(self.proc)
            self.proc = None


class Rabbit:
    """The scenario's own queue on the shared broker: its depth, its consumers, its removal."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name

    def depth(self) -> tuple[int, int] | None:
        """(ready messages, consumers) by a passive declare; None while the broker is away."""
        try:
            return asyncio.run(self._passive())
        except Exception:
            return None

    async def _passive(self) -> tuple[int, int]:
        import aio_pika

        connection = await aio_pika.connect(self.url, timeout=5)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(self.name, passive=True)
            result = queue.declaration_result
            return int(result.message_count or 0), int(result.consumer_count or 0)

    def total(self) -> int | None:
        """Ready *and* unacknowledged messages (``rabbitmqctl``); None if it cannot tell."""
        if shutil.which("rabbitmqctl") is None:
            return None
        try:
            out = run(
                ["rabbitmqctl", "-q", "list_queues", "name", "messages", "--no-table-headers"],
                child_env(),
                timeout=60,
            )
        except Exception:
            return None
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == self.name:
                return int(parts[1])
        return None

    def delete(self) -> None:
        asyncio.run(self._delete())

    async def _delete(self) -> None:
        import aio_pika

        connection = await aio_pika.connect(self.url, timeout=10)
        async with connection:
            channel = await connection.channel()
            for queue in (self.name, f"{self.name}.dead"):
                await channel.queue_delete(queue)
            await channel.exchange_delete(f"{self.name}.dead")


class Server:
    """``audience serve`` on a fixed port, as a process; restarted on the same port."""

    def __init__(self, procs: Procs, root: Path, env: dict[str, str]) -> None:
        self.procs = procs
        self.root = root
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.incarnation = 0
        self.retries: dict[int, int] = {}
        """Last ``consumer.retries`` seen on /health, per incarnation (embedded mode)."""

    def start(self) -> None:
        argv = audience("serve", "--port", str(self.port), "--workspace", str(self.root))
        self.incarnation += 1
        self.proc = self.procs.start(argv, self.root / "server.log", self.env)
        self.wait_ready()

    def wait_ready(self, timeout: float = 120.0) -> None:
        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}")
            health = self.health()
            return health is not None and health.get("status") == "ok"

        wait_for(ready, timeout, "the server's /health to say ok", every=0.1)

    def health(self) -> dict[str, Any] | None:
        try:
            reply = httpx.get(f"{self.url}/health", timeout=2)
        except httpx.HTTPError:
            return None
        if reply.status_code != 200:
            return None
        body: dict[str, Any] = reply.json()
        consumer = body.get("consumer")
        if isinstance(consumer, dict):
            self.retries[self.incarnation] = int(consumer.get("retries", 0))
        return body

    def kill(self) -> None:
        if self.proc is not None:
            self.procs.kill(self.proc)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.procs.stop(self.proc)
            self.proc = None

    def counters(self, users: int) -> dict[str, int]:
        """``counters["Order Completed"]`` of every user's live profile (the read API)."""
        found: dict[str, int] = {}
        with httpx.Client(base_url=self.url, headers=basic(READ_KEY), timeout=10) as http:
            for i in range(users):
                user = f"u{i}"
                for attempt in itertools.count():
                    reply = http.get(f"/v1/profiles/{user}")
                    if reply.status_code in (200, 404) or attempt >= 50:
                        break
                    time.sleep(0.2)  # 503: the store is not answering yet
                if reply.status_code == 200:
                    found[user] = int(reply.json()["profile"]["counters"].get(EVENT, 0))
                elif reply.status_code == 404:
                    found[user] = 0
                else:
                    raise RuntimeError(f"GET /v1/profiles/{user}: {reply.status_code}")
        return found


class Worker:
    """``audience worker`` as a process; each incarnation's output in its own log file."""

    def __init__(self, procs: Procs, root: Path, env: dict[str, str]) -> None:
        self.procs = procs
        self.root = root
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        self.retried = 0
        """Summed over the incarnations that stopped gracefully (a killed one says nothing)."""

    def start(self) -> None:
        log = self.root / f"worker-{len(self.logs) + 1}.log"
        self.logs.append(log)
        argv = audience("worker", "--workspace", str(self.root))
        self.proc = self.procs.start(argv, log, self.env)

    def kill(self) -> None:
        if self.proc is not None:
            self.procs.kill(self.proc)
            self.proc = None

    def stop(self) -> None:
        """SIGTERM: it finishes its batch and prints its summary, which is read here."""
        if self.proc is None:
            return
        code = self.procs.stop(self.proc, grace=60.0)
        self.proc = None
        text = " ".join(self.logs[-1].read_text(errors="replace").split())
        found = RETRIED.findall(text)
        if code != 0 or not found:
            raise RuntimeError(f"the worker stopped with {code} without its summary: {text[-500:]}")
        self.retried += int(found[-1].replace(",", ""))

    def rebuilds(self) -> int:
        return sum(log.read_text(errors="replace").count(REBUILT) for log in self.logs)


# ------------------------------------------------------------------------------------- load


class Load:
    """Client threads posting batches at a bounded rate, retrying a failed request as it was."""

    def __init__(self, url: str, plan: Plan, tag: str) -> None:
        self.url = url
        self.plan = plan
        self.tag = tag
        self.accepted: Counter[str] = Counter()
        self.refused: Counter[int] = Counter()
        """Status codes of failed attempts (0: no answer), each attempt counted."""
        self.rejected = 0
        """Events of requests refused for good (4xx): a bug of the bench or the server."""
        self.unsettled = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._stop_new = threading.Event()
        self._give_up = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, args=(k,), name=f"load-{k}", daemon=True)
            for k in range(plan.clients)
        ]
        self.started = 0.0
        self.stopped = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()

    def finish(self) -> None:
        """Start no new request; wait for those under way (retried until answered)."""
        self._stop_new.set()
        self.stopped = time.monotonic()
        deadline = time.monotonic() + self.plan.flush_timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._give_up.set()
        for thread in self._threads:
            thread.join(30)

    def total(self) -> int:
        with self._lock:
            return sum(self.accepted.values())

    def _client(self, k: int) -> None:
        rng = random.Random(f"{self.tag}-{k}")
        interval = self.plan.clients * self.plan.batch / self.plan.rate
        due = time.monotonic() + interval * k / self.plan.clients
        with httpx.Client(base_url=self.url, headers=basic(WRITE_KEY), timeout=10) as http:
            while not self._stop_new.is_set():
                delay = due - time.monotonic()
                if delay > 0 and self._stop_new.wait(delay):
                    return
                due = max(due + interval, time.monotonic())  # behind: no catch-up burst
                n = next(self._seq)
                stamp = datetime.now(UTC).isoformat()
                events = [
                    {
                        "type": "track",
                        "event": EVENT,
                        "userId": f"u{rng.randrange(self.plan.users)}",
                        "messageId": f"{self.tag}-{n}-{i}",
                        "timestamp": stamp,
                        "properties": {"total": 1},
                    }
                    for i in range(self.plan.batch)
                ]
                self._send(http, events)

    def _send(self, http: httpx.Client, events: list[dict[str, Any]]) -> None:
        delay = 0.1
        while not self._give_up.is_set():
            status = 0
            try:
                reply = http.post("/v1/batch", json={"batch": events})
                status = reply.status_code
            except httpx.HTTPError:
                pass
            with self._lock:
                self.requests += 1
                if 200 <= status < 300:
                    self.accepted.update(e["userId"] for e in events)
                    return
                self.refused[status] += 1
                if 400 <= status < 500 and status not in (408, 429):
                    self.rejected += len(events)
                    return
            self._give_up.wait(delay)
            delay = min(delay * 2, 1.0)
        with self._lock:
            self.unsettled += len(events)


# -------------------------------------------------------------------------------- scenarios


class Scenario:
    """One scenario's workspace, services and measurements."""

    def __init__(self, name: str, plan: Plan, rabbit_url: str, *, broker: bool) -> None:
        self.name = name
        self.plan = plan
        self.broker = broker
        self.procs = Procs()
        self.dir = Path(tempfile.mkdtemp(prefix=f"audience-faults-{name}-"))
        self.root = self.dir / "ws"
        self.tag = f"{name}-{uuid.uuid4().hex[:8]}"
        extra: dict[str, str] = {}
        self.rabbit: Rabbit | None = None
        self.redis: PrivateRedis | None = None
        if broker:
            queue = f"bench-faults-{uuid.uuid4().hex[:12]}"
            self.rabbit = Rabbit(rabbit_url, queue)
            self.redis = PrivateRedis(self.procs, self.dir)
            extra = {
                "AUDIENCE_QUEUE__URL": rabbit_url,
                "AUDIENCE_QUEUE__NAME": queue,
                "AUDIENCE_PROFILES__URL": self.redis.url,
                "AUDIENCE_PROFILES__PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
            }
        self.env = child_env(extra)
        self.server = Server(self.procs, self.root, self.env)
        self.worker = Worker(self.procs, self.root, self.env) if broker else None
        self.load = Load(self.server.url, plan, self.tag)
        self.result = Result(name)
        self._watching = threading.Event()

    @contextlib.contextmanager
    def running(self) -> Iterator[Scenario]:
        """The workspace and services, stopped (and the queue deleted) however it ends."""
        try:
            run(audience("init", str(self.root)), self.env, timeout=120)
            if self.redis is not None:
                self.redis.start()
            self.server.start()
            if self.worker is not None:
                self.worker.start()
            yield self
        finally:
            self._watching.set()
            self.procs.stop_all()
            if self.rabbit is not None:
                with contextlib.suppress(Exception):
                    self.rabbit.delete()

    # ------------------------------------------------------------------------- while loaded

    def watch_health(self) -> threading.Thread:
        """Poll /health in the background (the embedded consumer's retries, per incarnation)."""

        def watch() -> None:
            while not self._watching.wait(0.5):
                self.server.health()

        thread = threading.Thread(target=watch, name="health", daemon=True)
        thread.start()
        return thread

    def pause(self, seconds: float) -> None:
        """Let the load run (the time a fault lasts, or between faults: not a readiness wait)."""
        time.sleep(max(0.0, seconds))

    def wait_consuming(self) -> None:
        """Until the scenario's queue has a consumer (a worker started and subscribed)."""
        assert self.rabbit is not None

        def consuming() -> bool:
            depth = self.rabbit.depth() if self.rabbit else None
            return depth is not None and depth[1] >= 1

        wait_for(consuming, 120, "a worker consuming the queue", every=0.2)

    def wait_applying(self) -> None:
        """Until the consumer started last has applied events (it picks up batches)."""
        if self.worker is not None:
            log = self.worker.logs[-1]
            before = self._redis_sum()
            wait_for(lambda: self._redis_sum() not in (None, before), 120, f"{log.name} applying")
            return

        def applying() -> bool:
            health = self.server.health()
            return health is not None and health["consumer"]["applied"] > 0

        wait_for(applying, 120, "the embedded consumer applying events", every=0.05)

    # --------------------------------------------------------------------------- afterwards

    def drain(self) -> None:
        """Wait until everything accepted is consumed, then stop the consumer."""
        settle = 2.0
        deadline = time.monotonic() + self.plan.drain_timeout
        while True:
            last: object = None
            since = time.monotonic()
            while True:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not drained within {self.plan.drain_timeout:.0f}s")
                state = self._progress()
                if state is None or state != last:
                    last, since = state, time.monotonic()
                elif time.monotonic() - since >= settle and self._confirmed():
                    break
                time.sleep(0.25)
            if self.worker is None:
                return
            self.worker.stop()  # its unacknowledged messages, if any, return to the queue
            depth = self.rabbit.depth() if self.rabbit else None
            if depth is not None and depth[0] == 0:
                return
            self.result.notes.append(f"{depth} left after the worker stopped: started again")
            self.worker.start()

    def _progress(self) -> object:
        """What changes while the consumer works; None while it cannot be read or work waits."""
        if self.rabbit is not None:
            depth = self.rabbit.depth()
            if depth is None or depth[0] != 0:
                return None
            return self._redis_sum()
        health = self.server.health()
        if health is None or health.get("status") != "ok":
            return None
        from audience.realtime.queue.embedded import backlog

        from_queue = backlog(self.root / "realtime" / "queue.sqlite")
        if from_queue != 0:
            return None
        consumer = health["consumer"]
        return (consumer["applied"], consumer["duplicates"], consumer["dead_letters"])

    def _confirmed(self) -> bool:
        """RabbitMQ: nothing unacknowledged either (the worker holds no batch back)."""
        if self.rabbit is None:
            return True
        total = self.rabbit.total()
        return total is None or total == 0

    def _redis_sum(self) -> int | None:
        import redis

        assert self.redis is not None
        prefix = self.env["AUDIENCE_PROFILES__PREFIX"]
        client: Any = redis.Redis.from_url(self.redis.url, socket_timeout=2, decode_responses=True)
        try:
            ids = client.mget([f"{prefix}:id:user_id:u{i}" for i in range(self.plan.users)])
            keys = [f"{prefix}:profile:{pid}" for pid in ids if pid]
            raws = client.mget(keys) if keys else []
            return sum(int(json.loads(raw)["counters"].get(EVENT, 0)) for raw in raws if raw)
        except redis.RedisError:
            return None
        finally:
            client.close()

    def measure(self) -> None:
        """Live counters against accepted events, dead letters; then the warehouse."""
        r, plan = self.result, self.plan
        live = self.server.counters(plan.users)
        for i in range(plan.users):
            user = f"u{i}"
            expected, got = self.load.accepted[user], live.get(user, 0)
            r.lost += max(0, expected - got)
            r.doubled += max(0, got - expected)
        r.accepted = self.load.total()
        r.applied = sum(live.values())
        r.unsettled = self.load.unsettled
        letters = json.loads(
            run(audience("deadletters", "list", "--json", "--workspace", str(self.root)), self.env)
        )
        r.dead = sum(int(letter["events"]) for letter in letters)
        if self.worker is not None:
            r.retried = self.worker.retried
        else:
            r.retried = sum(self.server.retries.values())
        self.procs.stop_all()
        sync = json.loads(run(audience("sync", "--json", "--workspace", str(self.root)), self.env))
        if sync["rows_quarantined"]:
            r.notes.append(f"sync quarantined {sync['rows_quarantined']} row(s)")
        stored = warehouse_counts(self.root)
        users = set(live) | set(stored)
        r.differ = sum(live.get(u, 0) != stored.get(u, (0, 0))[0] for u in users)
        twice = sum(rows - distinct for rows, distinct in stored.values())
        if twice:
            r.notes.append(f"the warehouse holds {twice} messageId(s) more than once")
            r.differ = max(r.differ, 1)
        load = self.load
        failed = sum(load.refused.values())
        codes = ", ".join(f"{code or 'no answer'}: {n}" for code, n in sorted(load.refused.items()))
        r.notes.append(
            f"{load.requests:,} requests, {failed:,} failed attempts ({codes or 'none'}), "
            f"warehouse rows {sum(v[0] for v in stored.values()):,}"
        )
        if load.rejected:
            r.error = f"{load.rejected} event(s) refused for good (4xx)"


def warehouse_counts(root: Path) -> dict[str, tuple[int, int]]:
    """Per user: ``Order Completed`` rows and distinct messageIds in the warehouse."""
    import duckdb

    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT user_id, count(*), count(DISTINCT message_id) FROM events "
            "WHERE event = ? GROUP BY user_id",
            [EVENT],
        ).fetchall()
    finally:
        con.close()
    return {str(user): (int(n), int(distinct)) for user, n, distinct in rows}


def rabbitmqctl(*args: str, timeout: float) -> None:
    run(["rabbitmqctl", "-q", *args], child_env(), timeout=timeout)


def faults_redis_down(s: Scenario) -> None:
    assert s.redis is not None
    s.pause(min(10.0, s.plan.duration / 6))
    s.wait_consuming()
    s.redis.stop()
    s.result.notes.append(f"Redis stopped for {s.plan.redis_outage:.0f}s")
    s.pause(s.plan.redis_outage)
    s.redis.start()  # empty: no RDB, no AOF


def faults_worker_kill(s: Scenario) -> None:
    assert s.worker is not None
    gap = s.plan.duration * 0.8 / s.plan.kills
    rng = random.Random(s.tag)
    for _ in range(s.plan.kills):
        s.wait_consuming()
        s.pause(rng.uniform(0.3, max(0.6, gap - 1.5)))
        s.wait_applying()  # mid-stream: it applied events since it started
        s.worker.kill()
        s.pause(rng.uniform(0.1, 1.5))
        s.worker.start()
    s.result.notes.append(f"worker SIGKILLed {s.plan.kills} times")


def faults_server_kill(s: Scenario) -> None:
    gap = s.plan.duration * 0.8 / s.plan.kills
    rng = random.Random(s.tag)
    for _ in range(s.plan.kills):
        s.server.wait_ready()  # consuming: /health says ok only while the consumer runs
        s.pause(rng.uniform(1.0, 1.0 + gap))
        s.wait_applying()  # picking up batches: it applied events since it started
        s.server.kill()
        s.pause(rng.uniform(0.0, 0.5))
        s.server.start()
    s.result.notes.append(f"server SIGKILLed {s.plan.kills} times")


def faults_broker_restart(s: Scenario) -> None:
    assert s.rabbit is not None
    s.pause(min(15.0, s.plan.duration / 4))
    s.wait_consuming()
    rabbitmqctl("stop_app", timeout=120)
    try:
        s.pause(s.plan.broker_outage)
    finally:
        rabbitmqctl("start_app", timeout=180)
    wait_for(lambda: s.rabbit is not None and s.rabbit.depth() is not None, 120, "RabbitMQ")
    s.result.notes.append(f"RabbitMQ stopped for {s.plan.broker_outage:.0f}s and started again")


FAULTS: dict[str, tuple[Callable[[Scenario], None], bool]] = {
    "redis-down": (faults_redis_down, True),
    "worker-kill": (faults_worker_kill, True),
    "server-kill": (faults_server_kill, False),
    "broker-restart": (faults_broker_restart, True),
}


def run_scenario(name: str, plan: Plan, rabbit_url: str) -> Result:
    fault, broker = FAULTS[name]
    s = Scenario(name, plan, rabbit_url, broker=broker)
    try:
        with s.running():
            if s.worker is None:
                s.watch_health()
            s.load.start()
            try:
                fault(s)
                s.pause(plan.duration - (time.monotonic() - s.load.started))
            finally:
                s.load.finish()
            s.result.seconds = s.load.stopped - s.load.started
            if s.worker is not None and s.worker.proc is None:
                s.worker.start()  # a fault interrupted between a kill and a restart
            drained = time.monotonic()
            s.drain()
            s.result.notes.append(f"drained {time.monotonic() - drained:.0f}s after load stopped")
            s.measure()
            if s.worker is not None and s.worker.rebuilds():
                s.result.notes.append(f"profiles rebuilt {s.worker.rebuilds()} time(s)")
    except Exception as exc:
        s.result.error = f"{type(exc).__name__}: {exc}"
    except BaseException:  # interrupted: everything is stopped by now, nothing to keep
        shutil.rmtree(s.dir, ignore_errors=True)
        raise
    if s.result.ok:
        shutil.rmtree(s.dir, ignore_errors=True)
    else:
        s.result.kept = s.dir
    return s.result


# ------------------------------------------------------------------------------------ report

HEADER = (
    f"{'scenario':<15} {'seconds':>7} {'accepted':>9} {'applied':>9} {'retried':>7} "
    f"{'dead':>5} {'lost':>5} {'doubled':>7}  live=warehouse"
)


def line(r: Result) -> str:
    same = "—" if r.differ is None else "yes" if r.differ == 0 else f"no ({r.differ} users differ)"
    text = (
        f"{r.scenario:<15} {r.seconds:>7.0f} {r.accepted:>9,} {r.applied:>9,} {r.retried:>7,} "
        f"{r.dead:>5,} {r.lost:>5,} {r.doubled:>7,}  {same}"
    )
    if r.unsettled:
        text += f"  UNSETTLED {r.unsettled:,}"
    if r.error:
        text += f"  ERROR {r.error}"
    return text


def details(r: Result) -> list[str]:
    out = [f"  {note}" for note in r.notes]
    if r.kept is not None:
        out.append(f"  kept for inspection: {r.kept}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="repeatable")
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--duration", type=float, help="seconds of load per scenario")
    parser.add_argument("--rate", type=float, help="events per second at most")
    parser.add_argument("--kills", type=int, help="SIGKILLs per kill scenario")
    parser.add_argument("--rabbit-url", default=os.environ.get("BENCH_RABBIT_URL", RABBIT_URL))
    args = parser.parse_args(argv)
    plan = Plan.quick() if args.quick else Plan()
    plan.duration = args.duration or plan.duration
    plan.rate = args.rate or plan.rate
    plan.kills = args.kills or plan.kills
    chosen = [name for name in SCENARIOS if name in (args.scenario or SCENARIOS)]
    if any(FAULTS[name][1] for name in chosen) and shutil.which("redis-server") is None:
        print("redis-server is not on the PATH", file=sys.stderr)
        return 2

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # unwinds through every finally: processes stopped

    signal.signal(signal.SIGTERM, interrupted)
    print(
        f"{len(chosen)} scenario(s), {plan.duration:.0f}s of load each at up to "
        f"{plan.rate:,.0f} events/s ({plan.batch} per request, {plan.users} users)",
        flush=True,
    )
    print(HEADER, flush=True)
    results = []
    for name in chosen:
        try:
            result = run_scenario(name, plan, args.rabbit_url)
        except KeyboardInterrupt:
            print(f"interrupted during {name}; its processes are stopped", flush=True)
            return 130
        results.append(result)
        print(line(result), flush=True)
        for text in details(result):
            print(text, flush=True)
    if len(results) > 1:
        print("\n" + HEADER)
        for result in results:
            print(line(result))
    failed = [r.scenario for r in results if not r.ok]
    if failed:
        print(f"FAILED: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
