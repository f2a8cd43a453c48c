"""A server with a live page open stops when asked: the feed's stream never ends by itself,
and uvicorn waits for open responses, so the stop must end the streams first."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx

from audience.store.workspace import Workspace
from tests import procs
from tests.realtime.conftest import free_port, healthy
from tests.ui.helpers import READ_KEY, basic


def test_serve_stops_while_a_live_feed_is_open(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = procs.audience("serve", "--port", str(port), "--workspace", str(tmp_path / "ws"))
    env = {"AUDIENCE_SERVER__READ_KEYS": f'["{READ_KEY}"]'}
    log = tmp_path / "serve.log"
    with procs.running(
        command,
        log=log,
        env=env,
        ready=lambda proc: procs.wait_for(lambda: healthy(url), proc, 60, what="the server"),
    ) as proc:
        opened = threading.Event()
        ended: list[str] = []

        def listen() -> None:
            with httpx.stream(
                "GET", f"{url}/ui/live/stream", headers=basic(READ_KEY), timeout=60
            ) as answer:
                opened.set()
                try:
                    for _ in answer.iter_bytes():
                        pass
                    ended.append("closed by the server")
                except httpx.HTTPError as exc:
                    ended.append(f"broken: {exc}")

        reader = threading.Thread(target=listen, daemon=True)
        reader.start()
        assert opened.wait(30)
        proc.send_signal(signal.SIGTERM)
        # Without ending the streams first, uvicorn would wait for this reader forever.
        proc.wait(30)
        reader.join(30)
        assert ended == ["closed by the server"]
        assert "Traceback" not in log.read_text()
