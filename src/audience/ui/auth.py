"""Who may see the dashboard: read and admin keys, and the login cookie they open.

People log in once with a key on the login page and get a cookie signed with the server's
session secret (HMAC-SHA256), valid ``server.session_hours``; scripts and tests send the key
on every request, as the HTTP Basic user name (as the collector takes write keys) or as a
Bearer token. A read key sees every page; an admin key also acts (quarantine retry, discard).
A cookie names the key it was opened with by a fingerprint only, so that removing a key from
the settings ends its sessions. Forms that act carry a token derived from the cookie, so that
another site cannot make a logged-in browser post them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from audience.config.settings import ServerSettings
from audience.errors import UnauthorizedError
from audience.realtime.auth import basic_user, is_valid_key

COOKIE = "audience_ui"
Role = Literal["read", "admin"]


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the role, and the cookie that carried it (None: a key per request)."""

    role: Role
    cookie: str | None = None

    @property
    def admin(self) -> bool:
        return self.role == "admin"


def _fingerprint(key: str) -> str:
    return hashlib.sha256(b"audience-ui-key|" + key.encode("utf-8")).hexdigest()[:16]


class Sessions:
    """Checks keys and issues and verifies the signed login cookie."""

    def __init__(self, server: ServerSettings) -> None:
        self.read_keys = list(server.read_keys)
        self.admin_keys = list(server.admin_keys)
        self.lifetime = timedelta(hours=server.session_hours)
        secret = server.session_secret
        if secret is None:  # derived: secret as long as the keys are, changes with them
            joined = "\0".join(sorted({*self.read_keys, *self.admin_keys}))
            secret = hashlib.sha256(b"audience-ui-session|" + joined.encode("utf-8")).hexdigest()
        self._secret = secret.encode("utf-8")

    def role_of(self, key: str) -> Role | None:
        """The role a key opens, or None when it is no read or admin key."""
        if is_valid_key(key, self.admin_keys):
            return "admin"
        if is_valid_key(key, self.read_keys):
            return "read"
        return None

    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self, key: str, now: datetime) -> str:
        """The cookie value for a key just checked by :meth:`role_of`."""
        role = self.role_of(key)
        if role is None:
            raise UnauthorizedError("wrong key; use a read key or an admin key of this server")
        expires = int((now + self.lifetime).timestamp())
        payload = f"{role}|{expires}|{_fingerprint(key)}"
        encoded = base64.urlsafe_b64encode(payload.encode("ascii")).decode("ascii")
        return f"{encoded}.{self._sign(payload)}"

    def verify(self, cookie: str, now: datetime) -> Viewer:
        """The viewer a cookie stands for, or UnauthorizedError (tampered, expired, key gone)."""
        encoded, _, signature = cookie.partition(".")
        try:
            payload = base64.urlsafe_b64decode(encoded.encode("ascii")).decode("ascii")
        except (ValueError, UnicodeError):
            raise UnauthorizedError("invalid session; log in again") from None
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise UnauthorizedError("invalid session; log in again")
        role, expires, fingerprint = [*payload.split("|"), "", "", ""][:3]
        if not expires.isdigit() or int(expires) <= now.timestamp():
            raise UnauthorizedError("session expired; log in again")
        keys = self.admin_keys if role == "admin" else self.read_keys
        if role not in ("read", "admin") or fingerprint not in {_fingerprint(k) for k in keys}:
            raise UnauthorizedError("the key of this session was removed; log in again")
        return Viewer("admin" if role == "admin" else "read", cookie)

    def from_header(self, authorization: str) -> Viewer:
        """The viewer of an ``Authorization: Basic`` (key as user name) or ``Bearer`` header."""
        scheme, _, token = authorization.partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else basic_user(authorization)
        role = self.role_of(key or "")
        if role is None:
            raise UnauthorizedError("wrong key; send a read or admin key (Basic or Bearer)")
        return Viewer(role)

    def form_token(self, viewer: Viewer) -> str:
        """The token an action form must carry (empty for key-per-request callers)."""
        return "" if viewer.cookie is None else self._sign("form|" + viewer.cookie)

    def check_form_token(self, viewer: Viewer, token: str) -> None:
        if viewer.cookie is not None and not hmac.compare_digest(token, self.form_token(viewer)):
            raise UnauthorizedError("this form has expired; reload the page and try again")
