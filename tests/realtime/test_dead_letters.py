"""``audience deadletters``: list, show, replay and discard, on the embedded queue and RabbitMQ."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.config.settings import QueueSettings
from audience.realtime.consumer import Consumer
from audience.realtime.queue import DeadLetter, QueueConsumer, QueueStatus
from audience.realtime.queue.embedded import EmbeddedConsumer, EmbeddedPublisher, backlog
from audience.realtime.queue.rabbitmq import RabbitConsumer, RabbitPublisher
from audience.realtime.runtime import queue_path
from audience.store.workspace import Workspace
from tests.realtime.test_rabbitmq import event, make_consumer


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str]:
    result = CliRunner().invoke(app, ["deadletters", *args], env=env)
    try:
        data = json.loads(result.stdout)
    except json.JSONDecodeError:
        data = result.stdout
    return result.exit_code, data, result.stderr


async def consume(queue: QueueConsumer, handler: Any, done: Any, status: QueueStatus) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(queue.run(handler, stop, status))
    deadline = time.monotonic() + 20
    while not done() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await task


def crashing_on(word: bytes, consumer: Consumer) -> Any:
    async def handler(bodies: Sequence[bytes]) -> list[list[DeadLetter]]:
        if any(word in body for body in bodies):
            raise RuntimeError("a bug, since fixed")
        return await consumer(bodies)

    return handler


def test_embedded_dead_letters_list_show_replay_discard(workspace: Workspace) -> None:
    path = queue_path(workspace)
    settings = QueueSettings(handler_retries=1)
    consumer = make_consumer(workspace.root)
    ws = ["-w", str(workspace.root)]

    async def fill() -> None:
        publisher = EmbeddedPublisher(path, settings)
        await publisher.start()
        await publisher.publish([orjson.dumps(event(1, event_="x", bug=True))])
        await publisher.publish([orjson.dumps({"type": "track", "messageId": "no-identity"})])
        await publisher.close()
        await consumer.start()
        await consume(
            EmbeddedConsumer(path, settings),
            crashing_on(b"bug", consumer),
            lambda: backlog(path) == 0,
            consumer.queue_status,
        )

    asyncio.run(fill())
    code, letters, _ = cli("list", "--json", *ws)
    assert code == 0 and len(letters) == 2
    by_reason = {row["reason"].split(":")[0]: row for row in letters}
    assert set(by_reason) == {"handler_error", "missing_identity"}
    crashed = by_reason["handler_error"]["id"]
    code, shown, _ = cli("show", crashed, *ws)
    assert code == 0 and '"bug"' in shown["body"] and shown["events"] == 1

    code, _, err = cli("replay", "999", *ws)
    assert code == 2 and "no dead letter with id 999" in err
    code, _, err = cli("replay", *ws)
    assert code == 2 and "--all" in err
    code, replayed, _ = cli("replay", crashed, "--json", *ws)
    assert code == 0 and replayed == {"replayed": [crashed]}
    assert backlog(path) == 1

    async def fixed() -> None:  # the bug is fixed: the replayed event is applied, once
        await consume(
            EmbeddedConsumer(path, settings),
            consumer,
            lambda: backlog(path) == 0,
            consumer.queue_status,
        )
        await consumer.store.close()

    asyncio.run(fixed())
    assert consumer.stats.applied == 1
    code, left, _ = cli("list", "--json", *ws)
    assert [row["reason"].split(":")[0] for row in left] == ["missing_identity"]
    code, discarded, _ = cli("discard", "--all", "--json", *ws)
    assert code == 0 and len(discarded["discarded"]) == 1
    assert cli("list", "--json", *ws)[1] == []


@pytest.mark.rabbitmq
def test_rabbitmq_dead_letters_replay_and_discard(
    rabbit_url: str, queue_name: str, workspace: Workspace, tmp_path: Path
) -> None:
    settings = QueueSettings(url=rabbit_url, name=queue_name, handler_retries=1)
    consumer = make_consumer(tmp_path)
    env = {"AUDIENCE_QUEUE__URL": rabbit_url, "AUDIENCE_QUEUE__NAME": queue_name}
    ws = ["-w", str(workspace.root)]

    async def fill() -> None:
        publisher = RabbitPublisher(rabbit_url, settings)
        await publisher.start()
        await publisher.publish([orjson.dumps(event(1, event_="x", bug=True))])
        await publisher.publish([orjson.dumps(event(2, event_="x", bug=True))])
        await publisher.close()
        await consumer.start()
        await consume(
            RabbitConsumer(rabbit_url, settings),
            crashing_on(b"bug", consumer),
            lambda: consumer.queue_status.dead >= 2,
            consumer.queue_status,
        )

    asyncio.run(fill())
    code, letters, _ = cli("list", "--json", *ws, env=env)
    assert code == 0 and len(letters) == 2
    assert all(row["reason"].startswith("handler_error: RuntimeError") for row in letters)
    code, again, _ = cli("list", "--json", *ws, env=env)
    assert sorted(r["id"] for r in again) == sorted(r["id"] for r in letters)  # listing keeps them
    first, second = letters[0]["id"], letters[1]["id"]
    code, replayed, _ = cli("replay", first, "--json", *ws, env=env)
    assert code == 0 and replayed == {"replayed": [first]}

    async def fixed() -> None:
        await consume(
            RabbitConsumer(rabbit_url, settings),
            consumer,
            lambda: consumer.stats.applied >= 1,
            consumer.queue_status,
        )
        await consumer.store.close()

    asyncio.run(fixed())
    assert consumer.stats.applied == 1
    code, discarded, _ = cli("discard", second, "--json", *ws, env=env)
    assert code == 0 and discarded == {"discarded": [second]}
    assert cli("list", "--json", *ws, env=env)[1] == []
