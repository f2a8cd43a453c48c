"""Live webhook deliveries reach the warehouse's ``deliveries`` table, as batch ones do.

The consumer never holds the warehouse (DuckDB has one writer), so each consumer process
appends what became of each live change at each webhook to a file of its own, and the
background loader of ``serve`` or ``worker`` records the sealed files in the warehouse::

    realtime/deliveries/live-<host>-<pid>.jsonl.part        being written by that process
    realtime/deliveries/live-<host>-<pid>-<uuid>.jsonl      sealed: ready to record
    realtime/deliveries/loaded/…                            recorded

A process seals its own file at each loader round, on its event loop (where it also appends,
so that no line lands in a file already read); a file left by a process that died is sealed
by the next loader on the same host. Recording is idempotent on ``delivery_id``, so a
file recorded twice (a crash between the commit and the move) adds nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from audience.activation.deliveries import record_live_deliveries
from audience.activation.live_delivery import LiveDelivery, WebhookSink
from audience.model.activation_plan import ActivationPlan
from audience.store.workspace import Workspace

log = logging.getLogger(__name__)

PREFIX = "live-"


def deliveries_dir(workspace: Workspace) -> Path:
    return workspace.root / "realtime" / "deliveries"


class DeliveryLog:
    """This process's file of live deliveries: append, and seal for the loader."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.name = f"{PREFIX}{socket.gethostname()}-{os.getpid()}"

    @property
    def part(self) -> Path:
        return self.directory / f"{self.name}.jsonl.part"

    def append(self, deliveries: Sequence[LiveDelivery]) -> None:
        if not deliveries:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        lines = b"".join(orjson.dumps(d.to_dict()) + b"\n" for d in deliveries)
        with self.part.open("ab") as handle:  # one write: a crash tears at most this line
            handle.write(lines)

    def seal(self) -> None:
        """Make what this process wrote so far ready to record (the next append starts anew)."""
        if self.part.exists():
            _seal(self.part)


def read_deliveries(path: Path) -> list[LiveDelivery]:
    """A sealed file's deliveries; a line torn by a crash is left out."""
    found = []
    for line in path.read_bytes().splitlines():
        try:
            found.append(LiveDelivery.from_dict(orjson.loads(line)))
        except (orjson.JSONDecodeError, TypeError, KeyError, ValueError):
            log.warning("a torn line in %s is left out", path.name)
    return found


def seal_abandoned(directory: Path) -> None:
    """Seal the files of processes on this host that no longer run (killed, crashed)."""
    host = socket.gethostname()
    for part in directory.glob(f"{PREFIX}{host}-*.jsonl.part"):
        pid = part.name.removesuffix(".jsonl.part").rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            _seal(part)


def _seal(part: Path) -> None:
    """``<name>.jsonl.part`` → ``<name>-<uuid>.jsonl``: never the name of an earlier file."""
    name = part.name.removesuffix(".jsonl.part")
    part.rename(part.with_name(f"{name}-{uuid.uuid4().hex[:12]}.jsonl"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load_live_deliveries(workspace: Workspace) -> int:
    """Record every sealed file in the warehouse, then move it to ``loaded/``; rows added."""
    directory = deliveries_dir(workspace)
    if not directory.exists():
        return 0
    seal_abandoned(directory)
    added = 0
    for path in sorted(directory.glob(f"{PREFIX}*.jsonl")):
        deliveries = read_deliveries(path)
        with workspace.warehouse() as warehouse, warehouse.transaction() as con:
            added += record_live_deliveries(con, deliveries, workspace.clock.now())
        loaded = directory / "loaded"
        loaded.mkdir(exist_ok=True)
        if path.exists():  # another loader may have moved it meanwhile
            path.rename(loaded / path.name)
    return added


class WebhookChanges:
    """A :class:`~audience.realtime.live_segments.ChangeSink` sending changes to the webhooks.

    One :class:`~audience.activation.live_delivery.WebhookSink` serves every change, so that
    its HTTP clients are reused; the consent it checks is the one each change carries. What
    became of each send (suppressed ones included) goes to this process's
    :class:`DeliveryLog`, for the warehouse.
    """

    def __init__(self, plan: ActivationPlan, directory: Path) -> None:
        self.log = DeliveryLog(directory)
        self._consents: dict[str, Mapping[str, str]] = {}
        self.sink = WebhookSink(plan, consent=self._granted)

    def _granted(self, customer: str, purpose: str) -> bool:
        return self._consents.get(customer, {}).get(purpose) == "granted"

    async def emit(self, change: Mapping[str, Any]) -> None:
        customer = str(change.get("customer_id") or change["profile_id"])
        self._consents[customer] = change.get("consents") or {}
        try:
            deliveries = await self.sink.deliver(change)
        finally:
            self._consents.pop(customer, None)
        self.log.append(deliveries)
