"""Write keys: who may send events, checked as Segment clients present them.

Segment's libraries send the write key as the user name of HTTP Basic authentication with an
empty password (``analytics-python`` also repeats it in the body as ``writeKey``; the pixel,
which cannot set headers, has it only there). Keys are compared in constant time so that a
timing probe learns nothing about a valid key.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from typing import Any

import orjson

from audience.errors import UnauthorizedError


def basic_user(authorization: str | None) -> str | None:
    """The user name of an ``Authorization: Basic`` header, or None when there is none."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


def body_write_key(body: bytes) -> str | None:
    """The ``writeKey`` of a JSON body, or None when the body has none or is not JSON."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    key = data.get("writeKey") if isinstance(data, dict) else None
    return key if isinstance(key, str) and key else None


def is_valid_key(key: object, keys: Sequence[str]) -> bool:
    """Whether ``key`` is one of ``keys``, every comparison in constant time.

    Anything but a non-blank string (a number, an object from a JSON body) is no key; a blank
    key is never valid, even when ``keys`` holds one by mistake.
    """
    if not isinstance(key, str) or not key.strip():
        return False
    candidate = key.encode("utf-8")
    found = False
    for accepted in keys:
        found |= hmac.compare_digest(candidate, accepted.encode("utf-8"))
    return found


def authenticate(authorization: str | None, body: bytes, keys: Sequence[str]) -> str:
    """The caller's write key, or :class:`UnauthorizedError` (HTTP 401) naming what is wrong."""
    key = basic_user(authorization) or body_write_key(body)
    if key is None:
        raise UnauthorizedError(
            "missing write key; send it as the HTTP Basic user name (Segment clients do)"
        )
    if not is_valid_key(key, keys):
        raise UnauthorizedError("wrong write key; use a key listed in AUDIENCE_SERVER__WRITE_KEYS")
    return key
