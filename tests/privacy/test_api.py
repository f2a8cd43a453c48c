"""The regulations API: admin key only, a receipt per store, 409 for an ambiguous identifier."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from audience.api.app import create_app
from audience.config.settings import (
    DEV_ADMIN_KEY,
    PrivacySettings,
    ServerSettings,
    Settings,
    check_server_secrets,
)
from audience.errors import ConfigError
from audience.realtime.runtime import Collector, build_consumer
from audience.store.workspace import Workspace
from tests.privacy.conftest import KEY
from tests.realtime.conftest import READ_KEY, WRITE_KEY, basic

Body = Callable[[httpx.AsyncClient], Coroutine[Any, Any, Any]]
ADMIN = basic(DEV_ADMIN_KEY)


def serve(workspace: Workspace, body: Body) -> Any:
    settings = Settings(privacy=PrivacySettings(key=KEY))
    ws = Workspace(workspace.root, workspace.config, settings, workspace.clock)
    app = create_app(Collector(ws, settings, build_consumer(ws, settings)))

    async def main() -> Any:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await body(client)

    return asyncio.run(main())


def test_only_an_admin_key_files_a_regulation(cleaned: Workspace) -> None:
    person = "C0000001"
    body = {"type": "delete", "subjects": [{"kind": "customer", "value": person}]}

    async def calls(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await client.post("/v1/privacy/regulations", json=body),
            await client.post("/v1/privacy/regulations", json=body, headers=basic(WRITE_KEY)),
            await client.post("/v1/privacy/regulations", json=body, headers=basic(READ_KEY)),
            await client.get("/v1/privacy/regulations/reg_x", headers=basic(WRITE_KEY)),
        ]

    for reply in serve(cleaned, calls):
        assert reply.status_code == 401, reply.text
        assert "admin key" in reply.json()["message"]
    with cleaned.warehouse(read_only=True) as warehouse:
        held = warehouse.con.execute(
            "SELECT count(*) FROM customers WHERE customer_id = ?", [person]
        ).fetchall()
    assert held == [(1,)]


def test_a_regulation_and_its_receipt(cleaned: Workspace) -> None:
    body = {"subjects": [{"kind": "customer", "value": "C0000001"}]}

    async def calls(client: httpx.AsyncClient) -> tuple[Any, ...]:
        made = await client.post("/v1/privacy/regulations", json=body, headers=ADMIN)
        rid = made.json()["regulation_id"]
        bearer = {"Authorization": f"Bearer {DEV_ADMIN_KEY}"}
        got = await client.get(f"/v1/privacy/regulations/{rid}", headers=bearer)
        missing = await client.get("/v1/privacy/regulations/reg_nope", headers=ADMIN)
        bad = await client.post(
            "/v1/privacy/regulations",
            json={"subjects": [{"kind": "ssn", "value": "1"}]},
            headers=ADMIN,
        )
        spec = await client.get("/openapi.json")
        return made, got, missing, bad, spec

    made, got, missing, bad, spec = serve(cleaned, calls)
    assert made.status_code == 201, made.text
    receipt = made.json()
    assert receipt["status"] == "finished" and receipt["type"] == "suppress-and-delete"
    assert receipt["requested_by"].startswith("api:key-")
    stores = {s["store"]: s for s in receipt["stores"]}
    assert stores["warehouse:customers"]["deleted"] >= 1 and "live:embedded" in stores
    assert got.status_code == 200
    assert {s["store"] for s in got.json()["stores"]} == set(stores)
    assert missing.status_code == 404
    assert bad.status_code == 400 and "subjects.0.kind" in bad.json()["message"]
    operations = {
        op["operationId"] for path in spec.json()["paths"].values() for op in path.values()
    }
    assert {"regulation_create", "regulation_get"} <= operations


def test_an_ambiguous_identifier_is_a_conflict(raw: Workspace) -> None:
    with raw.warehouse() as warehouse:
        warehouse.con.execute(
            """INSERT INTO customers SELECT * REPLACE ('TWIN-1' AS customer_id)
               FROM customers WHERE customer_id = 'C0000001'"""
        )
        email = warehouse.con.execute(
            "SELECT email FROM customers WHERE customer_id = 'C0000001'"
        ).fetchall()[0][0]
    body = {"subjects": [{"kind": "email", "value": email}]}

    async def call(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/v1/privacy/regulations", json=body, headers=ADMIN)

    reply = serve(raw, call)
    assert reply.status_code == 409 and "TWIN-1" in reply.json()["message"]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"environment": "prod", "admin_keys": [DEV_ADMIN_KEY]}, "default key 'dev-admin-key'"),
        ({"environment": "prod", "admin_keys": ["short"]}, "shorter than 16"),
        (
            {"environment": "prod", "admin_keys": ["wk_live_4f9a1c2e7b3d5a60"]},
            "both a write key and an admin key",
        ),
        ({"admin_keys": [" "]}, "blank key"),
    ],
)
def test_admin_key_policy(fields: dict[str, Any], words: str) -> None:
    server = ServerSettings(
        write_keys=["wk_live_4f9a1c2e7b3d5a60"], read_keys=["rk_live_8e2b6d0f1a9c3e57"], **fields
    )
    with pytest.raises(ConfigError, match=words) as caught:
        check_server_secrets(server)
    assert "AUDIENCE_SERVER__ADMIN_KEYS" in str(caught.value)


def test_outside_dev_nobody_is_admin_unless_keys_are_set() -> None:
    assert ServerSettings(environment="prod").admin_keys == []
    assert ServerSettings().admin_keys == [DEV_ADMIN_KEY]  # a dev server on loopback
