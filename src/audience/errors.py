"""One exception tree for the whole product.

Every error a user can cause or meet derives from :class:`AudienceError`. The CLI prints
``str(error)`` on one line and exits non-zero; the queue and webhook code read
:attr:`AudienceError.retryable` to choose between a retry and a dead-letter record.

::

    AudienceError
    ├── ConfigError                 audience.yaml or settings invalid        (terminal)
    │   └── WorkspaceNotFoundError       no audience.yaml where one was expected  (terminal)
    ├── InputError                  a user's file or argument is unusable    (terminal)
    │   ├── UnsupportedFormatError  neither CSV, Parquet nor JSONL
    │   ├── EmptyInputError         no rows to read
    │   ├── EncodingError           bytes that no supported encoding reads
    │   ├── MappingError            --map names a column the file lacks
    │   ├── QuarantineLimitError    too much of a file would be quarantined: nothing loaded
    │   ├── AmbiguousPersonError    an identifier matches several persons (forget without --all)
    │   ├── RequestRejectedError    a collector request is refused (HTTP 4xx)
    │   │   ├── UnauthorizedError       wrong or missing write key / signature (401)
    │   │   ├── PayloadTooLargeError    over 32 KB per event or 500 KB per batch (413)
    │   │   ├── UnknownSourceError      no inbound webhook source of that name (404)
    │   │   └── NotFoundError           the dashboard has no such segment or run (404)
    │   ├── PoisonEventError        a queued event no retry can process (dead-lettered)
    │   │   └── MergeRefusedError       an alias would join two known users (merge_policy)
    │   └── ExperimentError         an experiment cannot be defined, assigned or measured
    │       ├── UnknownExperimentError  no experiment of that name (HTTP 404)
    │       └── NotInExperimentError    the person is outside the experiment's segment (409)
    ├── WarehouseError              the warehouse refused an operation       (terminal)
    │   └── MigrationError          schema migration failed or is unknown
    ├── ModelError                  a model cannot be fitted on this data    (terminal)
    │   └── RegistryError               no such run to promote, no champion to roll back
    └── TransientError              worth retrying: a service is down, a lock is held
        ├── QueueUnavailableError   the broker or the embedded queue refuses (503)
        └── TrackingUnavailableError    the MLflow tracking server does not answer
"""

from __future__ import annotations


class AudienceError(Exception):
    """Root of every error raised on purpose by Audience.

    Parameters
    ----------
    message:
        One line saying what went wrong, where, and how to fix it.
    """

    retryable: bool = False
    """Whether retrying the same operation later may succeed."""

    exit_code: int = 1
    """Process exit code the CLI uses for this error."""


class ConfigError(AudienceError):
    """The workspace configuration or the settings are invalid."""

    exit_code = 2


class WorkspaceNotFoundError(ConfigError):
    """A command needs a workspace and none was found."""


class InputError(AudienceError):
    """A file or an argument given by the user cannot be used as it is."""

    exit_code = 2


class UnsupportedFormatError(InputError):
    """The file is neither CSV, Parquet nor JSONL."""


class EmptyInputError(InputError):
    """The file holds no rows."""


class EncodingError(InputError):
    """The file's bytes are not text in a supported encoding."""


class MappingError(InputError):
    """A column mapping names a column the file does not have."""


class QuarantineLimitError(InputError):
    """More of a file's rows would be quarantined than the workspace accepts: the import
    is rolled back whole, and the message shows the top reasons with an example of each."""


class WarehouseError(AudienceError):
    """The warehouse refused an operation."""


class MigrationError(WarehouseError):
    """A schema migration failed, or the warehouse is newer than this version."""


class ModelError(AudienceError, ValueError):
    """A model cannot be fitted or applied to the data given.

    Also a ``ValueError``, as scikit-learn's estimator contract expects of bad data.
    """


class TransientError(AudienceError):
    """A temporary failure (service unavailable, lock held): retrying may succeed."""

    retryable = True
    exit_code = 75  # EX_TEMPFAIL


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


class NotFoundError(RequestRejectedError):
    """A dashboard page names a segment or a run the warehouse does not hold."""

    status = 404


class PoisonEventError(InputError):
    """A queued event that no retry can process: it goes to the dead letters, with this reason."""


class QueueUnavailableError(TransientError):
    """The queue did not confirm in time: the client should retry (HTTP 503)."""


class MergeRefusedError(PoisonEventError):
    """An ``alias`` would join two profiles that each have a userId, and the merge policy is
    ``refuse``: the event is dead-lettered, no profile changes."""


class RegistryError(ModelError):
    """A registry operation names a run that does not exist or cannot be promoted, or there
    is no earlier champion to roll back to."""

    exit_code = 2


class TrackingUnavailableError(TransientError):
    """The MLflow tracking store does not answer; the run itself is kept in the warehouse."""


class ExperimentError(InputError):
    """An experiment cannot be defined, assigned or measured as asked (bad definition, empty
    segment, a metric with no data)."""


class UnknownExperimentError(ExperimentError):
    """No experiment has this name."""


class NotInExperimentError(ExperimentError):
    """The person asking for an assignment is not in the experiment's segment (or range)."""


class AmbiguousPersonError(InputError):
    """A privacy request's identifier matches several persons and ``--all`` was not given:
    nothing is erased, and the message lists them."""
