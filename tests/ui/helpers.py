"""Dashboard test helpers: keys, a workspace opened with them, and a client for the ASGI app."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from audience.config.settings import ServerSettings, Settings
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from audience.ui import create_dashboard_app

READ_KEY = "read-key-for-the-dashboard-tests"
ADMIN_KEY = "admin-key-for-the-dashboard-tests"
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def keyed(root: Path, clock: FixedClock | None = None) -> Workspace:
    """The workspace at ``root`` with a read and an admin key, on a fixed clock."""
    settings = Settings(server=ServerSettings(read_keys=[READ_KEY], admin_keys=[ADMIN_KEY]))
    return Workspace.open(root, settings, clock or FixedClock(NOW))


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


class Client:
    """A synchronous face over httpx's ASGI transport (one event loop per request)."""

    def __init__(self, workspace: Workspace) -> None:
        self.app = create_dashboard_app(workspace)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", cookies=self.cookies
            ) as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(send())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)
