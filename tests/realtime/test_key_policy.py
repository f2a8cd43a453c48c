"""The server's key policy: which write and read keys ``audience serve`` refuses, and where."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from audience.config.settings import (
    DEV_READ_KEY,
    DEV_WRITE_KEY,
    ServerSettings,
    WebhookSource,
    check_server_secrets,
    is_loopback,
)
from audience.errors import ConfigError
from audience.realtime.auth import is_valid_key
from audience.store.workspace import Workspace
from tests import procs
from tests.realtime.conftest import free_port

WRITE = "wk_live_4f9a1c2e7b3d5a60"
READ = "rk_live_8e2b6d0f1a9c3e57"


def server(**fields: Any) -> ServerSettings:
    return ServerSettings(**{"write_keys": [WRITE], "read_keys": [READ], **fields})


def refusal(settings: ServerSettings) -> str:
    with pytest.raises(ConfigError) as caught:
        check_server_secrets(settings)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "10.0.0.5", "192.168.1.2", "example.org"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_a_dev_server_on_loopback_keeps_the_default_and_short_keys() -> None:
    check_server_secrets(ServerSettings())
    check_server_secrets(ServerSettings(host="localhost", write_keys=["w"], read_keys=["w"]))


DEV_KEYS = {"write_keys": [DEV_WRITE_KEY], "read_keys": [DEV_READ_KEY]}


@pytest.mark.parametrize(
    ("fields", "env_var", "words"),
    [
        ({"environment": "prod", **DEV_KEYS}, "WRITE_KEYS", "key 'dev-write-key' is refused in"),
        (
            {"host": "0.0.0.0", **DEV_KEYS},
            "WRITE_KEYS",
            "key 'dev-write-key' is refused on 0.0.0.0",
        ),
        ({"host": "0.0.0.0", "read_keys": [DEV_READ_KEY]}, "READ_KEYS", "key 'dev-read-key'"),
        ({"environment": "test", "write_keys": ["w"]}, "WRITE_KEYS", "shorter than 16"),
        ({"environment": "prod", "read_keys": ["r"]}, "READ_KEYS", "shorter than 16"),
        ({"host": "10.1.2.3", "read_keys": [WRITE]}, "READ_KEYS", "both a write key and a read"),
        ({"environment": "prod", "write_keys": [" "]}, "WRITE_KEYS", "blank key"),
        ({"environment": "prod", "read_keys": [""]}, "READ_KEYS", "blank key"),
        ({"read_keys": ["  "]}, "READ_KEYS", "blank key"),  # even a dev server on loopback
        ({"environment": "prod", "write_keys": []}, "WRITE_KEYS", "empty"),
    ],
)
def test_refused_keys_name_the_variable_to_set(
    fields: dict[str, Any], env_var: str, words: str
) -> None:
    message = refusal(server(**fields))
    assert f"AUDIENCE_SERVER__{env_var}" in message and words in message
    for key in (WRITE, READ):
        assert key not in message  # a refusal never quotes a key


def test_long_distinct_keys_serve_anywhere() -> None:
    check_server_secrets(server(environment="prod", host="0.0.0.0"))
    check_server_secrets(server(environment="prod", read_keys=[]))  # nobody reads profiles


def test_webhook_secrets_stay_16_characters_or_more() -> None:
    source = WebhookSource.model_construct(secret="tiny-secret")
    message = refusal(server(webhooks={"crm": source}))
    assert "AUDIENCE_SERVER__WEBHOOKS__CRM__SECRET" in message and "tiny-secret" not in message


def test_a_blank_key_never_authenticates() -> None:
    assert not is_valid_key("", [""])
    assert not is_valid_key(" ", [" ", WRITE])
    assert not is_valid_key(None, [""])
    assert is_valid_key(WRITE, ["", WRITE])


def test_serve_on_every_address_with_the_default_keys_is_refused(
    workspace: Workspace, tmp_path: Path
) -> None:
    log = tmp_path / "refused.log"
    command = procs.audience(
        "serve", "--host", "0.0.0.0", "--port", str(free_port()), "--workspace", str(workspace.root)
    )
    with procs.running(command, log=log, env={"AUDIENCE_SERVER__ENVIRONMENT": "dev"}) as proc:
        assert proc.wait(30) == 2
    text = log.read_text()
    assert "refused on 0.0.0.0 (not loopback)" in text and "AUDIENCE_SERVER__WRITE_KEYS" in text
