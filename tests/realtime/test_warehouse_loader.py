"""Events accepted by a running ``audience serve`` reach the warehouse by themselves: the
background loader, against the real server process, with the warehouse held by another
process for a while (it waits and loads later) and ``audience sync`` alongside."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from audience.errors import TransientError
from audience.ingest import import_file
from audience.pipelines.sync import sync_events
from audience.realtime.eventlog import events_dir
from audience.store.warehouse import Warehouse
from audience.store.workspace import Workspace
from tests.realtime.conftest import READ_KEY, WRITE_KEY, audience_server, basic

LOAD_SECONDS = "1"


@pytest.fixture
def loading_server(workspace: Workspace, tmp_path: Path) -> Iterator[str]:
    """``audience serve`` alone (embedded queue and store), loading every second."""
    env = {k: "" for k in os.environ if k.startswith(("AUDIENCE_QUEUE__", "AUDIENCE_PROFILES__"))}
    env["AUDIENCE_QUEUE__WAREHOUSE_LOAD_SECONDS"] = LOAD_SECONDS
    with audience_server(workspace.root, tmp_path / "serve.log", env) as url:
        yield url


def stored(workspace: Workspace, message_id: str) -> int | None:
    """How many rows the warehouse holds for ``message_id``; None while another process
    holds it (opened read-only, closed at once, so that the loader is hardly ever kept out)."""
    try:
        warehouse = Warehouse(workspace.warehouse_path, read_only=True)
    except TransientError:
        return None
    with warehouse:
        row = warehouse.con.execute(
            "SELECT count(*) FROM events WHERE message_id = ?", [message_id]
        ).fetchone()
    return None if row is None else int(row[0])


def poll(workspace: Workspace, message_id: str, timeout: float = 30.0) -> float:
    """Seconds until ``message_id`` is in the warehouse (fails after ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if stored(workspace, message_id):
            return time.monotonic() - started
        time.sleep(0.3)
    pytest.fail(f"{message_id} not in the warehouse after {timeout:.0f}s")


def track(url: str, user: str, event: str, properties: dict[str, object]) -> str:
    message_id = f"m-{uuid.uuid4().hex}"
    answer = httpx.post(
        f"{url}/v1/track",
        json={"userId": user, "event": event, "properties": properties, "messageId": message_id},
        headers=basic(WRITE_KEY),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return message_id


def test_an_accepted_event_reaches_the_warehouse_within_seconds(
    loading_server: str, workspace: Workspace
) -> None:
    message_id = track(loading_server, "u-1", "Order Completed", {"total": 25.0, "order_id": "o1"})
    assert poll(workspace, message_id) < 30
    # `audience sync` alongside finds nothing left to load and changes nothing.
    report = sync_events(workspace)
    assert report.rows_new == 0
    assert stored(workspace, message_id) == 1
    assert list(events_dir(workspace).glob("events-*.jsonl")) == []


def test_a_warehouse_held_by_another_command_delays_the_load_and_loses_nothing(
    loading_server: str, workspace: Workspace
) -> None:
    first = track(loading_server, "u-2", "Product Viewed", {"product_id": "p1"})
    poll(workspace, first)
    with Warehouse(workspace.warehouse_path):  # a batch command writing meanwhile
        held = [track(loading_server, "u-2", "Product Added", {"n": i}) for i in range(3)]
        deadline = time.monotonic() + 20
        # The loader sealed the file (it tried) but could not load it while held.
        while not list(events_dir(workspace).glob("events-*.jsonl")):
            assert time.monotonic() < deadline, "the loader never sealed the held events"
            time.sleep(0.2)
    for message_id in held:
        poll(workspace, message_id)
    assert [stored(workspace, m) for m in (first, *held)] == [1, 1, 1, 1]


def test_a_batch_command_reaches_the_live_profiles_while_the_server_runs(
    loading_server: str, workspace: Workspace, tmp_path: Path
) -> None:
    """Issue 13: publish after clean, segment, predict, imports — here a CRM import — with no
    manual step: the loader publishes when a batch command changed the published state."""
    crm = tmp_path / "crm.csv"
    crm.write_text("customer_id,city,consent_email\nC9,Lyon,yes\n", encoding="utf-8")
    deadline = time.monotonic() + 30
    while True:  # the loader may hold the warehouse for a moment: a batch command retries
        try:
            import_file(workspace, "customers", crm)
            break
        except TransientError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    started = time.monotonic()
    while time.monotonic() - started < 30:
        answer = httpx.get(f"{loading_server}/v1/profiles/C9", headers=basic(READ_KEY), timeout=10)
        if answer.status_code == 200 and answer.json()["profile"]["traits"].get("city") == "Lyon":
            break
        time.sleep(0.3)
    else:
        pytest.fail("the CRM import never reached the live profile")
    assert answer.json()["profile"]["consents"]["email"]["status"] == "granted"
    loader = httpx.get(f"{loading_server}/health", timeout=10).json()["warehouse_loader"]
    assert loader["publishes"] >= 1 and loader["last_publish_at"] is not None
    assert loader["rounds"] >= 1 and loader["files_waiting"] == 0
