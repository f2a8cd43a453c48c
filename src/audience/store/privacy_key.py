"""The privacy key: from the environment or a file outside the workspace, never stored.

Keyed hashes (suppression list, audit log, consent tombstones, pseudonyms) need a key the
warehouse never holds, so that a copy of the warehouse cannot reverse them by hashing
guessed e-mails. There is no fall-back: without a key, what needs one is refused.
"""

from __future__ import annotations

from pathlib import Path

from audience.config.settings import PrivacySettings
from audience.errors import ConfigError

MIN_KEY_LENGTH = 16


def privacy_key(settings: PrivacySettings, workspace_root: Path | None = None) -> bytes:
    """The key as bytes, or :class:`ConfigError` saying how to set one."""
    if settings.key:
        key = settings.key
    elif settings.key_file:
        path = settings.key_file.expanduser().resolve()
        if workspace_root is not None and path.is_relative_to(workspace_root.resolve()):
            raise ConfigError(
                f"the privacy key file {path} is inside the workspace; move it out (a copy of "
                "the workspace must not carry it) and point AUDIENCE_PRIVACY__KEY_FILE to it"
            )
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the privacy key file {path} ({exc.strerror}); fix "
                "AUDIENCE_PRIVACY__KEY_FILE"
            ) from exc
    else:
        raise ConfigError(
            "no privacy key: set AUDIENCE_PRIVACY__KEY to a random secret of 16+ characters, "
            "or AUDIENCE_PRIVACY__KEY_FILE to a file outside the workspace holding one"
        )
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"the privacy key is shorter than {MIN_KEY_LENGTH} characters; set a longer "
            "AUDIENCE_PRIVACY__KEY (or key file)"
        )
    return key.encode("utf-8")


def optional_privacy_key(
    settings: PrivacySettings, workspace_root: Path | None = None
) -> bytes | None:
    """The key, or None when none is configured (a misconfigured one is still an error)."""
    if not settings.key and not settings.key_file:
        return None
    return privacy_key(settings, workspace_root)
