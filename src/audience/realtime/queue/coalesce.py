"""Group commit: concurrent requests share one durable write and one confirm.

A broker confirm or an fsync costs about the same for one event as for a thousand, so the
collector never writes per request when several wait together: each request hands its
serialised events to a :class:`Coalescer` and waits; a write takes everything pending, up to
``max_items`` events, and answers every request it carried at once. Under light load each
request is written alone at once (no timer, no added latency); under heavy load the writes
grow, which is what keeps ``/v1/track`` fast at thousands of requests per second.

The events a coalescer holds (waiting or being written) are bounded by ``max_bytes``: past it a
request is refused at once with :class:`~audience.errors.QueueFullError` (HTTP 429 with
``Retry-After``), so that a broker falling behind slows the clients down instead of growing the
server's memory without end.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from audience.errors import QueueFullError

Flush = Callable[[list[bytes]], Awaitable[None]]


class Coalescer:
    """Run ``flush`` over the parts of several concurrent :meth:`submit` calls at once.

    Parameters
    ----------
    flush:
        Writes a list of serialised events durably; raises if they were not written.
    max_items:
        Most events one flush carries (a request's events are never split).
    max_inflight:
        Flushes running at once: more overlap broker round trips, one keeps strict order.
    max_bytes:
        Most bytes of events held (waiting or being written); None: no bound.
    """

    def __init__(
        self, flush: Flush, *, max_items: int, max_inflight: int, max_bytes: int | None = None
    ) -> None:
        self._flush = flush
        self.max_items = max_items
        self.max_inflight = max_inflight
        self.max_bytes = max_bytes
        self.held = 0
        """Bytes of events submitted and not yet written (or failed)."""
        self._pending: deque[tuple[list[bytes], asyncio.Future[None]]] = deque()
        self._inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, parts: list[bytes]) -> None:
        """Return once ``parts`` are durably written; raise what their flush raised.

        Raises :class:`QueueFullError` at once, holding nothing, when ``parts`` would take
        the bytes held past ``max_bytes``.
        """
        size = sum(len(part) for part in parts)
        if self.max_bytes is not None and self.held + size > self.max_bytes:
            raise QueueFullError(
                f"the collector holds {self.held:,} bytes of events the queue has not yet "
                f"confirmed and this request's {size:,} would pass its {self.max_bytes:,}-byte "
                "buffer (AUDIENCE_QUEUE__BUFFER_BYTES); slow down and retry after Retry-After"
            )
        self.held += size
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # A request cancelled while it waits must not leave the failure unretrieved.
        future.add_done_callback(_retrieve)
        self._pending.append((parts, future))
        self._start_flushes()
        await asyncio.shield(future)

    def _start_flushes(self) -> None:
        while self._pending and self._inflight < self.max_inflight:
            group = [self._pending.popleft()]
            count = len(group[0][0])
            while self._pending and count + len(self._pending[0][0]) <= self.max_items:
                parts, future = self._pending.popleft()
                group.append((parts, future))
                count += len(parts)
            self._inflight += 1
            task = asyncio.create_task(self._run(group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, group: list[tuple[list[bytes], asyncio.Future[None]]]) -> None:
        size = sum(len(part) for parts, _ in group for part in parts)
        try:
            await self._flush([part for parts, _ in group for part in parts])
        except Exception as exc:  # every waiting request gets the failure, none hangs
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
        else:
            for _, future in group:
                if not future.done():
                    future.set_result(None)
        finally:
            self.held -= size
            self._inflight -= 1
            self._start_flushes()

    async def drain(self) -> None:
        """Wait for every flush started so far (on shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def join_events(parts: list[bytes]) -> bytes:
    """Serialised events as one JSON array, without parsing them again."""
    return b"[" + b",".join(parts) + b"]"


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
