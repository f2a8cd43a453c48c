"""The collector as clients meet it: the official Segment Python library, schemathesis
fuzzing the published OpenAPI, and the refusal to serve with default keys outside dev."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from audience.config.settings import (
    DEV_WRITE_KEY,
    ServerSettings,
    Settings,
    check_server_secrets,
)
from audience.errors import ConfigError
from audience.store.workspace import Workspace
from tests import procs
from tests.realtime.conftest import (
    READ_KEY,
    WRITE_KEY,
    audience_server,
    basic,
    free_port,
    wait_until,
)


@pytest.fixture
def embedded_server(workspace: Workspace, tmp_path: Path) -> Iterator[str]:
    """``audience serve`` alone (embedded queue and store), as a process."""
    env = {k: "" for k in os.environ if k.startswith(("AUDIENCE_QUEUE__", "AUDIENCE_PROFILES__"))}
    with audience_server(workspace.root, tmp_path / "serve.log", env) as url:
        yield url


def test_the_official_segment_client_delivers_to_the_profile(embedded_server: str) -> None:
    from segment.analytics import Client  # type: ignore[import-untyped]

    errors: list[Any] = []
    client = Client(
        WRITE_KEY,
        host=embedded_server,
        sync_mode=True,
        max_retries=1,
        on_error=lambda error, items: errors.append(error),
    )
    client.identify("seg-1", {"email": "seg@example.com", "plan": "pro"}, anonymous_id="anon-9")
    client.track("seg-1", "Order Completed", {"total": 42.5, "order_id": "o-1"})
    client.page("seg-1", "Docs", "Install", {"url": "https://example.com/docs"})
    client.flush()
    assert errors == []

    def profile() -> Any:
        reply = httpx.get(f"{embedded_server}/v1/profiles/anon-9", headers=basic(READ_KEY))
        return reply.json()["profile"] if reply.status_code == 200 else None

    assert wait_until(lambda: (p := profile()) is not None and p["events_total"] == 3)
    found = profile()
    assert found["traits"]["email"] == "seg@example.com"
    assert found["counters"] == {"Order Completed": 1}
    assert found["event_types"] == {"identify": 1, "track": 1, "page": 1}
    assert found["rfm"]["monetary"] == 42.5
    assert found["identities"] == {"user_id": ["seg-1"], "anonymous_id": ["anon-9"]}
    assert found["first_seen"] <= found["last_seen"]


SCHEMATHESIS_CONFIG = f"""
# Each security scheme its key: the write key for tracking, the read key for profiles.
[auth.openapi.writeKey]
username = "{WRITE_KEY}"
password = ""

[auth.openapi.readKey]
username = "{READ_KEY}"
password = ""
"""


def test_schemathesis_every_check_and_phase_passes(embedded_server: str, tmp_path: Path) -> None:
    """Every default check (no 5xx, answers as the OpenAPI document says, schema-valid data
    accepted and invalid data refused, auth enforced...) over every phase: the documented
    examples, coverage, fuzzing, and stateful runs that follow the document's links from an
    event to its profile. A fixed budget of examples, generated deterministically."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{embedded_server}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        "40",
        "--generation-deterministic",
        "--seed",
        "7",
        "--workers",
        "1",
        "--report",
        "json",
        "--report-json-path",
        str(tmp_path / "report.json"),
        "--no-color",
    ]
    result = procs.run(command, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["complete"] and report["exit_code"] == 0
    assert {name: phase["status"] for name, phase in report["phases"].items()} == {
        "examples": "success",
        "coverage": "success",
        "fuzzing": "success",
        "stateful": "success",
    }
    # 12 collector operations and the 2 privacy regulations (admin key: refused with 401 here)
    assert report["operations"]["tested"] == report["operations"]["total"] == 14
    assert report["failures"] == [] and report["errors"] == []
    assert report["test_cases"]["generated"] > 1000


def test_default_keys_are_refused_outside_dev() -> None:
    check_server_secrets(ServerSettings())  # dev: accepted
    with pytest.raises(ConfigError, match="default key 'dev-write-key'"):
        check_server_secrets(ServerSettings(environment="prod"))
    with pytest.raises(ConfigError, match="READ_KEYS"):
        check_server_secrets(
            ServerSettings(environment="prod", write_keys=["wk_secret_0123456789"])
        )
    check_server_secrets(
        ServerSettings(
            environment="prod",
            write_keys=["wk_secret_0123456789"],
            read_keys=["rk_secret_0123456789"],
        )
    )


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIENCE_QUEUE__URL", "amqp://u:p@broker:5672/")
    monkeypatch.setenv("AUDIENCE_SERVER__WRITE_KEYS", '["a", "b"]')
    monkeypatch.setenv("AUDIENCE_SERVER__WEBHOOKS__CRM__SECRET", "s" * 20)
    settings = Settings()
    assert settings.queue.url == "amqp://u:p@broker:5672/"
    assert settings.server.write_keys == ["a", "b"]
    assert settings.server.webhooks["crm"].secret == "s" * 20
    assert DEV_WRITE_KEY not in settings.server.write_keys


def test_serve_refuses_to_start_in_prod_with_the_default_key(
    workspace: Workspace, tmp_path: Path
) -> None:
    env = {"AUDIENCE_SERVER__ENVIRONMENT": "prod"}
    command = procs.audience(
        "serve", "--port", str(free_port()), "--workspace", str(workspace.root)
    )
    with procs.running(command, log=tmp_path / "refused.log", env=env) as proc:
        assert proc.wait(30) == 2
    assert "refused in environment 'prod'" in (tmp_path / "refused.log").read_text()
