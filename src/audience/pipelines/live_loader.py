"""The background loader: events accepted live reach the warehouse while the server runs.

The consumer never holds the warehouse (DuckDB lets one process write it, and batch commands
need it): it logs every event it accepts (:mod:`audience.realtime.eventlog`). Every
``queue.warehouse_load_seconds`` this loader seals the log file being written, if it holds
anything, and loads every sealed file with :func:`~audience.pipelines.sync.sync_events`,
which opens the warehouse for one short transaction per file and closes it. So:

* an accepted event is in the warehouse within about one interval, with no manual step;
* other commands use the warehouse between loads; when one holds it, the load waits and is
  tried again with a growing delay (up to :data:`MAX_DELAY`), and the files wait on disk;
* nothing is lost or doubled: a file is moved to ``loaded/`` only after its import
  committed, and the import is idempotent on ``messageId`` (a crash between the two, or
  ``audience sync`` run alongside, only finds the file's events already there).

Each round also records the live webhook deliveries this process (and any that died) logged
into the warehouse's ``deliveries`` table (:mod:`audience.pipelines.live_deliveries`), so that
``audience deliveries`` shows them beside the batch ones.

After a round, when a batch command (``clean``, ``segment``, ``predict``, an import, a rule
evaluation) changed what ``audience publish`` writes, the loader publishes it into the
running store (:func:`~audience.pipelines.publish.publish_is_stale`), so that live profiles
follow batch without a manual step. ``GET /health`` shows the loader's state.

Without this loop (interval 0) the files are sealed every minute and at stop, for
``audience sync``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from audience.config.settings import Settings
from audience.errors import TransientError
from audience.pipelines.live_deliveries import DeliveryLog, deliveries_dir, load_live_deliveries
from audience.pipelines.publish import PublishReport, publish_is_stale, publish_live_profiles
from audience.pipelines.sync import SyncReport, sync_events
from audience.realtime.consumer import Consumer
from audience.realtime.eventlog import EventLog, events_dir, ready_files
from audience.realtime.queue import Backoff, sleep_unless
from audience.realtime.runtime import Background
from audience.store.workspace import Workspace

log = logging.getLogger(__name__)

MAX_DELAY = 60.0
"""Longest wait between two tries while another process holds the warehouse."""


@dataclass
class LoaderStats:
    """What the loader did since it started (for logs and tests)."""

    rounds: int = 0
    files: int = 0
    rows_new: int = 0
    waits: int = 0
    """Rounds that found the warehouse held by another process."""
    last_error: str | None = None
    last_load_at: str | None = None
    deliveries: int = 0
    """Live webhook deliveries recorded in the warehouse."""
    publishes: int = 0
    """Publishes this loader made after a batch command changed the warehouse."""
    last_publish_at: str | None = None


class WarehouseLoader:
    """A :data:`~audience.realtime.runtime.Background` task loading the event log."""

    def __init__(
        self,
        workspace: Workspace,
        event_log: EventLog | None,
        every: float,
        publish: Callable[[], Awaitable[PublishReport | None]] | None = None,
    ) -> None:
        self.workspace = workspace
        self.event_log = event_log
        self.every = every
        self.publish = publish
        self.stats = LoaderStats()

    def health(self) -> dict[str, object]:
        """For ``GET /health``: what the loader did, and the event files waiting to load."""
        return {
            "every_seconds": self.every,
            "files_waiting": len(ready_files(events_dir(self.workspace))),
            **asdict(self.stats),
        }

    async def __call__(self, stop: asyncio.Event) -> None:
        """Load every interval until ``stop``; then once more, for what was logged last."""
        backoff = Backoff(first=self.every, cap=max(MAX_DELAY, self.every))
        delay = self.every
        while not stop.is_set():
            await sleep_unless(stop, delay)
            if stop.is_set():
                break
            if await self.load():
                backoff.attempt, delay = 0, self.every
            else:
                delay = backoff.next()
        await self.load()

    async def load(self) -> bool:
        """One round: seal the current log file, load the sealed ones; False if it must wait."""
        self.stats.rounds += 1
        if self.event_log is not None:
            await self.event_log.seal()
        DeliveryLog(deliveries_dir(self.workspace)).seal()  # here, where the sink appends
        started = time.monotonic()
        try:
            report = await asyncio.to_thread(sync_events, self.workspace)
            self.stats.deliveries += await asyncio.to_thread(load_live_deliveries, self.workspace)
        except TransientError as exc:  # a batch command holds the warehouse: later
            self.stats.waits += 1
            self.stats.last_error = str(exc)
            log.info("warehouse load postponed: %s", exc)
            return False
        except Exception as exc:  # the loop must outlive any one bad round; files stay
            self.stats.last_error = str(exc)
            log.exception("warehouse load failed; the event files wait for the next round")
            return False
        self._count(report, time.monotonic() - started)
        if self.publish is not None:
            await self._publish(self.publish)
        return True

    async def _publish(self, publish: Callable[[], Awaitable[PublishReport | None]]) -> None:
        try:
            report = await publish()
        except Exception as exc:  # the live profiles catch up at the next round
            self.stats.last_error = f"publish: {exc}"
            log.exception("publishing the warehouse into the live profiles failed")
            return
        if report is not None:
            self.stats.publishes += 1
            self.stats.last_publish_at = report.at
            log.warning(
                "published the warehouse into the live profiles: %d written, %d unchanged",
                report.written,
                report.unchanged,
            )

    def _count(self, report: SyncReport, seconds: float) -> None:
        self.stats.files += len(report.files)
        self.stats.rows_new += report.rows_new
        self.stats.last_error = None
        self.stats.last_load_at = self.workspace.clock.now().isoformat()
        if report.files:
            log.info(
                "loaded %d live event(s) into the warehouse (%d file(s), %.2fs)",
                report.rows_new,
                len(report.files),
                seconds,
            )


def warehouse_loaders(
    workspace: Workspace, settings: Settings, consumer: Consumer
) -> list[Background]:
    """The background loader for ``consumer``'s event log, or none when disabled (0 s)."""
    every = settings.queue.warehouse_load_seconds
    if every <= 0 or consumer.event_log is None:
        return []

    async def publish() -> PublishReport | None:
        if not await asyncio.to_thread(publish_is_stale, workspace):
            return None
        return await publish_live_profiles(workspace, settings, consumer.store)

    return [WarehouseLoader(workspace, consumer.event_log, every, publish)]
