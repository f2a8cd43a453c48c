"""Errors of the real-time path, as branches of the one tree of :mod:`audience.errors`.

::

    AudienceError
    ├── InputError
    │   └── RequestRejectedError         a collector request is refused        (terminal, HTTP 4xx)
    │       ├── UnauthorizedError            wrong or missing write key / signature   (401)
    │       ├── PayloadTooLargeError         over 32 KB per event or 500 KB per batch (413)
    │       └── UnknownSourceError           no inbound webhook source of that name   (404)
    │   └── PoisonEventError        a queued event no retry can process   (terminal: dead-letter)
    └── TransientError
        └── QueueUnavailableError   the broker or the embedded queue is not accepting (503)

The HTTP layer answers ``status`` with ``str(error)``; the consumer dead-letters a terminal
error with its message as the reason and retries a retryable one.
"""

from __future__ import annotations

from audience.errors import InputError, TransientError


class RequestRejectedError(InputError):
    """A collector request that cannot be accepted as it is; nothing reached the queue."""

    status: int = 400


class UnauthorizedError(RequestRejectedError):
    """The write key or the webhook signature is missing or wrong."""

    status = 401


class PayloadTooLargeError(RequestRejectedError):
    """An event or a batch is over the Segment limits."""

    status = 413


class UnknownSourceError(RequestRejectedError):
    """An inbound webhook names a source that is not configured."""

    status = 404


class PoisonEventError(InputError):
    """A queued event that no retry can process: it goes to the dead letters, with this reason."""


class QueueUnavailableError(TransientError):
    """The queue did not confirm in time: the client should retry (HTTP 503)."""
