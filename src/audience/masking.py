"""Secrets out of messages and logs: URL passwords and known secret values become ``***``.

One function, :func:`mask`, is applied wherever a URL or a secret may reach a message (the
Redis and RabbitMQ errors, webhook delivery errors); :class:`SecretFilter` applies it to log
records, and :func:`install_log_masking` to every record any logger makes from then on, so
that handlers configured later (uvicorn's) are covered too.

This module is the bottom of the core: it imports nothing of Audience, and every layer may
use it.

Examples
--------
>>> mask("Redis at redis://default:s3cret@cache:6379/0 does not answer")
'Redis at redis://default:***@cache:6379/0 does not answer'
>>> mask("token wk_live_0123456789 refused", ["wk_live_0123456789"])
'token *** refused'
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

MASK = "***"
MIN_SECRET_LENGTH = 4
"""Known secrets shorter than this are not masked: they would blank ordinary words, and a
key that short is refused outside a loopback dev server anyway."""

# scheme://user:password@host — the password runs to the last '@' before the host (a raw '@'
# in a password is common), never across '/', '?', '#' or white space.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)[^\s/?#]*@")
# ?password=… &token=… in a URL's query (redis-py, many drivers accept them).
_QUERY_SECRET = re.compile(
    r"([?&](?:password|passwd|pwd|secret|token|access_token|api_?key|key)=)[^&\s#]+",
    re.IGNORECASE,
)


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL passwords and the given secret values replaced by ``***``.

    Parameters
    ----------
    text:
        A message, a URL, a traceback.
    secrets:
        Values to hide wherever they appear (keys, webhook secrets, passwords); blank ones and
        those under :data:`MIN_SECRET_LENGTH` characters are ignored.
    """
    for secret in sorted(
        {s for s in secrets if len(s.strip()) >= MIN_SECRET_LENGTH}, key=len, reverse=True
    ):
        text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)
    return _QUERY_SECRET.sub(rf"\g<1>{MASK}", text)


def url_secrets(url: str | None) -> list[str]:
    """The password of a URL, as written and percent-decoded, to pass to :func:`mask`."""
    if not url:
        return []
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []


def mask_record(record: logging.LogRecord, secrets: Iterable[str] = ()) -> logging.LogRecord:
    """Mask a log record in place: its message, its formatted exception and stack."""
    known = tuple(secrets)
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: let the handler report it as logging does
        return record
    masked = mask(message, known)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask(record.exc_text, known)
    if record.stack_info:
        record.stack_info = mask(record.stack_info, known)
    return record


class SecretFilter(logging.Filter):
    """A logging filter that masks URL passwords and the given secrets in every record.

    Add it to a handler (``handler.addFilter(SecretFilter(secrets))``) or name it in a
    ``dictConfig`` (``{"()": "audience.masking.SecretFilter"}``).
    """

    def __init__(self, secrets: Iterable[str] = (), name: str = "") -> None:
        super().__init__(name)
        self.secrets = tuple(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record, self.secrets)
        return True


_lock = threading.Lock()
_installed: tuple[str, ...] = ()
_previous_factory: Callable[..., logging.LogRecord] | None = None


def install_log_masking(secrets: Iterable[str] = ()) -> None:
    """Mask every log record made from now on, by any logger, whatever its handlers.

    Wraps the log record factory once; a second call adds its secrets to those masked.
    """
    global _installed, _previous_factory
    with _lock:
        _installed = tuple(dict.fromkeys([*_installed, *secrets]))
        if _previous_factory is not None:
            return
        previous = logging.getLogRecordFactory()
        _previous_factory = previous

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return mask_record(previous(*args, **kwargs), _installed)

        logging.setLogRecordFactory(factory)


def uninstall_log_masking() -> None:
    """Undo :func:`install_log_masking` (tests)."""
    global _installed, _previous_factory
    with _lock:
        if _previous_factory is not None:
            logging.setLogRecordFactory(_previous_factory)
            _previous_factory = None
        _installed = ()
