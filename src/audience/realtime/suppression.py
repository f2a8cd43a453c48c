"""Dropping a suppressed person's new events, at the collector and in the consumer.

The suppression list is a file of keyed hashes (one a line) the privacy pipeline rewrites
after each regulation; it is read again whenever it changes. An event is suppressed when the
keyed hash of its userId, anonymousId, previousId, or an e-mail or phone in its traits or
properties is on the list. Without a privacy key the hashes cannot be computed: a non-empty
list then stops the server from starting (dropping nothing would break the promise).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from audience.errors import ConfigError
from audience.model.identifiers import canonical, keyed_hash

_ID_FIELDS = ("userId", "anonymousId", "previousId")
_PERSONAL_FIELDS = ("email", "phone")


class SuppressionFilter:
    """Whether an event belongs to a suppressed identity; reloads the list when it changes."""

    def __init__(self, path: Path, key: bytes | None) -> None:
        self.path = path
        self.key = key
        self._hashes: frozenset[str] = frozenset()
        self._stamp: tuple[int, int] | None = None
        self.dropped = 0
        """Events dropped since start (shown in /health)."""
        self._reload()

    def _reload(self) -> None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            self._hashes, self._stamp = frozenset(), None
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        lines = self.path.read_text(encoding="ascii").split()
        if lines and self.key is None:
            raise ConfigError(
                f"{self.path} lists suppressed persons but no privacy key is set; set "
                "AUDIENCE_PRIVACY__KEY (or AUDIENCE_PRIVACY__KEY_FILE) to the key they were "
                "hashed with"
            )
        self._hashes, self._stamp = frozenset(lines), stamp

    def suppressed(self, event: Mapping[str, Any]) -> bool:
        self._reload()
        return self._listed(event)

    def _listed(self, event: Mapping[str, Any]) -> bool:
        if not self._hashes or self.key is None:
            return False
        key = self.key
        return any(
            keyed_hash(key, canonical(kind, value)) in self._hashes
            for kind, value in _identifiers(event)
        )

    def keep(self, events: list[Any]) -> list[Any]:
        """``events`` without the suppressed ones, counted in :attr:`dropped`."""
        self._reload()  # once per call, not per event: a stat costs more than the check
        if not self._hashes:
            return events
        kept = [e for e in events if not (isinstance(e, Mapping) and self._listed(e))]
        self.dropped += len(events) - len(kept)
        return kept


def _identifiers(event: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for field in _ID_FIELDS:
        value = event.get(field)
        if isinstance(value, str) and value.strip():
            yield "user_id", value
            if "@" in value:
                yield "email", value
    for section in ("traits", "properties"):
        block = event.get(section)
        if isinstance(block, Mapping):
            yield from _personal(block)
    context = event.get("context")
    if isinstance(context, Mapping) and isinstance(context.get("traits"), Mapping):
        yield from _personal(context["traits"])


def _personal(block: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for field in _PERSONAL_FIELDS:
        value = block.get(field)
        if isinstance(value, str) and value.strip():
            yield field, value
