"""Secrets never reach messages or logs: URL passwords and known secret values become ***."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from audience.config.settings import ServerSettings, Settings, WebhookSource, secret_values
from audience.masking import (
    MASK,
    SecretFilter,
    install_log_masking,
    mask,
    uninstall_log_masking,
    url_secrets,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://default:pa55w0rd@cache:6379/0", "redis://default:***@cache:6379/0"),
        ("rediss://:pa55w0rd@cache:6380", "rediss://:***@cache:6380"),
        ("amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:***@127.0.0.1:5672/"),
        ("redis://u:p@ss@word@h/0", "redis://u:***@h/0"),  # a raw '@' in the password
        ("at redis://u:x@h and amqp://v:y@k/vh.", "at redis://u:***@h and amqp://v:***@k/vh."),
        ("redis://h:6379/0?password=hunter22&db=1", "redis://h:6379/0?password=***&db=1"),
        ("https://hooks.example/x?token=abc", "https://hooks.example/x?token=***"),
        # No password: nothing to hide, nothing changed.
        ("redis://cache:6379/0", "redis://cache:6379/0"),
        ("amqp://guest@broker/", "amqp://guest@broker/"),
        ("http://host:8080/path?email=a@b.fr", "http://host:8080/path?email=a@b.fr"),
        ("no url here: a@b c:d", "no url here: a@b c:d"),
    ],
)
def test_url_passwords_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


def test_known_secrets_are_masked_wherever_they_appear() -> None:
    text = "key wk_live_0123456789abcdef refused; secret whsec_abcdef in body whsec_abcdef"
    masked = mask(text, ["wk_live_0123456789abcdef", "whsec_abcdef", "", "ab"])
    assert masked == f"key {MASK} refused; secret {MASK} in body {MASK}"
    assert mask("a b", ["a"]) == "a b"  # too short to mask without blanking words


def test_url_secrets_give_the_password_as_written_and_decoded() -> None:
    assert url_secrets("redis://u:p%40ss@h/0") == ["p%40ss", "p@ss"]
    assert url_secrets("redis://h/0") == [] and url_secrets(None) == []


def test_secret_values_of_the_settings() -> None:
    settings = Settings(
        queue={"url": "amqp://app:queue-pass-1@broker/"},
        profiles={"url": "redis://:store-pass-2@cache/0"},
        server=ServerSettings(
            write_keys=["wk_0123456789abcdef"],
            read_keys=["rk_0123456789abcdef"],
            admin_keys=["ak_0123456789abcdef"],
            webhooks={"crm": WebhookSource(secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
        ),
    )
    assert set(secret_values(settings)) == {
        "wk_0123456789abcdef",
        "rk_0123456789abcdef",
        "ak_0123456789abcdef",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "queue-pass-1",
        "store-pass-2",
    }


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ConnectionError("cannot reach redis://default:tb-pass@cache:6379")
        except ConnectionError as error:
            exc_info = (type(error), error, error.__traceback__)
    return logging.LogRecord("t", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_the_filter_masks_message_arguments_and_tracebacks() -> None:
    handler_filter = SecretFilter(["rk_0123456789abcdef"])
    record = _record("store %s down, key %s", "redis://u:arg-pass@h/0", "rk_0123456789abcdef")
    assert handler_filter.filter(record)
    assert record.getMessage() == f"store redis://u:***@h/0 down, key {MASK}"
    failed = _record("failed", exc=True)
    handler_filter.filter(failed)
    text = logging.Formatter().format(failed)
    assert "tb-pass" not in text and "redis://default:***@cache:6379" in text


@pytest.fixture
def masking() -> Iterator[None]:
    install_log_masking(["wk_0123456789abcdef"])
    yield
    uninstall_log_masking()


def test_installed_masking_covers_every_logger_and_handler(
    masking: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="audience.test"):
        logging.getLogger("audience.test").warning(
            "cannot reach %s with %s", "amqp://guest:rabbit-pass@broker/", "wk_0123456789abcdef"
        )
    assert caplog.messages == [f"cannot reach amqp://guest:***@broker/ with {MASK}"]
    assert "rabbit-pass" not in caplog.text


def test_uninstalled_masking_leaves_records_alone(caplog: pytest.LogCaptureFixture) -> None:
    install_log_masking()
    install_log_masking(["second-call-secret"])  # adds its secrets, wraps the factory once
    uninstall_log_masking()
    with caplog.at_level(logging.WARNING, logger="audience.test"):
        logging.getLogger("audience.test").warning("redis://u:visible@h")
    assert caplog.messages == ["redis://u:visible@h"]
