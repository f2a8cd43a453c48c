"""How a long step reports how far it got, to whoever runs it (the command line draws a bar).

A stage or pipeline that knows how much work it has takes a ``progress`` callback and calls it
with ``(done, total)`` as it goes; ``total`` may grow once the work is planned. The default
does nothing, so that callers who do not care pass nothing.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]
"""``progress(done, total)``: ``done`` units of work out of ``total`` are finished."""


def no_progress(done: int, total: int) -> None:
    """The default callback: reports nowhere."""
